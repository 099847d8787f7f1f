namespace FastBackprop.Cli;

/// <summary>
/// <c>fastbackprop-cli [train] [--problem digits|xor|sine] [--epochs N] [--batch N] [--lr X] [--seed N] [--hidden N]</c>.
/// With no arguments it trains a 64-64-10 network on the embedded 8×8 digits and reports held-out accuracy.
/// Errors are one line on stderr: exit code 2 for command-line mistakes, 1 for data or training failures.
/// </summary>
internal static class Program
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    private static int Main(string[] args)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            CliOptions options = CliOptions.Parse(args);
            if (options.Help)
            {
                Console.Out.WriteLine(CliOptions.HelpText);
                return ExitOk;
            }

            HyperParameters defaults = Problems.Defaults(options.Problem);
            var hp = new HyperParameters(
                options.Epochs ?? defaults.Epochs,
                options.Batch ?? defaults.Batch,
                options.LearningRate ?? defaults.LearningRate,
                options.Hidden ?? defaults.Hidden);

            Problem problem = Problems.Create(options.Problem, hp.Hidden, options.Seed);
            bool interactive = !Console.IsOutputRedirected;
            return new Trainer(problem, hp, options.Seed, Console.Out, interactive, start).Run();
        }
        catch (UsageException e)
        {
            return Fail(ExitUsage, e.Message);
        }
        catch (TrainingException e)
        {
            return Fail(ExitFailure, e.Message);
        }
        catch (InvalidDataException e)
        {
            return Fail(ExitFailure, "bad data: " + e.Message);
        }
        catch (Exception e)
        {
            return Fail(ExitFailure, $"unexpected {e.GetType().Name}: {e.Message}");
        }
    }

    private static int Fail(int code, string message)
    {
        Console.Out.Flush();
        string oneLine = string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Console.Error.WriteLine($"fastbackprop-cli: error: {oneLine}");
        return code;
    }
}
