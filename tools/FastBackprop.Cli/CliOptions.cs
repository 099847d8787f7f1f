using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>The problems the <c>train</c> command can run.</summary>
internal enum ProblemName
{
    Digits,
    Xor,
    Sine,
}

/// <summary>A mistake in the command line: reported as one line on stderr with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The parsed command line. Null hyper-parameters take the problem's defaults.</summary>
internal sealed record CliOptions(
    ProblemName Problem,
    int? Epochs,
    int? Batch,
    double? LearningRate,
    int Seed,
    int? Hidden,
    bool Help)
{
    public const int DefaultSeed = 42;

    public const int MaxEpochs = 1_000_000;
    public const int MaxBatch = 1_000_000;
    public const int MaxHidden = 4096;

    public const string HelpText =
        """
        fastbackprop-cli - train small multi-layer perceptrons with FastBackprop

        Usage:
          fastbackprop-cli [train] [options]
          fastbackprop-cli --help
          dotnet run -c Release --project tools/FastBackprop.Cli -- [train] [options]

        Commands:
          train          Train a network and report accuracy and speed (the default).

        Options:
          --problem P    digits (default): 64-64-10 ReLU/softmax classifier on the embedded
                                   8x8 hand-written digits (1797 images, 80/20 split),
                                   softmax cross-entropy
                         xor:    2-4-1 sigmoid network, binary cross-entropy
                         sine:   1-32-1 tanh/identity network fitting sin(x) on [-pi, pi],
                                   mean squared error
          --epochs N     passes over the training set   (digits 30, xor 2000, sine 1000)
          --batch N      mini-batch size                 (digits 32, xor 4,    sine 32)
          --lr X         SGD learning rate               (digits 0.2, xor 2,   sine 0.05)
          --hidden N     units in the hidden layer       (digits 64, xor 4,    sine 32)
          --seed N       seed for the data split, weight initialisation and shuffling (42)
          -h, --help     show this help

        Options also take the form --name=value. Exit codes: 0 success, 1 training or
        data failure, 2 command-line error.

        Examples:
          fastbackprop-cli
          fastbackprop-cli --problem sine --epochs 3000 --lr 0.02
          fastbackprop-cli --problem digits --hidden 128 --epochs 50 --seed 7
        """;

    public static CliOptions Parse(IReadOnlyList<string> args)
    {
        var problem = ProblemName.Digits;
        int? epochs = null, batch = null, hidden = null;
        double? lr = null;
        int seed = DefaultSeed;
        bool help = false;

        int i = 0;
        if (args.Count > 0 && !args[0].StartsWith('-'))
        {
            switch (args[0])
            {
                case "train":
                    break;
                case "help":
                    help = true;
                    break;
                default:
                    throw new UsageException($"unknown command '{args[0]}' (the only command is 'train'; see --help)");
            }
            i = 1;
        }

        for (; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                help = true;
                continue;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                throw new UsageException($"unexpected argument '{arg}' (see --help)");

            string name = arg;
            string? inlineValue = null;
            int eq = arg.IndexOf('=');
            if (eq >= 0)
            {
                name = arg[..eq];
                inlineValue = arg[(eq + 1)..];
            }

            switch (name)
            {
                case "--problem":
                    problem = ParseProblem(TakeValue(args, ref i, name, inlineValue));
                    break;
                case "--epochs":
                    epochs = ParseCount(name, TakeValue(args, ref i, name, inlineValue), MaxEpochs);
                    break;
                case "--batch":
                    batch = ParseCount(name, TakeValue(args, ref i, name, inlineValue), MaxBatch);
                    break;
                case "--hidden":
                    hidden = ParseCount(name, TakeValue(args, ref i, name, inlineValue), MaxHidden);
                    break;
                case "--lr":
                    lr = ParseLearningRate(name, TakeValue(args, ref i, name, inlineValue));
                    break;
                case "--seed":
                    seed = ParseSeed(name, TakeValue(args, ref i, name, inlineValue));
                    break;
                default:
                    throw new UsageException($"unknown option '{name}' (see --help)");
            }
        }

        return new CliOptions(problem, epochs, batch, lr, seed, hidden, help);
    }

    private static string TakeValue(IReadOnlyList<string> args, ref int i, string name, string? inlineValue)
    {
        if (inlineValue is not null)
        {
            if (inlineValue.Length == 0)
                throw new UsageException($"option {name} needs a value");
            return inlineValue;
        }
        if (i + 1 >= args.Count)
            throw new UsageException($"option {name} needs a value");
        i++;
        return args[i];
    }

    private static ProblemName ParseProblem(string value) => value.ToLowerInvariant() switch
    {
        "digits" => ProblemName.Digits,
        "xor" => ProblemName.Xor,
        "sine" or "sin" => ProblemName.Sine,
        _ => throw new UsageException($"invalid value for --problem: '{value}' (expected digits, xor or sine)"),
    };

    private static int ParseCount(string name, string value, int max)
    {
        if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
            throw new UsageException($"invalid value for {name}: '{value}' (expected a positive integer)");
        if (n <= 0)
            throw new UsageException($"{name} must be a positive integer, got {value}");
        if (n > max)
            throw new UsageException($"{name} must be at most {max.ToString(CultureInfo.InvariantCulture)}, got {value}");
        return (int)n;
    }

    private static double ParseLearningRate(string name, string value)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || double.IsNaN(x))
            throw new UsageException($"invalid value for {name}: '{value}' (expected a positive number such as 0.1)");
        if (!(x > 0) || double.IsInfinity(x))
            throw new UsageException($"{name} must be a positive finite number, got {value}");
        if ((float)x == 0f)
            throw new UsageException($"{name} is too small for single precision, got {value}");
        return x;
    }

    private static int ParseSeed(string name, string value)
    {
        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int s) || s < 0)
            throw new UsageException($"invalid value for {name}: '{value}' (expected an integer from 0 to {int.MaxValue.ToString(CultureInfo.InvariantCulture)})");
        return s;
    }
}
