using System.Reflection;
using FastBackprop.Hardware;

namespace FastBackprop.Cli;

/// <summary>
/// <c>fastbackprop [train|evaluate|predict|export|import|quantize|info|help] [options]</c>. With no command it trains (by default a 64-64-10
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

    public const string HelpText =
        """
        fastbackprop - train, evaluate and run multi-layer perceptrons on the CPU with FastBackprop

        Usage:
          fastbackprop [train] [options]       train a network (the default command)
          fastbackprop evaluate [options]      loss, accuracy and confusion matrix of a saved model
          fastbackprop predict [options]       predictions of a saved model for a CSV file
          fastbackprop export MODEL OUT.onnx   write a saved model as ONNX
          fastbackprop import MODEL.onnx OUT   read a dense network from ONNX into a model file
          fastbackprop quantize MODEL OUT      write a saved model with int8 weights, for serving
          fastbackprop info [--model MODEL]    the CPU and the kernel configuration chosen for it, or a model's layers
          fastbackprop help [COMMAND]          this help, or a command's
          fastbackprop --version               the version and the kernels in use

        Options given without a command are those of 'train'; 'COMMAND --help' lists each command's.
        With no options at all, train a 64-64-10 network on the embedded 8x8 digits for 30 epochs.

        Examples:
          fastbackprop --epochs 5
          fastbackprop train --csv data.csv --target label --save model.fbpm --plot loss.svg
          fastbackprop evaluate --model model.fbpm --csv test.csv --target label
          fastbackprop predict --model model.fbpm --csv new.csv --output predictions.csv

        Exit codes: 0 success, 1 bad data, bad model file or failed training, 2 command-line error
        (including missing input files and output paths that cannot be written), 130 interrupted with
        Ctrl+C, 143 stopped with SIGTERM. Every command stops at the first Ctrl+C or SIGTERM.
        """;

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
            int code = RunCommand(args, output, interactive, start, interrupt);
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

    /// <summary>Runs the command <paramref name="args"/> name (train when none) with the interrupt token.</summary>
    private static int RunCommand(IReadOnlyList<string> args, TextWriter output, bool interactive, long start, CancellationToken interrupt)
    {
        string command = args.Count > 0 && !args[0].StartsWith('-') ? args[0] : "";
        IReadOnlyList<string> rest = command.Length > 0 ? args.Skip(1).ToArray() : args;
        switch (command)
        {
            case "" when args.Count == 1 && args[0] is "-h" or "--help" or "-?":
                output.WriteLine(HelpText);
                return ExitOk;
            case "" when args.Count == 1 && args[0] is "--version":
                output.WriteLine($"{Name} {Version}");
                output.WriteLine($"kernels: {CpuInfo.Describe(KernelConfiguration.Current.InstructionSet)} on {CpuInfo.Current.Name} ({CpuInfo.Current.Microarchitecture}); 'info' for details");
                return ExitOk;
            case "" or "train":
                return TrainCommand.Run(rest, output, interactive, start, interrupt);
            case "evaluate" or "eval":
                return EvaluateCommand.Run(rest, output, interrupt);
            case "predict":
                return PredictCommand.Run(rest, output, interrupt);
            case "export":
                return OnnxCommands.Export(rest, output, interrupt);
            case "import":
                return OnnxCommands.Import(rest, output, interrupt);
            case "quantize":
                return QuantizeCommand.Run(rest, output, interrupt);
            case "info":
                return InfoCommand.Run(rest, output, interrupt);
            case "help":
                return Help(rest, output);
            default:
                throw new UsageException($"unknown command '{command}' (expected train, evaluate, predict, export, import, quantize, info or help; see --help)");
        }
    }

    private static int Help(IReadOnlyList<string> args, TextWriter output)
    {
        if (args.Count > 1)
            throw new UsageException("'help' takes at most one command name");
        string text = args.Count == 0 ? HelpText : args[0] switch
        {
            "train" => TrainSettings.Help,
            "evaluate" or "eval" => EvaluateCommand.Help,
            "predict" => PredictCommand.Help,
            "export" => OnnxCommands.ExportHelp,
            "import" => OnnxCommands.ImportHelp,
            "quantize" => QuantizeCommand.Help,
            "info" => InfoCommand.HelpText,
            _ => throw new UsageException($"unknown command '{args[0]}' (expected train, evaluate, predict, export, import, quantize or info)"),
        };
        output.WriteLine(text);
        return ExitOk;
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
