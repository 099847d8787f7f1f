using System.CommandLine;

namespace FastBackprop.Cli;

/// <summary>The built-in problems of the train command.</summary>
internal enum ProblemName
{
    Digits,
    Xor,
    Sine,
}

internal enum OptimizerName
{
    Sgd,
    Momentum,
    Nesterov,
    Adam,
    AdamW,
}

internal enum ScheduleName
{
    Constant,
    Step,
    Cosine,
}

internal enum LossName
{
    Auto,
    SoftmaxCrossEntropy,
    BinaryCrossEntropy,
    MeanSquaredError,
}

/// <summary>Hyper-parameters that depend on the data when not given on the command line.</summary>
internal readonly record struct TrainDefaults(int[] Hidden, ActivationKind Activation, OptimizerName Optimizer, double LearningRate, int Batch, int Epochs)
{
    public static TrainDefaults For(ProblemName? problem) => problem switch
    {
        ProblemName.Digits => new([64], ActivationKind.ReLU, OptimizerName.Adam, 0.003, 32, 30),
        ProblemName.Xor => new([4], ActivationKind.Tanh, OptimizerName.Adam, 0.05, 4, 300),
        ProblemName.Sine => new([32], ActivationKind.Tanh, OptimizerName.Adam, 0.01, 32, 300),
        _ => new([128], ActivationKind.ReLU, OptimizerName.Adam, 0.001, 64, 20),
    };
}

/// <summary>The parsed options of the train command.</summary>
internal sealed record TrainSettings
{
    public const int DefaultSeed = 42;
    public const int MaxUnits = 65_536;
    public const int MaxEpochs = 1_000_000;
    public const int MaxBatch = 1_000_000;

    /// <summary>Without --epochs, a --csv or --idx run trains at least this many optimizer steps (see <see cref="ForTrainingSize"/>).</summary>
    public const int MinDefaultSteps = 2_000;
    /// <summary>The most epochs <see cref="ForTrainingSize"/> chooses.</summary>
    public const int MaxDefaultEpochs = 1_000;
    /// <summary>The early-stopping patience that comes with epochs chosen by steps (unless --patience is given).</summary>
    public const int SmallDataPatience = 20;

    /// <summary>
    /// The defaults that depend on the size of the training part (iris reached 80% with 20 epochs of batch 64,
    /// about 40 steps, where scikit-learn's MLPClassifier, up to 200 epochs with a stop on a plateau, reaches 96.7%).
    /// Without --epochs, a --csv or --idx run trains max(20, ⌈2000 / batches per epoch⌉) epochs, at most 1000: at least
    /// 2000 optimizer steps. When that raises the epochs and a validation set is held out, early stopping is on with
    /// patience 20 (unless --patience is given) and the best epoch's weights are kept, so the extra epochs cannot
    /// overfit. Large sets are unchanged: Fashion-MNIST's 54,000 training rows make 844 batches of 64, so 20 epochs are
    /// already 16,880 steps. Explicit --epochs (and --patience) always win; the built-in problems keep their own defaults.
    /// </summary>
    public TrainSettings ForTrainingSize(int trainingRows, bool hasValidation)
    {
        if (EpochsGiven || Problem is not null || trainingRows <= 0)
            return this;
        long batches = ((long)trainingRows + Batch - 1) / Batch;
        int epochs = (int)Math.Clamp((MinDefaultSteps + batches - 1) / batches, Epochs, Math.Max(Epochs, MaxDefaultEpochs));
        if (epochs == Epochs)
            return this;
        return this with
        {
            Epochs = epochs,
            EpochsChosenBySteps = true,
            Patience = Patience ?? (hasValidation ? SmallDataPatience : null),
        };
    }

    /// <summary>The built-in problem, or null for --csv / --idx.</summary>
    public ProblemName? Problem { get; init; }
    public string? Csv { get; init; }
    public string? TestCsv { get; init; }
    public CsvOptions? CsvOptions { get; init; }
    public string[]? Idx { get; init; }
    public string[]? TestIdx { get; init; }
    public bool Regression { get; init; }
    /// <summary>--classification: train on a numeric target's values as classes even when they look like a regression target.</summary>
    public bool Classification { get; init; }

    public double TestFraction { get; init; }
    public double ValidationFraction { get; init; }
    public int? Patience { get; init; }

    public required int[] Hidden { get; init; }
    public ActivationKind Activation { get; init; }
    public LossName Loss { get; init; }
    public OptimizerName Optimizer { get; init; }
    public double LearningRate { get; init; }
    public double? WeightDecay { get; init; }
    public ScheduleName Schedule { get; init; }
    public int Batch { get; init; }
    public int Epochs { get; init; }
    /// <summary>Whether --epochs was given (then <see cref="ForTrainingSize"/> leaves the epochs alone).</summary>
    public bool EpochsGiven { get; init; }
    /// <summary>Whether <see cref="ForTrainingSize"/> raised the epochs for a small training part.</summary>
    public bool EpochsChosenBySteps { get; init; }
    public int Seed { get; init; }
    public int? Threads { get; init; }
    public bool? Standardize { get; init; }
    public string? Save { get; init; }
    public string? Plot { get; init; }
    /// <summary>Dropout rate after each hidden layer (--dropout); null for none.</summary>
    public double? Dropout { get; init; }
    /// <summary>A layer normalisation after each hidden layer's activation (--layer-norm).</summary>
    public bool LayerNorm { get; init; }
    /// <summary>Save the model every this many epochs (--checkpoint, needs --save).</summary>
    public int? Checkpoint { get; init; }
    /// <summary>Bounds on the data files (--limit).</summary>
    public DataLimits Limits { get; init; } = DataLimits.Default;
    /// <summary>The most bytes training may plan to allocate (--limit memory=N); null for the default.</summary>
    public long? MemoryLimit { get; init; }

    /// <summary>Reads the train command's options (checked by the parser) and checks they fit together.</summary>
    public static TrainSettings From(ParsedArgs args)
    {
        args.Exclusive(TrainOptions.Problem, TrainOptions.Csv, TrainOptions.Idx);
        args.Exclusive(TrainOptions.TestCsv, TrainOptions.TestIdx);
        args.Exclusive(TrainOptions.Standardize, TrainOptions.NoStandardize);
        args.Requires(TrainOptions.TestCsv, TrainOptions.Csv);
        args.Requires(TrainOptions.TestIdx, TrainOptions.Idx);
        args.Exclusive(TrainOptions.Regression, TrainOptions.Classification);
        args.Requires(TrainOptions.Regression, TrainOptions.Csv);
        args.Requires(TrainOptions.Classification, TrainOptions.Csv);
        foreach (Option csvOption in CsvArgs.Options)
            args.Requires(csvOption, TrainOptions.Csv);

        ProblemName? problem = args.Value(TrainOptions.Problem);
        string? csv = args.File(TrainOptions.Csv);
        string[]? idx = args.Files(TrainOptions.Idx);
        if (problem is null && csv is null && idx is null)
            problem = ProblemName.Digits;
        bool regression = args.Has(TrainOptions.Regression);
        bool hasTestSet = args.Has(TrainOptions.TestCsv) || args.Has(TrainOptions.TestIdx) || problem is ProblemName.Xor or ProblemName.Sine;
        if (hasTestSet && args.Has(TrainOptions.TestFraction))
            throw new UsageException(problem is ProblemName.Xor or ProblemName.Sine
                ? $"--test-fraction does not apply to --problem {problem.Value.ToString().ToLowerInvariant()} (it has its own test points)"
                : "--test-fraction does not apply when a test set is given (--test-csv / --test-idx)");

        TrainDefaults d = TrainDefaults.For(problem);
        int epochs = args.Value(TrainOptions.Epochs) ?? d.Epochs;
        double validationFraction = args.Value(TrainOptions.ValidationFraction) ?? (problem == ProblemName.Xor ? 0 : 0.1);
        int? patience = args.Value(TrainOptions.Patience);
        if (patience is not null && validationFraction == 0)
            throw new UsageException("--patience (early stopping) needs a validation set: --validation-fraction must be above 0");
        if (problem == ProblemName.Xor && validationFraction > 0)
            throw new UsageException("--problem xor has only 4 rows: it cannot hold out a validation set (--validation-fraction 0)");

        string? plot = args.Value(TrainOptions.Plot);
        if (plot is not null && !plot.EndsWith(".svg", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--plot writes SVG: the file name must end in .svg (got '{plot}')");
        string? save = args.Value(TrainOptions.Save);
        if (plot is not null)
            FileArgs.CheckOutput("--plot", plot);
        if (save is not null)
            FileArgs.CheckOutput("--save", save);
        (DataLimits limits, long? memoryLimit) = LimitArgs.Parse(args);
        args.Requires(TrainOptions.Checkpoint, TrainOptions.Save);

        return new TrainSettings
        {
            Problem = problem,
            Csv = csv,
            TestCsv = args.File(TrainOptions.TestCsv),
            CsvOptions = csv is null ? null : CsvArgs.Build(args, regression ? CsvTask.Regression : CsvTask.Classification),
            Idx = idx,
            TestIdx = args.Files(TrainOptions.TestIdx),
            Regression = regression,
            Classification = args.Has(TrainOptions.Classification),
            TestFraction = args.Value(TrainOptions.TestFraction) ?? (hasTestSet ? 0 : 0.2),
            ValidationFraction = validationFraction,
            Patience = patience,
            Hidden = args.Value(TrainOptions.Hidden) ?? d.Hidden,
            Dropout = args.Value(TrainOptions.Dropout),
            LayerNorm = args.Has(TrainOptions.LayerNorm),
            Activation = args.Value(TrainOptions.Activation) ?? d.Activation,
            Loss = args.Value(TrainOptions.Loss) ?? LossName.Auto,
            Optimizer = args.Value(TrainOptions.Optimizer) ?? d.Optimizer,
            LearningRate = args.Value(TrainOptions.LearningRate) ?? d.LearningRate,
            WeightDecay = args.Value(TrainOptions.WeightDecay),
            Schedule = args.Value(TrainOptions.Schedule) ?? ScheduleName.Constant,
            Batch = args.Value(TrainOptions.Batch) ?? d.Batch,
            Epochs = epochs,
            EpochsGiven = args.Has(TrainOptions.Epochs),
            Seed = args.Value(TrainOptions.Seed) ?? DefaultSeed,
            Threads = args.Value(TrainOptions.Threads),
            Standardize = args.Has(TrainOptions.Standardize) ? true : args.Has(TrainOptions.NoStandardize) ? false : null,
            Save = save,
            Plot = plot,
            Limits = limits,
            MemoryLimit = memoryLimit,
            Checkpoint = args.Value(TrainOptions.Checkpoint),
        };
    }
}

/// <summary>The options of the train command, each defined once (<see cref="CliOption"/>): the parser, the help and
/// completion read these definitions.</summary>
internal static class TrainOptions
{
    private static readonly Dictionary<string, ProblemName> Problems = new()
    {
        ["digits"] = ProblemName.Digits,
        ["xor"] = ProblemName.Xor,
        ["sine"] = ProblemName.Sine,
    };

    /// <summary>The hidden activations by their command-line names, from the library's one table of them.</summary>
    private static readonly Dictionary<string, ActivationKind> Activations = ActivationRegistry.All
        .Where(a => a.CliName is not null).ToDictionary(a => a.CliName!, a => a.Kind);

    private static readonly Dictionary<string, LossName> Losses = new()
    {
        ["auto"] = LossName.Auto,
        ["softmax-ce"] = LossName.SoftmaxCrossEntropy,
        ["binary-ce"] = LossName.BinaryCrossEntropy,
        ["mse"] = LossName.MeanSquaredError,
    };

    private static readonly Dictionary<string, OptimizerName> Optimizers = new()
    {
        ["sgd"] = OptimizerName.Sgd,
        ["momentum"] = OptimizerName.Momentum,
        ["nesterov"] = OptimizerName.Nesterov,
        ["adam"] = OptimizerName.Adam,
        ["adamw"] = OptimizerName.AdamW,
    };

    private static readonly Dictionary<string, ScheduleName> Schedules = new()
    {
        ["constant"] = ScheduleName.Constant,
        ["step"] = ScheduleName.Step,
        ["cosine"] = ScheduleName.Cosine,
    };

    // Data.
    public static readonly Option<ProblemName?> Problem = CliOption.Choice("--problem", Problems, "P",
        """
        built-in problem (the default, digits, unless --csv or --idx is given):
          digits  8x8 hand-written digits embedded in the program (1797 images, pixels
                  scaled to [0,1]); 20% held out for testing
          xor     the XOR truth table (trained and tested on its 4 rows)
          sine    sin(x) on [-pi, pi]: 1024 random training points, 201 evenly spaced
                  test points (regression)
        """);
    public static readonly Option<string?> Csv = CliOption.Text("--csv", "FILE",
        "a CSV file (optionally .gz): one sample per row, features and a target column; classification unless --regression");
    public static readonly Option<string[]?> Idx = CliOption.Values("--idx", 2, "IMAGES LABELS",
        "IDX image and label files (optionally .gz), e.g. MNIST, Fashion-MNIST; unsigned-byte pixels scaled to [0,1]; other element types kept as stored and standardised");
    public static readonly Option<string?> TestCsv = CliOption.Text("--test-csv", "FILE", "a separate test set for --csv (same columns)");
    public static readonly Option<string[]?> TestIdx = CliOption.Values("--test-idx", 2, "IMAGES LABELS", "a separate test set for --idx");
    public static readonly Option<bool> Regression = CliOption.Flag("--regression",
        "the CSV target is a real number (mean squared error, identity output; targets standardised for training, predictions in the target's units)");
    public static readonly Option<bool> Classification = CliOption.Flag("--classification",
        "train on the target's values as classes even when they are numbers with many distinct values (which otherwise is an error suggesting --regression)");

    // Splits.
    public static readonly Option<double?> TestFraction = CliOption.Double("--test-fraction", 0, 0.9, "X",
        "fraction held out for the final test when no test set is given (0.2)");
    public static readonly Option<double?> ValidationFraction = CliOption.Double("--validation-fraction", 0, 0.9, "X",
        "fraction of the training part used to validate after every epoch (0.1; 0 = none); the validation loss is what early stopping watches");
    public static readonly Option<int?> Patience = CliOption.Int("--patience", 1, TrainSettings.MaxEpochs, "N",
        "early stopping: stop after N epochs without a better validation loss and keep the weights of the best epoch (default: off, every epoch is trained; 20 when the epochs are raised for a small training part, see --epochs)");

    // Network and training.
    public static readonly Option<int[]?> Hidden = CliOption.IntList("--hidden", 1, TrainSettings.MaxUnits, "N[,N...]",
        "hidden layer sizes, e.g. 256,128 (digits 64, xor 4, sine 32, others 128)");
    public static readonly Option<double?> Dropout = CliOption.Double("--dropout", 0, LayerSpec.MaxDropoutRate, "P",
        "inverted dropout after every hidden layer, dropping each value with probability P in training (off; inference never drops)", exclusiveMin: true);
    public static readonly Option<bool> LayerNorm = CliOption.Flag("--layer-norm",
        "layer normalisation after every hidden layer's activation (before its dropout): each row to mean 0, variance 1, then a learned scale and shift");
    public static readonly Option<ActivationKind?> Activation = CliOption.Choice("--activation", Activations, "A",
        $"hidden activation: {string.Join(", ", Activations.Keys)} (relu; tanh for xor and sine)");
    public static readonly Option<LossName?> Loss = CliOption.Choice("--loss", Losses, "L",
        "auto (default), softmax-ce, binary-ce, mse. auto: softmax cross-entropy for classification, mean squared error for regression. binary-ce: one sigmoid output for a 2-class problem (or regression targets in [0,1])");
    public static readonly Option<OptimizerName?> Optimizer = CliOption.Choice("--optimizer", Optimizers, "O",
        "sgd, momentum (0.9), nesterov (0.9), adam, adamw (adam)");
    public static readonly Option<double?> LearningRate = CliOption.Double("--lr", 0, 1e6, "X",
        "learning rate (digits 0.003, xor 0.05, sine 0.01, others 0.001)", exclusiveMin: true, "--learning-rate");
    public static readonly Option<double?> WeightDecay = CliOption.Double("--weight-decay", 0, 1e6, "X",
        "L2 weight decay (0; adamw: decoupled, 0.01)");
    public static readonly Option<ScheduleName?> Schedule = CliOption.Choice("--schedule", Schedules, "S",
        "learning-rate schedule: constant (default), step (halve every quarter of the epochs), cosine (falling towards lr/100 by the end)");
    public static readonly Option<int?> Batch = CliOption.Int("--batch", 1, TrainSettings.MaxBatch, "N",
        "mini-batch size (digits 32, xor 4, sine 32, others 64)", "--batch-size");
    public static readonly Option<int?> Epochs = CliOption.Int("--epochs", 1, TrainSettings.MaxEpochs, "N",
        "passes over the training set (digits 30, xor 300, sine 300, others 20). Small files: without --epochs, --csv and --idx runs train at least 2000 optimizer steps, max(20, ceil(2000 / batches per epoch)) epochs (at most 1000), with early stopping (--patience 20) when that adds epochs");
    public static readonly Option<int?> Seed = CliOption.Int("--seed", 0, int.MaxValue, "N",
        "seed for splits, initial weights and shuffling (42)");
    public static readonly Option<int?> Threads = CliOption.Int("--threads", 1, 1024, "N",
        "most threads per matrix product (default: all cores)");
    public static readonly Option<bool> Standardize = CliOption.Flag("--standardize",
        "scale every feature to mean 0, variance 1 with statistics of the training part (default for --csv and sine)");
    public static readonly Option<bool> NoStandardize = CliOption.Flag("--no-standardize",
        "use the features as they are (default for unsigned-byte --idx, digits, xor)");

    // Output.
    public static readonly Option<string?> Save = CliOption.Text("--save", "MODEL",
        "save the trained model (network, standardisation, class labels); on Ctrl+C or SIGTERM, the best (or last complete) epoch's weights are saved");
    public static readonly Option<int?> Checkpoint = CliOption.Int("--checkpoint", 1, TrainSettings.MaxEpochs, "N",
        "with --save: also save the model every N epochs while training");
    public static readonly Option<string?> Plot = CliOption.Text("--plot", "FILE.svg",
        "draw the training and validation loss per epoch as an SVG line chart");

    /// <summary>Every option of the command, in the order help lists them.</summary>
    public static readonly Option[] All =
    [
        Problem, Csv, Idx, TestCsv, TestIdx, Regression, Classification, .. CsvArgs.Options,
        TestFraction, ValidationFraction, Patience,
        Hidden, Dropout, LayerNorm, Activation, Loss, Optimizer, LearningRate, WeightDecay, Schedule, Batch, Epochs, Seed, Threads,
        Standardize, NoStandardize,
        Save, Checkpoint, Plot, LimitArgs.Limit,
    ];

    public const string Notes =
        """
        Data: one of --problem, --csv and --idx (default: --problem digits). The CSV options (--target,
        --header, --separator, --text-labels) need --csv and apply to --test-csv too.

        Examples:
          fastbackprop --epochs 5
          fastbackprop train --csv iris.csv --target species --hidden 16 --save iris.fbpm
          fastbackprop train --idx train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
              --test-idx t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz \
              --hidden 256,128 --lr 0.001 --batch 128 --epochs 25 --schedule cosine --plot loss.svg
        """;
}
