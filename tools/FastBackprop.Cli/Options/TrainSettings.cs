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

    public static readonly OptionSpec[] Specs =
    [
        new("--problem", 1), new("--csv", 1), new("--idx", 2), new("--test-csv", 1), new("--test-idx", 2), new("--regression", 0), new("--classification", 0),
        .. CsvArgs.Specs,
        new("--test-fraction", 1), new("--validation-fraction", 1), new("--patience", 1),
        new("--hidden", 1), new("--dropout", 1), new("--layer-norm", 0), new("--activation", 1), new("--loss", 1), new("--optimizer", 1), new("--lr", 1, "--learning-rate"),
        new("--weight-decay", 1), new("--schedule", 1), new("--batch", 1, "--batch-size"), new("--epochs", 1), new("--seed", 1),
        new("--threads", 1), new("--standardize", 0), new("--no-standardize", 0), new("--save", 1), new("--plot", 1),
        LimitArgs.Spec, new("--checkpoint", 1),
    ];

    private static readonly Dictionary<string, ProblemName> Problems = new()
    {
        ["digits"] = ProblemName.Digits,
        ["xor"] = ProblemName.Xor,
        ["sine"] = ProblemName.Sine,
    };

    private static readonly Dictionary<string, ActivationKind> Activations = new()
    {
        ["relu"] = ActivationKind.ReLU,
        ["tanh"] = ActivationKind.Tanh,
        ["sigmoid"] = ActivationKind.Sigmoid,
        ["leaky-relu"] = ActivationKind.LeakyReLU,
        ["silu"] = ActivationKind.SiLU,
    };

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

    /// <summary>Reads the train command's options (already split by <see cref="ParsedArgs"/>) and checks they fit together.</summary>
    public static TrainSettings From(ParsedArgs args)
    {
        args.Exclusive("--problem", "--csv", "--idx");
        args.Exclusive("--test-csv", "--test-idx");
        args.Exclusive("--standardize", "--no-standardize");
        args.Requires("--test-csv", "--csv");
        args.Requires("--test-idx", "--idx");
        args.Exclusive("--regression", "--classification");
        args.Requires("--regression", "--csv");
        args.Requires("--classification", "--csv");
        foreach (OptionSpec csvOption in CsvArgs.Specs)
            args.Requires(csvOption.Name, "--csv");

        ProblemName? problem = args.Choice("--problem", Problems);
        string? csv = args.File("--csv");
        string[]? idx = args.Files("--idx");
        if (problem is null && csv is null && idx is null)
            problem = ProblemName.Digits;
        bool regression = args.Has("--regression");
        bool hasTestSet = args.Has("--test-csv") || args.Has("--test-idx") || problem is ProblemName.Xor or ProblemName.Sine;
        if (hasTestSet && args.Has("--test-fraction"))
            throw new UsageException(problem is ProblemName.Xor or ProblemName.Sine
                ? $"--test-fraction does not apply to --problem {problem.Value.ToString().ToLowerInvariant()} (it has its own test points)"
                : "--test-fraction does not apply when a test set is given (--test-csv / --test-idx)");

        TrainDefaults d = TrainDefaults.For(problem);
        int epochs = args.Int("--epochs", 1, MaxEpochs) ?? d.Epochs;
        double validationFraction = args.Double("--validation-fraction", 0, 0.9) ?? (problem == ProblemName.Xor ? 0 : 0.1);
        int? patience = args.Int("--patience", 1, MaxEpochs);
        if (patience is not null && validationFraction == 0)
            throw new UsageException("--patience (early stopping) needs a validation set: --validation-fraction must be above 0");
        if (problem == ProblemName.Xor && validationFraction > 0)
            throw new UsageException("--problem xor has only 4 rows: it cannot hold out a validation set (--validation-fraction 0)");

        string? plot = args.String("--plot");
        if (plot is not null && !plot.EndsWith(".svg", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--plot writes SVG: the file name must end in .svg (got '{plot}')");
        string? save = args.String("--save");
        if (plot is not null)
            FileArgs.CheckOutput("--plot", plot);
        if (save is not null)
            FileArgs.CheckOutput("--save", save);
        (DataLimits limits, long? memoryLimit) = LimitArgs.Parse(args);
        args.Requires("--checkpoint", "--save");

        return new TrainSettings
        {
            Problem = problem,
            Csv = csv,
            TestCsv = args.File("--test-csv"),
            CsvOptions = csv is null ? null : CsvArgs.Build(args, regression ? CsvTask.Regression : CsvTask.Classification),
            Idx = idx,
            TestIdx = args.Files("--test-idx"),
            Regression = regression,
            Classification = args.Has("--classification"),
            TestFraction = args.Double("--test-fraction", 0, 0.9) ?? (hasTestSet ? 0 : 0.2),
            ValidationFraction = validationFraction,
            Patience = patience,
            Hidden = args.IntList("--hidden", 1, MaxUnits) ?? d.Hidden,
            Dropout = args.Double("--dropout", 0, LayerSpec.MaxDropoutRate, exclusiveMin: true),
            LayerNorm = args.Has("--layer-norm"),
            Activation = args.Choice("--activation", Activations) ?? d.Activation,
            Loss = args.Choice("--loss", Losses) ?? LossName.Auto,
            Optimizer = args.Choice("--optimizer", Optimizers) ?? d.Optimizer,
            LearningRate = args.Double("--lr", 0, 1e6, exclusiveMin: true) ?? d.LearningRate,
            WeightDecay = args.Double("--weight-decay", 0, 1e6),
            Schedule = args.Choice("--schedule", Schedules) ?? ScheduleName.Constant,
            Batch = args.Int("--batch", 1, MaxBatch) ?? d.Batch,
            Epochs = epochs,
            EpochsGiven = args.Has("--epochs"),
            Seed = args.Int("--seed", 0, int.MaxValue) ?? DefaultSeed,
            Threads = args.Int("--threads", 1, 1024),
            Standardize = args.Has("--standardize") ? true : args.Has("--no-standardize") ? false : null,
            Save = save,
            Plot = plot,
            Limits = limits,
            MemoryLimit = memoryLimit,
            Checkpoint = args.Int("--checkpoint", 1, MaxEpochs),
        };
    }

    public const string HelpText =
        """
        fastbackprop train - train a network, report it per epoch, test it, optionally save and plot

        Usage:
          fastbackprop [train] [options]

        Data (one of; default: --problem digits):
          --problem P            built-in problem:
                                   digits  8x8 hand-written digits embedded in the program (1797 images,
                                           pixels scaled to [0,1]); 20% held out for testing
                                   xor     the XOR truth table (trained and tested on its 4 rows)
                                   sine    sin(x) on [-pi, pi]: 1024 random training points,
                                           201 evenly spaced test points (regression)
          --csv FILE             a CSV file (optionally .gz): one sample per row, features and a target
                                 column; classification unless --regression
          --idx IMAGES LABELS    IDX image and label files (optionally .gz), e.g. MNIST, Fashion-MNIST;
                                 unsigned-byte pixels scaled to [0,1]; other element types kept as
                                 stored and standardised
          --test-csv FILE        a separate test set for --csv (same columns)
          --test-idx IMAGES LABELS  a separate test set for --idx
          --regression           the CSV target is a real number (mean squared error, identity output;
                                 targets standardised for training, predictions in the target's units)
          --classification       train on the target's values as classes even when they are numbers with
                                 many distinct values (which otherwise is an error suggesting --regression)

        CSV format (with --csv, --test-csv):
        {CSV}

        Splits:
          --test-fraction X      fraction held out for the final test when no test set is given (0.2)
          --validation-fraction X  fraction of the training part used to validate after every epoch
                                 (0.1; 0 = none). The validation loss is what early stopping watches.
          --patience N           early stopping: stop after N epochs without a better validation loss and
                                 keep the weights of the best epoch (default: off, every epoch is trained;
                                 20 when the epochs are raised for a small training part, see --epochs)

        Network and training:
          --hidden N[,N...]      hidden layer sizes, e.g. 256,128     (digits 64, xor 4, sine 32, others 128)
          --dropout P            inverted dropout after every hidden layer, dropping each value with
                                 probability P in training (off; inference never drops)
          --layer-norm           layer normalisation after every hidden layer's activation (before its
                                 dropout): each row to mean 0, variance 1, then a learned scale and shift
          --activation A         hidden activation: relu, tanh, sigmoid, leaky-relu, silu
                                 (relu; tanh for xor and sine)
          --loss L               auto (default), softmax-ce, binary-ce, mse. auto: softmax cross-entropy
                                 for classification, mean squared error for regression. binary-ce: one
                                 sigmoid output for a 2-class problem (or regression targets in [0,1])
          --optimizer O          sgd, momentum (0.9), nesterov (0.9), adam, adamw          (adam)
          --lr X                 learning rate        (digits 0.003, xor 0.05, sine 0.01, others 0.001)
          --weight-decay X       L2 weight decay (0; adamw: decoupled, 0.01)
          --schedule S           learning-rate schedule: constant (default), step (halve every quarter
                                 of the epochs), cosine (falling towards lr/100 by the end)
          --batch N              mini-batch size                  (digits 32, xor 4, sine 32, others 64)
          --epochs N             passes over the training set     (digits 30, xor 300, sine 300, others 20)
                                 Small files: without --epochs, --csv and --idx runs train at least 2000
                                 optimizer steps, max(20, ceil(2000 / batches per epoch)) epochs (at most
                                 1000), with early stopping (--patience 20) when that adds epochs
          --seed N               seed for splits, initial weights and shuffling (42)
          --threads N            most threads per matrix product (default: all cores)
          --standardize          scale every feature to mean 0, variance 1 with statistics of the training
                                 part (default for --csv and sine)
          --no-standardize       use the features as they are (default for unsigned-byte --idx, digits, xor)

        Output:
          --save MODEL           save the trained model (network, standardisation, class labels); on
                                 Ctrl+C or SIGTERM, the best (or last complete) epoch's weights are saved
          --checkpoint N         with --save: also save the model every N epochs while training
          --plot FILE.svg        draw the training and validation loss per epoch as an SVG line chart
          -h, --help             show this help

        Limits:
        {LIMITS}

        Examples:
          fastbackprop --epochs 5
          fastbackprop train --csv iris.csv --target species --hidden 16 --save iris.fbpm
          fastbackprop train --idx train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
              --test-idx t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz \
              --hidden 256,128 --lr 0.001 --batch 128 --epochs 25 --schedule cosine --plot loss.svg
        """;

    public static string Help => HelpText
        .Replace("{CSV}", CsvArgs.HelpText.TrimEnd('\n', '\r'), StringComparison.Ordinal)
        .Replace("{LIMITS}", LimitArgs.HelpText.TrimEnd('\n', '\r'), StringComparison.Ordinal);
}
