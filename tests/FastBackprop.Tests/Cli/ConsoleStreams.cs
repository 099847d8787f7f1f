using System.Globalization;

namespace FastBackprop.Tests.Cli;

/// <summary>Tests that replace <see cref="Console.Error"/> or <see cref="Console.Out"/> (process-wide) to read what the
/// program printed: run one at a time, or one test reads another's lines.</summary>
[CollectionDefinition(nameof(ConsoleStreams), DisableParallelization = true)]
public sealed class ConsoleStreams
{
    /// <summary>Runs the program in-process as a user would from a shell with no signal pending: its exit code, what it
    /// wrote to standard output and to standard error. Only for tests in this collection.</summary>
    public static (int Code, string Output, string Errors) RunProgram(params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var errors = new StringWriter(CultureInfo.InvariantCulture);
        TextWriter saved = Console.Error;
        Console.SetError(errors);
        using var noSignal = new FastBackprop.Cli.Interruption();
        try
        {
            int code = FastBackprop.Cli.Program.Run(args, output, interactive: false, System.Diagnostics.Stopwatch.GetTimestamp(), noSignal);
            return (code, output.ToString(), errors.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }
}
