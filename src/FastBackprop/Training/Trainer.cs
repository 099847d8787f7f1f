using System.Runtime.CompilerServices;
using System.Diagnostics;
using System.Numerics;
using FastBackprop.Primitives;

namespace FastBackprop;

/// <summary>
/// Mini-batch training of a <see cref="Network{T}"/> on a <see cref="Dataset{T}"/> with an <see cref="Optimizer"/> and a
/// <see cref="LearningRateSchedule"/>, with per-epoch metrics, early stopping, progress reports and cancellation.
/// </summary>
/// <remarks>
/// <para>Each epoch visits every training sample once, in an order shuffled from <see cref="TrainerOptions.Seed"/>
/// (so the same seed, initial network and data give bit-identical weights), in mini-batches of
/// <see cref="TrainerOptions.BatchSize"/>; the last batch holds the remainder and is trained like the others. Rows are
/// gathered into buffers allocated once per <see cref="Fit"/>, and a training step allocates nothing.</para>
/// <para>Classification sets train with softmax cross-entropy on class indices (a softmax output with one unit per class)
/// or with binary cross-entropy on a two-class set (one sigmoid output, target = the class index, 0 or 1). Accuracy is
/// the argmax of the outputs against the class (or against the argmax of one-hot target rows), or for a single sigmoid
/// output, output &gt; 0.5 against target &gt; 0.5. Losses are reported as means per sample whatever the
/// <see cref="Reduction"/>.</para>
/// </remarks>
public sealed class Trainer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>A trainer with <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">The schedule gives a learning rate that is not positive and finite for one
    /// of the <see cref="TrainerOptions.Epochs"/> epochs.</exception>
    public Trainer(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            double rate = options.Schedule.RateAt(epoch);
            if (!(rate > 0) || !double.IsFinite(rate))
                throw new ArgumentException(
                    $"options.Schedule ({options.Schedule}) gives learning rate {rate} at epoch {epoch} of {options.Epochs}; every epoch needs a positive, finite rate.",
                    nameof(options));
        }
        Options = options;
    }

    /// <summary>The settings of this trainer.</summary>
    public TrainerOptions Options { get; }

    /// <summary>
    /// Trains <paramref name="network"/> on <paramref name="training"/> for <see cref="TrainerOptions.Epochs"/> epochs (fewer
    /// with early stopping), measuring <paramref name="validation"/> after each epoch when given. The optimizer is reset first.
    /// </summary>
    /// <param name="network">The network to train, in place.</param>
    /// <param name="training">The training samples; features must match <see cref="Network{T}.InputSize"/> and classes or
    /// targets <see cref="Network{T}.OutputSize"/>.</param>
    /// <param name="validation">Samples to evaluate after every epoch (needed for early stopping), or null.</param>
    /// <param name="progress">Receives reports after mini-batches (at most one per <see cref="TrainerOptions.ProgressInterval"/>)
    /// and at the end of every epoch, synchronously on the training thread.</param>
    /// <param name="cancellationToken">Checked before every mini-batch, training and validation.</param>
    /// <returns>The metrics of every epoch, the best epoch and how the run ended.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="network"/> or <paramref name="training"/> is null.</exception>
    /// <exception cref="ArgumentException">The data do not fit the network or the loss, the loss does not fit the output
    /// layer, a layer cannot be trained (step), or early stopping is on without a validation set. Nothing has changed then.</exception>
    /// <exception cref="TrainingCanceledException">The token was cancelled (an <see cref="OperationCanceledException"/>
    /// carrying the history so far).</exception>
    public TrainingHistory Fit(Network<T> network, Dataset<T> training, Dataset<T>? validation,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(training);
        Loss loss = Options.Loss ?? DefaultLoss(network, training);
        ValidateNetwork(network, loss);
        ValidateData(network, training, loss, nameof(training));
        if (validation is not null)
            ValidateData(network, validation, loss, nameof(validation));
        else if (Options.EarlyStoppingPatience is int patience)
            throw new ArgumentException(
                $"Early stopping (EarlyStoppingPatience = {patience}) needs a validation set, but validation is null.", nameof(validation));

        return new Session(Options, network, training, validation, loss, progress, cancellationToken).Run();
    }

    private static Loss DefaultLoss(Network<T> network, Dataset<T> training) => network.Layer(network.LayerCount - 1).Activation.Kind switch
    {
        ActivationKind.Softmax => Loss.SoftmaxCrossEntropy,
        ActivationKind.Sigmoid when training.IsClassification => Loss.BinaryCrossEntropy,
        _ => Loss.MeanSquaredError,
    };

    private static void ValidateNetwork(Network<T> network, Loss loss)
    {
        if (!Enum.IsDefined(loss.Kind) || !Enum.IsDefined(loss.Reduction))
            throw new ArgumentException($"options.Loss ({loss}) has an undefined kind or reduction.", nameof(network));
        if (DenseLayerKernels.UntrainableLayer(network) is string untrainable)
            throw new ArgumentException(untrainable, nameof(network));
        Activation output = network.Layer(network.LayerCount - 1).Activation;
        try
        {
            // The same pairing rules as Network and the kernels, reported against the network argument.
            DenseLayerKernels.ValidatePairing(output, loss);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"The loss {loss.Kind} does not fit the network's {output} output layer: {e.Message}", nameof(network), e);
        }
    }

    private static void ValidateData(Network<T> network, Dataset<T> data, Loss loss, string name)
    {
        if (data.FeatureCount != network.InputSize)
            throw new ArgumentException(
                $"{name} has {data.FeatureCount} features per sample but the network takes {network.InputSize} inputs (InputSize).", name);
        if (data.IsClassification)
        {
            switch (loss.Kind)
            {
                case LossKind.SoftmaxCrossEntropy when data.OutputCount != network.OutputSize:
                    throw new ArgumentException(
                        $"{name} has {data.OutputCount} classes but the network has {network.OutputSize} outputs (OutputSize); softmax cross-entropy needs one output per class.", name);
                case LossKind.BinaryCrossEntropy when data.OutputCount != 2 || network.OutputSize != 1:
                    throw new ArgumentException(
                        $"Binary cross-entropy on class indices needs a 2-class set and one sigmoid output; {name} has {data.OutputCount} classes and the network {network.OutputSize} outputs (OutputSize).", name);
                case LossKind.SquaredError:
                    throw new ArgumentException(
                        $"{name} is a classification set ({data.OutputCount} classes): train it with softmax cross-entropy (a softmax output) or binary cross-entropy (one sigmoid output, 2 classes), not squared error.", name);
            }
            return;
        }
        if (data.OutputCount != network.OutputSize)
            throw new ArgumentException(
                $"{name} has {data.OutputCount} target values per sample but the network has {network.OutputSize} outputs (OutputSize).", name);
        if (loss.Kind == LossKind.SquaredError)
            return;
        // Check the whole set now, so a bad row deep inside cannot stop a run half-way.
        T[] targets = data.Targets!;
        int width = data.OutputCount;
        for (int i = 0; i < targets.Length; i++)
        {
            if (!TargetRules.InUnitInterval(targets[i]))
                throw new ArgumentException(
                    $"{loss.Kind} targets must lie in [0, 1]; {name}'s target {i % width} of sample {i / width} is {targets[i]}.", name);
        }
        if (loss.Kind == LossKind.SoftmaxCrossEntropy)
        {
            for (int s = 0; s < data.Count; s++)
            {
                if (!TargetRules.IsDistribution(targets.AsSpan(s * width, width), out double sum, out double tolerance))
                    throw new ArgumentException(
                        $"Softmax cross-entropy targets must be one-hot rows (distributions); {name}'s sample {s} sums to {sum:R}, not 1 (within rounding, |sum − 1| ≤ {tolerance:G3}).", name);
            }
        }
    }

    private enum TargetMode
    {
        ClassIndices,
        BinaryFromClass,
        Targets,
    }

    private enum AccuracyMode
    {
        None,
        ArgMax,
        Threshold,
    }

    /// <summary>The buffers and running state of one <see cref="Fit"/> call.</summary>
    private sealed class Session
    {
        private static readonly T Half = T.CreateChecked(0.5);

        private readonly TrainerOptions options;
        private readonly Network<T> network;
        private readonly Dataset<T> training;
        private readonly Dataset<T>? validation;
        private readonly Loss loss;
        private readonly IProgress<TrainingProgress>? progress;
        private readonly CancellationToken token;
        private readonly int inputs, outputs, layers, batch, batches;
        private readonly T[] batchInputs, batchTargets, batchOutputs;
        private readonly int[] batchClasses, order;
        private readonly Gradients<T> gradients;
        private readonly double[] weightNorms, biasNorms;
        private readonly T[]? best;
        private readonly List<EpochMetrics> history;
        private readonly long started;
        private int? bestEpoch;
        private bool changedSinceBest;

        public Session(TrainerOptions options, Network<T> network, Dataset<T> training, Dataset<T>? validation, Loss loss,
            IProgress<TrainingProgress>? progress, CancellationToken token)
        {
            started = Stopwatch.GetTimestamp();
            this.options = options;
            this.network = network;
            this.training = training;
            this.validation = validation;
            this.loss = loss;
            this.progress = progress;
            this.token = token;
            inputs = network.InputSize;
            outputs = network.OutputSize;
            layers = network.LayerCount;
            batch = Math.Min(options.BatchSize, training.Count);
            batches = (training.Count + batch - 1) / batch;
            int capacity = Math.Max(batch, validation is null ? 0 : Math.Min(options.BatchSize, validation.Count));
            batchInputs = new T[batch * inputs];
            batchTargets = new T[capacity * outputs];
            batchOutputs = new T[capacity * outputs];
            batchClasses = new int[training.IsClassification ? batch : 0];
            order = new int[training.Count];
            for (int i = 0; i < order.Length; i++)
                order[i] = i;
            gradients = network.CreateGradients();
            weightNorms = new double[layers];
            biasNorms = new double[layers];
            best = options.EarlyStoppingPatience is not null && options.RestoreBestWeights ? new T[network.Parameters.Length] : null;
            history = new List<EpochMetrics>(options.Epochs);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public TrainingHistory Run()
        {
            Optimizer optimizer = options.Optimizer;
            optimizer.Reset();
            var random = new Random(options.Seed);
            double bestLoss = double.PositiveInfinity;
            int sinceBest = 0;
            bool stoppedEarly = false;
            TimeProvider clock = options.ProgressClock;
            long lastReport = 0;
            bool reported = false;
            TargetMode mode = ModeOf(training);
            AccuracyMode accuracy = AccuracyOf(training);
            bool trackAccuracy = accuracy != AccuracyMode.None && options.TrackTrainingAccuracy;
            bool meanLoss = loss.Reduction == Reduction.Mean;
            int n = training.Count;

            for (int epoch = 0; epoch < options.Epochs; epoch++)
            {
                double rate = options.Schedule.RateAt(epoch);
                if (options.Shuffle)
                    Shuffle(order, random);
                long epochStart = Stopwatch.GetTimestamp();
                Array.Clear(weightNorms);
                Array.Clear(biasNorms);
                double lossSum = 0;
                int correct = 0;

                for (int b = 0; b < batches; b++)
                {
                    if (token.IsCancellationRequested)
                        throw Cancelled();
                    int first = b * batch, size = Math.Min(batch, n - first);
                    Gather(mode, first, size);
                    Span<T> x = batchInputs.AsSpan(0, size * inputs);
                    // The outputs (for training accuracy) come out of the same forward pass as the gradients.
                    Span<T> y = trackAccuracy ? batchOutputs.AsSpan(0, size * outputs) : default;
                    T batchLoss = mode == TargetMode.ClassIndices
                        ? network.ComputeGradients(x, batchClasses.AsSpan(0, size), size, loss, gradients, y)
                        : network.ComputeGradients(x, batchTargets.AsSpan(0, size * outputs), size, loss, gradients, y);
                    if (trackAccuracy)
                    {
                        correct += CountCorrect(accuracy, y, size, batchClasses.AsSpan(0, mode == TargetMode.ClassIndices ? size : 0),
                            batchTargets.AsSpan(0, mode == TargetMode.ClassIndices ? 0 : size * outputs));
                    }
                    lossSum += double.CreateChecked(batchLoss) * (meanLoss ? size : 1);
                    for (int l = 0; l < layers; l++)
                    {
                        weightNorms[l] += Math.Sqrt(TrainingMath.SumOfSquares<T>(gradients.Weights(l)));
                        biasNorms[l] += Math.Sqrt(TrainingMath.SumOfSquares<T>(gradients.Biases(l)));
                    }
                    optimizer.Step(network.Parameters, gradients.Values, rate);
                    changedSinceBest = true;

                    if (progress is not null)
                    {
                        // One clock for the whole run, not restarted per epoch: epochs shorter than the interval would
                        // otherwise never get a per-batch report after the first.
                        long now = clock.GetTimestamp();
                        if (!reported || clock.GetElapsedTime(lastReport, now) >= options.ProgressInterval)
                        {
                            int seen = first + size;
                            progress.Report(new TrainingProgress(epoch, options.Epochs, b, batches, lossSum / seen,
                                seen / Math.Max(Stopwatch.GetElapsedTime(epochStart).TotalSeconds, 1e-9), null));
                            lastReport = now;
                            reported = true;
                        }
                    }
                }

                double trainSeconds = Math.Max(Stopwatch.GetElapsedTime(epochStart).TotalSeconds, 1e-9);
                double? validationLoss = null, validationAccuracy = null;
                if (validation is not null)
                {
                    (double vl, double? va) = Evaluate(validation);
                    validationLoss = vl;
                    validationAccuracy = va;
                    if (vl < bestLoss - options.MinDelta)
                    {
                        bestLoss = vl;
                        bestEpoch = epoch;
                        sinceBest = 0;
                        if (best is not null)
                        {
                            network.Parameters.CopyTo(best);
                            changedSinceBest = false;
                        }
                    }
                    else
                    {
                        sinceBest++;
                    }
                }

                var weightAverages = new double[layers];
                var biasAverages = new double[layers];
                for (int l = 0; l < layers; l++)
                {
                    weightAverages[l] = weightNorms[l] / batches;
                    biasAverages[l] = biasNorms[l] / batches;
                }
                var metrics = new EpochMetrics
                {
                    Epoch = epoch,
                    LearningRate = rate,
                    TrainingLoss = lossSum / n,
                    TrainingAccuracy = trackAccuracy ? (double)correct / n : null,
                    ValidationLoss = validationLoss,
                    ValidationAccuracy = validationAccuracy,
                    Duration = Stopwatch.GetElapsedTime(epochStart),
                    SamplesPerSecond = n / trainSeconds,
                    Batches = batches,
                    WeightGradientNorms = weightAverages,
                    BiasGradientNorms = biasAverages,
                };
                history.Add(metrics);
                progress?.Report(new TrainingProgress(epoch, options.Epochs, batches - 1, batches, metrics.TrainingLoss, metrics.SamplesPerSecond, metrics));

                if (options.EarlyStoppingPatience is int patience && sinceBest >= patience)
                {
                    stoppedEarly = epoch < options.Epochs - 1;
                    break;
                }
            }

            bool restored = RestoreBest();
            return new TrainingHistory(history, bestEpoch, stoppedEarly, cancelled: false, restored, Stopwatch.GetElapsedTime(started));
        }

        private TrainingCanceledException Cancelled()
        {
            bool restored = RestoreBest();
            var partial = new TrainingHistory(history, bestEpoch, stoppedEarly: false, cancelled: true, restored, Stopwatch.GetElapsedTime(started));
            return new TrainingCanceledException(partial, token);
        }

        private bool RestoreBest()
        {
            if (best is null || bestEpoch is null || !changedSinceBest)
                return false;
            best.CopyTo(network.Parameters);
            changedSinceBest = false;
            return true;
        }

        /// <summary>Fisher–Yates, from the last position down.</summary>
        private static void Shuffle(int[] order, Random random)
        {
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Gather(TargetMode mode, int first, int size)
        {
            T[] features = training.Features;
            for (int j = 0; j < size; j++)
            {
                int row = order[first + j];
                features.AsSpan(row * inputs, inputs).CopyTo(batchInputs.AsSpan(j * inputs, inputs));
                switch (mode)
                {
                    case TargetMode.ClassIndices:
                        batchClasses[j] = training.ClassIndices![row];
                        break;
                    case TargetMode.BinaryFromClass:
                        batchTargets[j] = training.ClassIndices![row] == 1 ? T.One : T.Zero;
                        break;
                    default:
                        training.Targets.AsSpan(row * outputs, outputs).CopyTo(batchTargets.AsSpan(j * outputs, outputs));
                        break;
                }
            }
        }

        /// <summary>Mean loss per sample and accuracy of the network on <paramref name="data"/>, in batches of up to BatchSize.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private (double Loss, double? Accuracy) Evaluate(Dataset<T> data)
        {
            TargetMode mode = ModeOf(data);
            AccuracyMode accuracy = AccuracyOf(data);
            int size = Math.Min(options.BatchSize, data.Count);
            double sum = 0;
            int correct = 0;
            for (int first = 0; first < data.Count; first += size)
            {
                if (token.IsCancellationRequested)
                    throw Cancelled();
                int count = Math.Min(size, data.Count - first);
                ReadOnlySpan<T> x = data.Features.AsSpan(first * inputs, count * inputs);
                Span<T> y = accuracy == AccuracyMode.None ? default : batchOutputs.AsSpan(0, count * outputs);
                ReadOnlySpan<int> classes = default;
                ReadOnlySpan<T> targets = default;
                T value;
                switch (mode)
                {
                    case TargetMode.ClassIndices:
                        classes = data.ClassIndices.AsSpan(first, count);
                        value = network.ComputeLoss(x, classes, count, loss, y);
                        break;
                    case TargetMode.BinaryFromClass:
                        for (int j = 0; j < count; j++)
                            batchTargets[j] = data.ClassIndices![first + j] == 1 ? T.One : T.Zero;
                        targets = batchTargets.AsSpan(0, count);
                        value = network.ComputeLoss(x, targets, count, loss, y);
                        break;
                    default:
                        targets = data.Targets.AsSpan(first * outputs, count * outputs);
                        value = network.ComputeLoss(x, targets, count, loss, y);
                        break;
                }
                sum += double.CreateChecked(value) * (loss.Reduction == Reduction.Mean ? count : 1);
                if (accuracy != AccuracyMode.None)
                    correct += CountCorrect(accuracy, y, count, classes, targets);
            }
            return (sum / data.Count, accuracy == AccuracyMode.None ? null : (double)correct / data.Count);
        }

        private TargetMode ModeOf(Dataset<T> data)
            => !data.IsClassification ? TargetMode.Targets
                : loss.Kind == LossKind.BinaryCrossEntropy ? TargetMode.BinaryFromClass
                : TargetMode.ClassIndices;

        private AccuracyMode AccuracyOf(Dataset<T> data) => loss.Kind switch
        {
            LossKind.SoftmaxCrossEntropy => AccuracyMode.ArgMax,
            LossKind.BinaryCrossEntropy when data.IsClassification || outputs == 1 => AccuracyMode.Threshold,
            _ => AccuracyMode.None,
        };

        /// <summary>Correct predictions among <paramref name="count"/> output rows: argmax against the class (or the argmax of
        /// the target row), or for one output, output &gt; 0.5 against target &gt; 0.5.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private int CountCorrect(AccuracyMode mode, ReadOnlySpan<T> y, int count, ReadOnlySpan<int> classes, ReadOnlySpan<T> targets)
        {
            int correct = 0;
            for (int i = 0; i < count; i++)
            {
                bool right = mode == AccuracyMode.ArgMax
                    ? TrainingMath.ArgMax(y.Slice(i * outputs, outputs)) == (classes.IsEmpty ? TrainingMath.ArgMax(targets.Slice(i * outputs, outputs)) : classes[i])
                    : (y[i] > Half) == (targets[i] > Half);
                if (right)
                    correct++;
            }
            return correct;
        }
    }
}
