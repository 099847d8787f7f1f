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
        if (network.UntrainableLayer() is string untrainable)
            throw new ArgumentException(untrainable, nameof(network));
        Activation output = network.Layer(network.LayerCount - 1).Activation;
        try
        {
            // The same pairing rules as Network and the kernels, reported against the network argument.
            LossRules.ValidatePairing(output, loss);
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
            if (!LossRules.InUnitInterval(targets[i]))
                throw new ArgumentException(
                    $"{loss.Kind} targets must lie in [0, 1]; {name}'s target {i % width} of sample {i / width} is {targets[i]}.", name);
        }
        if (loss.Kind == LossKind.SoftmaxCrossEntropy)
        {
            for (int s = 0; s < data.Count; s++)
            {
                if (!LossRules.IsDistribution(targets.AsSpan(s * width, width), out double sum, out double tolerance))
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
        private readonly TargetMode mode;
        private readonly AccuracyMode accuracy;
        private readonly bool trackAccuracy;
        private int? bestEpoch;
        private bool changedSinceBest;
        private double bestLoss = double.PositiveInfinity;
        private int sinceBest;
        private long lastReport;
        private bool reported;

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
            mode = ModeOf(training);
            accuracy = AccuracyOf(training);
            trackAccuracy = accuracy != AccuracyMode.None && options.TrackTrainingAccuracy;
        }

        /// <summary>Every epoch in turn until the last or until early stopping triggers; then the best weights back
        /// where early stopping asks for them.</summary>
        public TrainingHistory Run()
        {
            options.Optimizer.Reset();
            var random = new Random(options.Seed);
            bool stoppedEarly = false;
            for (int epoch = 0; epoch < options.Epochs; epoch++)
            {
                if (options.Shuffle)
                    Shuffle(order, random);
                EpochMetrics metrics = RunEpoch(epoch);
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

        /// <summary>One pass over the training set in the current order, then the validation set; the epoch's metrics.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private EpochMetrics RunEpoch(int epoch)
        {
            double rate = options.Schedule.RateAt(epoch);
            long epochStart = Stopwatch.GetTimestamp();
            Array.Clear(weightNorms);
            Array.Clear(biasNorms);
            double lossSum = 0;
            int correct = 0;
            for (int b = 0; b < batches; b++)
            {
                if (token.IsCancellationRequested)
                    throw Cancelled();
                int first = b * batch, size = Math.Min(batch, training.Count - first);
                (double batchLoss, int batchCorrect) = TrainBatch(first, size, rate);
                lossSum += batchLoss;
                correct += batchCorrect;
                ReportBatch(epoch, b, lossSum / (first + size), first + size, epochStart);
            }

            double trainSeconds = Math.Max(Stopwatch.GetElapsedTime(epochStart).TotalSeconds, 1e-9);
            double? validationLoss = null, validationAccuracy = null;
            if (validation is not null)
            {
                (double vl, validationAccuracy) = Evaluate(validation);
                validationLoss = vl;
                RecordValidation(epoch, vl);
            }

            int n = training.Count;
            return new EpochMetrics
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
                WeightGradientNorms = weightNorms.Select(sum => sum / batches).ToArray(),
                BiasGradientNorms = biasNorms.Select(sum => sum / batches).ToArray(),
            };
        }

        /// <summary>One optimizer step on the rows order[first .. first + size): returns the batch's loss summed over its
        /// samples and how many of them the outputs got right (when accuracy is tracked).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private (double LossSum, int Correct) TrainBatch(int first, int size, double rate)
        {
            Gather(mode, first, size);
            Span<T> x = batchInputs.AsSpan(0, size * inputs);
            // The outputs (for training accuracy) come out of the same forward pass as the gradients.
            Span<T> y = trackAccuracy ? batchOutputs.AsSpan(0, size * outputs) : default;
            T batchLoss = mode == TargetMode.ClassIndices
                ? network.ComputeGradients(x, batchClasses.AsSpan(0, size), size, loss, gradients, y)
                : network.ComputeGradients(x, batchTargets.AsSpan(0, size * outputs), size, loss, gradients, y);
            int correct = trackAccuracy
                ? CountCorrect(accuracy, y, size, batchClasses.AsSpan(0, mode == TargetMode.ClassIndices ? size : 0),
                    batchTargets.AsSpan(0, mode == TargetMode.ClassIndices ? 0 : size * outputs))
                : 0;
            for (int l = 0; l < layers; l++)
            {
                weightNorms[l] += Math.Sqrt(TrainingMath.SumOfSquares<T>(gradients.Weights(l)));
                biasNorms[l] += Math.Sqrt(TrainingMath.SumOfSquares<T>(gradients.Biases(l)));
            }
            options.Optimizer.Step(network.Parameters, gradients.Values, rate);
            changedSinceBest = true;
            return (double.CreateChecked(batchLoss) * (loss.Reduction == Reduction.Mean ? size : 1), correct);
        }

        /// <summary>A per-batch report when the interval has passed since the last one (always for the run's first batch).
        /// One clock for the whole run, not restarted per epoch: epochs shorter than the interval would otherwise never
        /// get a per-batch report after the first.</summary>
        private void ReportBatch(int epoch, int b, double runningLoss, int seen, long epochStart)
        {
            if (progress is null)
                return;
            long now = options.ProgressClock.GetTimestamp();
            if (reported && options.ProgressClock.GetElapsedTime(lastReport, now) < options.ProgressInterval)
                return;
            progress.Report(new TrainingProgress(epoch, options.Epochs, b, batches, runningLoss,
                seen / Math.Max(Stopwatch.GetElapsedTime(epochStart).TotalSeconds, 1e-9), null));
            lastReport = now;
            reported = true;
        }

        /// <summary>Early stopping's bookkeeping: a validation loss lower than the best by more than MinDelta is the new
        /// best (its parameters kept when they are to be restored); otherwise one more epoch without improvement.</summary>
        private void RecordValidation(int epoch, double validationLoss)
        {
            if (validationLoss < bestLoss - options.MinDelta)
            {
                bestLoss = validationLoss;
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
            TargetMode dataMode = ModeOf(data);
            AccuracyMode dataAccuracy = AccuracyOf(data);
            int size = Math.Min(options.BatchSize, data.Count);
            double sum = 0;
            int correct = 0;
            for (int first = 0; first < data.Count; first += size)
            {
                if (token.IsCancellationRequested)
                    throw Cancelled();
                int count = Math.Min(size, data.Count - first);
                ReadOnlySpan<T> x = data.Features.AsSpan(first * inputs, count * inputs);
                Span<T> y = dataAccuracy == AccuracyMode.None ? default : batchOutputs.AsSpan(0, count * outputs);
                ReadOnlySpan<int> classes = default;
                ReadOnlySpan<T> targets = default;
                T value;
                switch (dataMode)
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
                if (dataAccuracy != AccuracyMode.None)
                    correct += CountCorrect(dataAccuracy, y, count, classes, targets);
            }
            return (sum / data.Count, dataAccuracy == AccuracyMode.None ? null : (double)correct / data.Count);
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
