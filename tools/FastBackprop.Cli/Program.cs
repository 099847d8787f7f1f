using System.Reflection;
using FastBackprop.Hardware;

namespace FastBackprop.Cli;

/// <summary>
/// <c>fastbackprop [train|evaluate|predict|export|import|quantize|info|help] [options]</c>, parsed by System.CommandLine
/// (<see cref="CommandLine"/>; help is generated from the option definitions). With no command it trains (by default a 64-64-10
/// network on the embedded 8×8 digits) and reports held-out accuracy. Errors are one line on stderr: exit code 2 for
/// command-line mistakes (unknown options, bad values, input files that are missing, unreadable or not regular files,
/// output paths that cannot be written), 1 for bad data, bad model files and training failures, 130 when interrupted
/// with Ctrl+C and 143 when stopped with SIGTERM (<see cref="Interruption"/>).
/// </summary>
internal static class Program
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;
    public const int ExitInterrupted = 130;

    public const string Name = "fastbackprop";

    private static int Main(string[] args)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        using var interruption = Interruption.FromSignals();
        return Run(args, Console.Out, !Console.IsOutputRedirected, start, interruption);
    }

    /// <summary>Runs a command line, writing to <paramref name="output"/> and errors to stderr; returns the exit code.</summary>
    internal static int Run(IReadOnlyList<string> args, TextWriter output, bool interactive, long start, Interruption interruption)
    {
        CancellationToken interrupt = interruption.Token;
        try
        {
            int code = CommandLine.Run(args, new CommandContext(output, interactive, start, interrupt));
            // A command that stopped for the signal (training, after saving) returns ExitInterrupted; the signal decides
            // the code the process exits with.
            return code == ExitInterrupted ? interruption.ExitCode : code;
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            return Fail(interruption.ExitCode, interruption.Reason, output);
        }
        catch (UsageException e)
        {
            return Fail(ExitUsage, e.Message, output);
        }
        catch (DataFormatException e)
        {
            return Fail(ExitFailure, "bad data: " + e.Message, output);
        }
        catch (InvalidDataException e)
        {
            return Fail(ExitFailure, "bad model file: " + e.Message, output);
        }
        catch (Exception e) when (e is DataException or TrainingException)
        {
            return Fail(ExitFailure, e.Message, output);
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith(KernelConfiguration.EnvironmentVariable, StringComparison.Ordinal))
        {
            return Fail(ExitUsage, e.Message, output);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(ExitFailure, e.Message, output);
        }
        catch (ArgumentException e)
        {
            // The library checks what the CLI cannot know in advance (e.g. targets outside [0, 1] for binary-ce).
            string message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            return Fail(ExitFailure, message, output);
        }
        catch (Exception e)
        {
            return Fail(ExitFailure, $"unexpected {e.GetType().Name}: {e.Message}", output);
        }
    }

    /// <summary>Writes the version and the kernels in use (<c>--version</c>).</summary>
    internal static void WriteVersion(TextWriter output)
    {
        output.WriteLine($"{Name} {Version}");
        output.WriteLine($"kernels: {CpuInfo.Describe(KernelConfiguration.Current.InstructionSet)} on {CpuInfo.Current.Name} ({CpuInfo.Current.Microarchitecture}); 'info' for details");
    }

    private static string Version =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(Program).Assembly.GetName().Version?.ToString() ?? "unknown";

    private static int Fail(int code, string message, TextWriter output)
    {
        output.Flush();
        string oneLine = string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Console.Error.WriteLine($"{Name}: error: {Printable(oneLine)}");
        return code;
    }

    /// <summary>Control characters (C0, DEL, C1) as <c>\u001B</c>-style escapes: error messages quote data files, and a
    /// file's escape sequences must not reach the terminal.</summary>
    internal static string Printable(string text)
    {
        if (!text.Any(char.IsControl))
            return text;
        var builder = new System.Text.StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            if (char.IsControl(c))
                builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            else
                builder.Append(c);
        }
        return builder.ToString();
    }
}
