using System.Diagnostics;
using System.Globalization;
using FastBackprop.Hardware;

namespace FastBackprop.Cli;

/// <summary>Training failed in a way the user can act on (e.g. the loss diverged): exit code 1.</summary>
internal sealed class TrainingException(string message) : Exception(message);

/// <summary><c>train</c>: loads the data, trains with <see cref="Trainer{T}"/>, prints a per-epoch table and the test result,
/// and optionally saves the model and a loss chart.</summary>
internal static class TrainCommand
{
    private const int MaxTableRows = 25;

    /// <summary>The command: its options (<see cref="TrainOptions"/>), help and what runs it.</summary>
    public static readonly CliCommand Definition = new("train", "train a network, report it per epoch, test it, optionally save and plot (the default command)",
        TrainOptions.All, (args, context) => Run(TrainSettings.From(args), context.Output, context.Interactive, context.Start, context.Interrupt))
    {
        Notes = TrainOptions.Notes,
    };

    /// <summary>Threads per product for a requested count: never more than the processors the runtime sees (the GEMM's
    /// workers spin while they wait, so more threads than processors would only take turns).</summary>
    internal static int EffectiveThreads(int requested, int processors) => Math.Max(1, Math.Min(requested, processors));

    /// <summary>Fails before training when the model could not be saved: the rules a model file's reader applies
    /// (<see cref="ModelFile.CheckSavable{T}(Model{T})"/>), checked on the model with its initial weights, so that a
    /// feature whose spread no model file holds, an over-long class label or too many layers are reported before the
    /// run, not after it.</summary>
    internal static void CheckSavable(string path, Func<Model<float>> model)
    {
        try
        {
            Model<float> initial = model();
            if (initial.Network.LayerCount > ModelFile.MaxLayers)
                throw new UsageException(Invariant($"--save {path}: the network has {initial.Network.LayerCount} layers; a model file holds at most {ModelFile.MaxLayers} (fewer --hidden layers, or no --dropout or --layer-norm, which each add one per hidden layer)"));
            ModelFile.CheckSavable(initial);
        }
        catch (ArgumentException e)
        {
            string message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            throw new DataException($"--save {path}: {message}");
        }
    }

    public static int Run(TrainSettings s, TextWriter output, bool interactive, long startTimestamp, CancellationToken interrupt)
    {
        if (s.Threads is int threads)
        {
            int used = EffectiveThreads(threads, Environment.ProcessorCount);
            if (used < threads)
                Console.Error.WriteLine($"{Program.Name}: --threads {threads} is more than the {Environment.ProcessorCount} processor(s) available; using {used}");
            Parallelism.MaxDegreeOfParallelism = used;
        }

        int optimizerSlots = s.Optimizer switch { OptimizerName.Sgd => 0, OptimizerName.Momentum or OptimizerName.Nesterov => 1, _ => 2 };
        MemoryPlan PlanFor(long features, int outputs, long dataBytes, TrainSettings settings) => MemoryPlan.For(
            [checked((int)features), .. settings.Hidden, outputs], settings.Batch, optimizerSlots,
            parameterCopies: (settings.Patience is null ? 0 : 1) + (settings.Save is null ? 0 : 1), dataBytes,
            dropoutUnits: settings.Dropout is null ? 0 : settings.Hidden.Sum(h => (long)h),
            layerNormUnits: settings.LayerNorm ? settings.Hidden.Sum(h => (long)h) : 0);
        // Before the data are loaded, the outputs are not known: two stand in (the output layer is a small part of the plan).
        TrainSettings beforeLoading = s;
        TrainData data = TrainData.Load(s, new MemoryBudget((features, dataBytes) => PlanFor(features, 2, dataBytes, beforeLoading), s.MemoryLimit), interrupt);
        Dataset<float> training = data.Training;
        s = s.ForTrainingSize(training.Count, data.Validation is not null);
        bool classification = training.IsClassification;

        // Loss and output layer.
        (Loss loss, LayerSpec outputLayer) = ChooseLoss(s.Loss, training);

        // Standardisation, fitted on the training part only.
        bool standardize = s.Standardize ?? data.StandardizeByDefault;

        // What training will allocate, checked before anything large is (the data were checked before loading, with the
        // network's outputs not yet known).
        MemoryPlan plan = PlanFor(training.FeatureCount, outputLayer.Units,
            MemoryPlan.DataPeakBytes(data.Values, data.Rows, classification ? 1 : training.OutputCount, data.FeatureCopies), s);
        plan.Check(s.MemoryLimit);

        Standardizer<float>? scaler = standardize ? Standardizer<float>.Fit(training) : null;
        Dataset<float> train = Standardized(scaler, training, data.OwnsArrays)!;
        Dataset<float>? validation = Standardized(scaler, data.Validation, data.OwnsArrays);
        Dataset<float>? test = Standardized(scaler, data.Test, data.OwnsArrays);
        // Regression targets are standardised with the training part's statistics too (raw diabetes targets
        // of 25-346 gave R² -4.2 with the defaults); the test set keeps its units, the model file keeps the statistics.
        Standardizer<float>? targetScaler = standardize && !classification && loss.Kind == LossKind.SquaredError ? Standardizer<float>.FitTargets(training) : null;
        if (targetScaler is not null)
            (train, validation) = (StandardizedTargets(targetScaler, train, data.OwnsArrays), validation is null ? null : StandardizedTargets(targetScaler, validation, data.OwnsArrays));

        Activation hidden = Activation.FromKind(s.Activation);
        LayerSpec[] layers = [.. s.Hidden.SelectMany(h => HiddenBlock(h, hidden, s)), outputLayer];
        var network = new Network<float>(train.FeatureCount, layers, s.Seed);
        IReadOnlyList<string>? classLabels = classification ? TrainData.ClassLabelsOf(training) : null;
        Model<float> ModelOf(Network<float> net) => new(net, scaler, classLabels, loss, targetScaler) { FeatureNames = training.FeatureNames };
        if (s.Save is not null)
            CheckSavable(s.Save, () => ModelOf(network));
        Optimizer optimizer = CreateOptimizer(s);
        LearningRateSchedule schedule = CreateSchedule(s);
        var options = new TrainerOptions
        {
            Epochs = s.Epochs,
            BatchSize = s.Batch,
            Seed = s.Seed,
            Loss = loss,
            Optimizer = optimizer,
            Schedule = schedule,
            EarlyStoppingPatience = s.Patience,
            ProgressInterval = TimeSpan.FromMilliseconds(interactive ? 100 : 1000),
        };

        long parameters = network.Parameters.Length;
        output.WriteLine($"data:     {data.Description}");
        output.WriteLine(Invariant($"split:    {train.Count} training, {validation?.Count ?? 0} validation, {test?.Count ?? 0} {data.TestName}{(standardize ? $"; features{(targetScaler is null ? "" : " and targets")} standardised (training statistics)" : "")}"));
        output.WriteLine(Invariant($"network:  {train.FeatureCount}-{string.Join("-", layers.Where(l => l.Kind == LayerKind.Dense).Select(l => l.Units))} ({hidden} hidden{(s.LayerNorm ? " with layer norm" : "")}{(s.Dropout is double dropout ? $" with dropout {dropout}" : "")}, {outputLayer.Activation} output), {parameters:#,0} parameters, loss {Evaluation.Describe(loss)}{(targetScaler is null ? "" : " of the standardised targets")}"));
        output.WriteLine(Invariant($"training: {Describe(optimizer)}, lr {schedule}, batch {s.Batch}, {s.Epochs} epochs{(s.EpochsChosenBySteps ? $" (at least {TrainSettings.MinDefaultSteps} steps for a small training part)" : "")}{(s.Patience is int p ? $", early stopping after {p} epochs without improvement" : "")}, seed {s.Seed}, {Parallelism.MaxDegreeOfParallelism} thread(s)"));
        output.WriteLine($"memory:   about {MemoryPlan.Bytes(plan.TotalBytes)} planned ({plan.Describe()})");
        if (s.Save is not null && s.Checkpoint is int every)
            output.WriteLine(Invariant($"saving:   a checkpoint every {every} epoch(s) to {s.Save}"));
        KernelConfiguration kernels = KernelConfiguration.Current;
        output.WriteLine($"kernels:  {CpuInfo.Describe(kernels.InstructionSet)}, GEMM tiles {kernels.GemmKernels}, on {kernels.Cpu.Name}");
        if (InfoCommand.Warning(kernels) is string warning)
            Console.Error.WriteLine($"{Program.Name}: {warning}");
        output.WriteLine();

        var table = new EpochTable(classification, validation is not null);
        output.WriteLine(table.Header);
        output.WriteLine(table.Rule);
        int rowEvery = s.Epochs <= MaxTableRows * 2 ? 1 : (s.Epochs + MaxTableRows - 1) / MaxTableRows;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(interrupt);
        // With --save, the weights an interrupt should save (the best validation epoch's, else the last complete epoch's)
        // are copied at the end of each epoch, and --checkpoint saves the model every N epochs.
        var snapshots = s.Save is null ? null : new EpochSnapshots(network, s.Save, s.Checkpoint, ModelOf);
        var reporter = new Reporter(output, new ProgressLine(output, interactive, TimeProvider.System), table, rowEvery, s.Epochs, cancel, snapshots);

        TrainingHistory history;
        try
        {
            history = new Trainer<float>(options).Fit(network, train, validation, reporter, cancel.Token);
        }
        catch (TrainingCanceledException e)
        {
            reporter.Finish();
            if (reporter.Diverged is EpochMetrics bad)
                throw new TrainingException(Invariant($"training diverged: the training loss is {bad.TrainingLoss} in epoch {bad.Epoch + 1}; try a smaller --lr (now {s.LearningRate})"));
            if (snapshots?.Restore() is string which)
            {
                ModelFile.Save(s.Save!, ModelOf(network));
                output.WriteLine(Invariant($"interrupted after {e.History.Epochs.Count} complete epoch(s); saved {which} to {s.Save}"));
            }
            else
            {
                output.WriteLine(Invariant($"interrupted after {e.History.Epochs.Count} complete epoch(s); nothing saved{(s.Save is null ? "" : " (no epoch completed)")}"));
            }
            return Program.ExitInterrupted;
        }
        reporter.Finish();
        if (validation is not null)
            output.WriteLine("(* = best validation loss so far)");
        output.WriteLine();

        EpochMetrics last = history.Last!;
        if (history.StoppedEarly || history.BestWeightsRestored)
            output.WriteLine(Invariant($"early stopping: {(history.StoppedEarly ? $"stopped after epoch {last.Epoch + 1}" : "ran every epoch")}; {(history.BestWeightsRestored ? "restored" : "kept")} the weights of epoch {history.BestEpoch + 1} (best validation loss)"));

        if (test is not null)
        {
            EvaluationResult result = Evaluation.Evaluate(network, loss, test, targetScaler);
            if (result.LossLine($"{data.TestName} loss: ", loss) is string lossLine)
                output.WriteLine(lossLine);
            output.WriteLine(result.FinalLine(data.TestName));
        }
        else
        {
            output.WriteLine("no test set (--test-fraction 0): the table shows training and validation results only");
        }

        double trainSeconds = history.Epochs.Sum(e => e.Duration.TotalSeconds);
        double samples = (double)history.Epochs.Count * train.Count;
        output.WriteLine(Invariant($"training time: {trainSeconds:0.00} s for {history.Epochs.Count} epochs x {train.Count} samples = {samples / Math.Max(trainSeconds, 1e-9):#,0} samples/s (validation included)"));

        if (s.Save is not null)
        {
            ModelFile.Save(s.Save, ModelOf(network));
            output.WriteLine($"model saved to {s.Save}");
        }
        if (s.Plot is not null)
        {
            SvgLineChart.WriteLossChart(s.Plot, $"Loss per epoch: {ShortTitle(data.Description)}", history);
            output.WriteLine($"loss chart written to {s.Plot}");
        }
        output.WriteLine(Invariant($"total time: {Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds:0.00} s (loading, training, testing)"));
        return Program.ExitOk;
    }

    /// <summary>The data standardised: in place when the run owns the arrays (loaded from files, or copies made by the
    /// split), so no second copy of the data exists; a copy for the built-in sets, which share theirs.</summary>
    /// <summary>One hidden layer as the options make it: dense, then its layer normalisation and its dropout if asked for.</summary>
    private static IEnumerable<LayerSpec> HiddenBlock(int units, Activation activation, TrainSettings s)
    {
        yield return new LayerSpec(units, activation);
        if (s.LayerNorm)
            yield return LayerSpec.LayerNorm();
        if (s.Dropout is double rate)
            yield return LayerSpec.Dropout(rate);
    }

    private static Dataset<float>? Standardized(Standardizer<float>? scaler, Dataset<float>? data, bool inPlace)
    {
        if (scaler is null || data is null)
            return data;
        if (!inPlace)
            return scaler.Transform(data);
        scaler.Transform(data.Features);
        return data;
    }

    private static Dataset<float> StandardizedTargets(Standardizer<float> scaler, Dataset<float> data, bool inPlace)
    {
        if (!inPlace)
            return scaler.TransformTargets(data);
        scaler.Transform(data.Targets!);
        return data;
    }

    private static (Loss Loss, LayerSpec Output) ChooseLoss(LossName name, Dataset<float> data)
    {
        if (data.IsClassification)
        {
            return name switch
            {
                LossName.Auto or LossName.SoftmaxCrossEntropy => (Loss.SoftmaxCrossEntropy, new LayerSpec(data.OutputCount, Activation.Softmax)),
                LossName.BinaryCrossEntropy when data.OutputCount == 2 => (Loss.BinaryCrossEntropy, new LayerSpec(1, Activation.Sigmoid)),
                LossName.BinaryCrossEntropy => throw new UsageException($"--loss binary-ce needs 2 classes; the data have {data.OutputCount} (use softmax-ce)"),
                _ => throw new UsageException("--loss mse needs a real-valued target (--regression); use softmax-ce or binary-ce for classes"),
            };
        }
        return name switch
        {
            LossName.Auto or LossName.MeanSquaredError => (Loss.MeanSquaredError, new LayerSpec(data.OutputCount, Activation.Identity)),
            LossName.BinaryCrossEntropy => (Loss.BinaryCrossEntropy, new LayerSpec(data.OutputCount, Activation.Sigmoid)),
            _ => throw new UsageException("--loss softmax-ce needs class labels; a regression target trains with mse (or binary-ce for targets in [0,1])"),
        };
    }

    private static Optimizer CreateOptimizer(TrainSettings s) => s.Optimizer switch
    {
        OptimizerName.Sgd => new Sgd(s.WeightDecay ?? 0),
        OptimizerName.Momentum => new Momentum(0.9, nesterov: false, weightDecay: s.WeightDecay ?? 0),
        OptimizerName.Nesterov => new Momentum(0.9, nesterov: true, weightDecay: s.WeightDecay ?? 0),
        OptimizerName.Adam => new Adam(weightDecay: s.WeightDecay ?? 0),
        _ => new AdamW(weightDecay: s.WeightDecay ?? 0.01),
    };

    private static LearningRateSchedule CreateSchedule(TrainSettings s) => s.Schedule switch
    {
        ScheduleName.Step => LearningRateSchedule.StepDecay(s.LearningRate, 0.5, Math.Max(1, (s.Epochs + 3) / 4)),
        ScheduleName.Cosine => LearningRateSchedule.Cosine(s.LearningRate, s.Epochs, s.LearningRate / 100),
        _ => LearningRateSchedule.Constant(s.LearningRate),
    };

    private static string Describe(Optimizer o) => o switch
    {
        Sgd => "SGD",
        Momentum { Nesterov: true } m => Invariant($"Nesterov momentum {m.Coefficient}"),
        Momentum m => Invariant($"momentum {m.Coefficient}"),
        AdamW => "AdamW",
        _ => "Adam",
    } + (o.WeightDecay > 0 ? Invariant($" (weight decay {o.WeightDecay})") : "");

    private static string ShortTitle(string description)
    {
        int colon = description.IndexOf(':');
        return colon > 0 ? description[..colon] : description;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Receives the trainer's reports on the training thread: drives the progress bar, prints table rows and
    /// stops the run when the loss diverges.</summary>
    private sealed class Reporter(TextWriter output, ProgressLine progress, EpochTable table, int rowEvery, int epochs,
        CancellationTokenSource cancel, EpochSnapshots? snapshots) : IProgress<TrainingProgress>
    {
        private double bestValidation = double.PositiveInfinity;

        public EpochMetrics? Diverged { get; private set; }

        public void Report(TrainingProgress value)
        {
            if (value.EpochMetrics is not EpochMetrics m)
            {
                progress.Report(value.Epoch + 1, value.Epochs, value.Batch + 1, value.BatchesPerEpoch, value.RunningLoss, value.SamplesPerSecond);
                return;
            }
            bool best = m.ValidationLoss is double vl && vl < bestValidation;
            if (best)
                bestValidation = m.ValidationLoss!.Value;
            bool diverged = !double.IsFinite(m.TrainingLoss);
            int epoch = m.Epoch + 1;
            if (epoch == 1 || epoch == epochs || epoch % rowEvery == 0 || diverged)
            {
                progress.Clear();
                output.WriteLine(table.Row(m, best));
            }
            if (diverged)
            {
                Diverged = m;
                cancel.Cancel();
                return;
            }
            snapshots?.EpochEnded(m, best);
        }

        public void Finish() => progress.Clear();
    }

    /// <summary>At each epoch's end (on the training thread, between steps): keeps a copy of the weights an interrupt
    /// should save — the best validation epoch's when there is a validation set, else the last complete epoch's — and
    /// saves a checkpoint every <paramref name="checkpointEvery"/> epochs.</summary>
    private sealed class EpochSnapshots(Network<float> network, string path, int? checkpointEvery, Func<Network<float>, Model<float>> model)
    {
        private float[]? weights;
        private int epoch = -1;
        private bool fromBest;

        public void EpochEnded(EpochMetrics m, bool bestValidation)
        {
            if (m.ValidationLoss is null || bestValidation)
            {
                weights ??= new float[network.Parameters.Length];
                network.Parameters.CopyTo(weights);
                epoch = m.Epoch;
                fromBest = m.ValidationLoss is not null;
            }
            if (checkpointEvery is int every && (m.Epoch + 1) % every == 0)
                ModelFile.Save(path, model(network));
        }

        /// <summary>Puts the kept weights back into the network; what they are, or null when no epoch completed.</summary>
        public string? Restore()
        {
            if (weights is null)
                return null;
            weights.CopyTo(network.Parameters);
            return Invariant($"the weights of epoch {epoch + 1} ({(fromBest ? "best validation loss" : "last complete epoch")})");
        }
    }
}
