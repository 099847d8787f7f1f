using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>What a command runs with besides its options: where it writes, whether that is a terminal, when the
/// process started and the token the first Ctrl+C or SIGTERM cancels.</summary>
internal sealed record CommandContext(TextWriter Output, bool Interactive, long Start, CancellationToken Interrupt);

/// <summary>A command of the tool: its options and arguments (System.CommandLine symbols, defined once each), the text
/// its help shows after the generated usage and option list, and the method that runs it.</summary>
internal sealed class CliCommand : Command
{
    public CliCommand(string name, string description, IEnumerable<Symbol> children, Func<ParsedArgs, CommandContext, int> run)
        : base(name, description)
    {
        Run = run;
        foreach (Symbol child in children)
        {
            switch (child)
            {
                case Option option:
                    Options.Add(option);
                    break;
                case Argument argument:
                    Arguments.Add(argument);
                    break;
                default:
                    throw new ArgumentException($"not an option or argument: {child}", nameof(children));
            }
        }
    }

    public Func<ParsedArgs, CommandContext, int> Run { get; }

    /// <summary>Help text after the options: how they go together, what the command prints, examples.</summary>
    public string? Notes { get; init; }

    /// <summary>For a command whose arguments are file names: the one-line message when they are not what it takes,
    /// given the arguments there are.</summary>
    public Func<IReadOnlyList<string>, string>? WrongArguments { get; init; }
}

/// <summary>
/// The command line of the tool on System.CommandLine: the commands (<see cref="Commands"/>), parsing, help generated
/// from the option definitions, completion (the <c>[suggest]</c> directive) and the mapping of parse errors to one line
/// for exit code 2 (<see cref="UsageException"/>). A command line that starts with an option, or is empty, is train's.
/// </summary>
internal static class CommandLine
{
    /// <summary>The widest help line when the output is not a terminal (a terminal's width, up to this, otherwise).</summary>
    public const int HelpWidth = 110;

    private static readonly ParserConfiguration Configuration = new()
    {
        // "@file" is a value like any other (a response file would take a path or a label starting with @ as a file
        // of arguments to read), and there are no one-letter options to bundle.
        ResponseFileTokenReplacer = null,
        EnablePosixBundling = false,
    };

    private static readonly Lazy<RootCommand> LazyRoot = new(BuildRoot);

    /// <summary>The tool's commands, in the order help lists them.</summary>
    public static IReadOnlyList<CliCommand> Commands { get; } =
    [
        TrainCommand.Definition, EvaluateCommand.Definition, PredictCommand.Definition, OnnxCommands.ExportDefinition,
        OnnxCommands.ImportDefinition, QuantizeCommand.Definition, InfoCommand.Definition, HelpDefinition(),
    ];

    public static RootCommand Root => LazyRoot.Value;

    private static RootCommand BuildRoot()
    {
        var root = new RootCommand("train, evaluate and run multi-layer perceptrons on the CPU with FastBackprop")
        {
            HelpName = Program.Name,
        };
        foreach (CliCommand command in Commands)
            root.Subcommands.Add(command);
        // The root runs nothing (a command line without a command is train's), but with an action of its own the parser
        // reports an unknown command as such, not also as a missing one.
        root.SetAction(_ => Program.ExitUsage);
        if (root.Options.OfType<HelpOption>().Single().Action is HelpAction help)
            help.MaxWidth = HelpWidthForConsole();
        return root;
    }

    private static int HelpWidthForConsole()
    {
        try
        {
            return Console.IsOutputRedirected ? HelpWidth : Math.Clamp(Console.WindowWidth, 60, HelpWidth);
        }
        catch (IOException)
        {
            return HelpWidth;
        }
    }

    /// <summary>The root help's text after its commands and options.</summary>
    private const string RootNotes =
        """
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
        Errors are one line on stderr.

        Completion: System.CommandLine's [suggest:POSITION] directive, which dotnet-suggest runs for the
        shell: fastbackprop [suggest:17] "fastbackprop --ep" prints --epochs.
        """;

    private static CliCommand HelpDefinition()
    {
        var name = new Argument<string?>("COMMAND") { Arity = ArgumentArity.ZeroOrOne, HelpName = "COMMAND", Description = "the command whose help to show" };
        name.CompletionSources.Add(_ => Commands.Select(c => new CompletionItem(c.Name)));
        return new CliCommand("help", "this help, or a command's", [name], (args, context) =>
        {
            string? command = args.Value(name);
            if (command is not null && !Commands.Any(c => c.Name == command || c.Aliases.Contains(command)))
                throw new UsageException($"unknown command '{command}' (expected {CliOption.JoinChoices(Commands.Select(c => c.Name))})");
            WriteHelp(Root.Parse(command is null ? ["--help"] : [command, "--help"], Configuration), context.Output);
            return Program.ExitOk;
        });
    }

    /// <summary>The command line as parsed: <paramref name="args"/> with <c>train</c> put first when they name no
    /// command (nothing, or an option first), except for the root's own <c>--help</c> and <c>--version</c> and for
    /// directives such as <c>[suggest]</c>.</summary>
    internal static IReadOnlyList<string> WithCommand(IReadOnlyList<string> args)
    {
        if (args.Count == 1 && args[0] is "-h" or "--help" or "-?" or "--version")
            return args;
        if (args.Count > 0 && args[0].StartsWith('[') && args[0].EndsWith(']'))
            return SuggestWithCommand(args);
        return args.Count == 0 || args[0].StartsWith('-') ? ["train", .. args] : args;
    }

    /// <summary>The <c>[suggest:POSITION] "COMMAND LINE"</c> directive (what dotnet-suggest runs for a shell's completion)
    /// with <c>train</c> put into a command line that starts with an option, as <see cref="WithCommand"/> does for the
    /// command line itself: <c>fastbackprop --ep</c> completes to train's <c>--epochs</c>.</summary>
    private static IReadOnlyList<string> SuggestWithCommand(IReadOnlyList<string> args)
    {
        const string Directive = "[suggest:";
        if (!args[0].StartsWith(Directive, StringComparison.Ordinal))
            return args;
        if (!int.TryParse(args[0][Directive.Length..^1], NumberStyles.None, CultureInfo.InvariantCulture, out int position)
            || args.Count != 2 || position > args[1].Length)
            throw new UsageException($"{args[0]}: the suggest directive takes the cursor position in the command line after it, e.g. [suggest:17] \"fastbackprop --ep\"");
        string text = args[1];
        int start = SkipSpaces(text, 0);
        int end = start;
        while (end < text.Length && !char.IsWhiteSpace(text[end]))
            end++;
        // The line starts with the program's name (anything that is neither an option nor a command).
        string first = text[start..end];
        if (first.Length > 0 && !first.StartsWith('-') && !Root.Subcommands.Any(c => c.Name == first || c.Aliases.Contains(first)))
            start = SkipSpaces(text, end);
        if (start >= text.Length || text[start] != '-')
            return args;
        const string Train = "train ";
        return [$"{Directive}{(position >= start ? position + Train.Length : position).ToString(CultureInfo.InvariantCulture)}]", text[..start] + Train + text[start..]];

        static int SkipSpaces(string text, int i)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
                i++;
            return i;
        }
    }

    /// <summary>Parses a command line for its command's options; a mistake is a <see cref="UsageException"/>.</summary>
    public static ParsedArgs Parse(IReadOnlyList<string> args)
    {
        IReadOnlyList<string> line = WithCommand(args);
        ParseResult result = Root.Parse(line, Configuration);
        if (Error(result, line) is string message)
            throw new UsageException(message);
        return new ParsedArgs(result);
    }

    /// <summary>Runs a command line: help, the version, completions or the command it names.</summary>
    public static int Run(IReadOnlyList<string> args, CommandContext context)
    {
        IReadOnlyList<string> line = WithCommand(args);
        ParseResult result = Root.Parse(line, Configuration);
        if (result.Action is HelpAction)
        {
            WriteHelp(result, context.Output);
            return Program.ExitOk;
        }
        if (Root.Directives.Any(d => result.GetResult(d) is not null))
            return result.Invoke(Invocation(context.Output, Console.Error));
        if (Error(result, line) is string message)
            throw new UsageException(message);
        if (Root.Options.OfType<VersionOption>().Any(v => result.GetResult(v) is not null))
        {
            Program.WriteVersion(context.Output);
            return Program.ExitOk;
        }
        if (result.CommandResult.Command is CliCommand command)
            return command.Run(new ParsedArgs(result), context);
        WriteHelp(Root.Parse(["--help"], Configuration), context.Output);
        return Program.ExitOk;
    }

    private static InvocationConfiguration Invocation(TextWriter output, TextWriter error) => new()
    {
        Output = output,
        Error = error,
        EnableDefaultExceptionHandler = false,
        // Interruption handles Ctrl+C and SIGTERM.
        ProcessTerminationTimeout = null,
    };

    /// <summary>Writes the help of the command <paramref name="result"/> asks it for: a title line, the usage, arguments,
    /// options and commands as System.CommandLine generates them from their definitions, then the command's notes.</summary>
    private static void WriteHelp(ParseResult result, TextWriter output)
    {
        var generated = new StringWriter(CultureInfo.InvariantCulture);
        result.Invoke(Invocation(generated, generated));
        string text = generated.ToString().ReplaceLineEndings("\n");
        Command command = result.CommandResult.Command;
        // The generated help opens with a "Description:" section; the title line says the same in the tool's style.
        int firstBreak = text.IndexOf("\n\n", StringComparison.Ordinal);
        if (text.StartsWith("Description:", StringComparison.Ordinal) && firstBreak >= 0)
            text = text[(firstBreak + 2)..];
        output.WriteLine(command is RootCommand ? $"{Program.Name} - {command.Description}" : $"{Program.Name} {command.Name} - {command.Description}");
        output.WriteLine();
        // Lines the generated help wraps end in the space they were broken at.
        output.WriteLine(string.Join('\n', text.TrimEnd().Split('\n').Select(line => line.TrimEnd())));
        string? notes = command is RootCommand ? RootNotes : (command as CliCommand)?.Notes;
        if (notes is not null)
        {
            output.WriteLine();
            output.WriteLine(notes.TrimEnd());
        }
    }

    /// <summary>The first mistake in a parsed command line as one line, or null: a value given to a flag, an option
    /// given twice, an option without its values, then the parser's errors (values that fail their checks, unknown
    /// options and arguments, with System.CommandLine's suggestions).</summary>
    private static string? Error(ParseResult result, IReadOnlyList<string> line)
    {
        CommandResult commandResult = result.CommandResult;
        Command command = commandResult.Command;
        foreach (string arg in line)
        {
            int separator = arg.IndexOfAny(['=', ':']);
            if (!arg.StartsWith("--", StringComparison.Ordinal) || separator < 0)
                continue;
            string name = arg[..separator];
            if (command.Options.FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name)) is { Arity.MaximumNumberOfValues: 0 } flag)
                return $"option {flag.Name} takes no value (got '{arg}')";
        }
        OptionResult[] options = [.. commandResult.Children.OfType<OptionResult>().Where(o => !o.Implicit)];
        if (options.FirstOrDefault(o => o.IdentifierTokenCount > 1) is { } twice)
            return $"option {twice.Option.Name} is given more than once";
        foreach (OptionResult option in options)
        {
            // An option's values never start with "--": "--epochs --lr 0.1" lacks the value of --epochs.
            int values = 0;
            while (values < option.Tokens.Count && !LooksLikeOption(option.Tokens[values].Value))
                values++;
            if (values < option.Option.Arity.MinimumNumberOfValues)
                return NeedsValues(option.Option, values);
        }
        if (result.Errors.Count == 0)
            return null;

        string[] unmatched = [.. result.UnmatchedTokens];
        string? unknownOption = unmatched.FirstOrDefault(t => t.StartsWith('-'));
        if (unknownOption is null && command is CliCommand { WrongArguments: { } wrongArguments }
            && (unmatched.Length > 0 || result.Errors.Any(e => e.SymbolResult is ArgumentResult { Argument: var a } && command.Arguments.Contains(a))))
        {
            string[] given = [.. command.Arguments.SelectMany(a => result.GetResult(a)?.Tokens.Select(t => t.Value) ?? []), .. unmatched];
            return wrongArguments(given);
        }

        ParseError first = result.Errors[0];
        if (first.SymbolResult is OptionResult missing && missing.Tokens.Count < missing.Option.Arity.MinimumNumberOfValues)
            return NeedsValues(missing.Option, missing.Tokens.Count);
        if (unmatched.Length > 0)
        {
            string token = unknownOption ?? unmatched[0];
            ParseError error = result.Errors.FirstOrDefault(e => e.SymbolResult is CommandResult && e.Message.Contains($"'{token}'", StringComparison.Ordinal)) ?? first;
            string[] suggestions = Suggestions(result, token);
            string help = command is RootCommand ? $"{Program.Name} --help" : $"{command.Name} --help";
            return error.Message.TrimEnd('.')
                + (command is RootCommand ? "" : $" for '{command.Name}'")
                + (suggestions.Length > 0 ? $"; did you mean {CliOption.JoinChoices(suggestions)}?" : "")
                + $" (see '{help}')";
        }
        return first.Message;
    }

    private static bool LooksLikeOption(string token) => token.StartsWith("--", StringComparison.Ordinal) && token.Length > 2;

    private static string NeedsValues(Option option, int got) => option.Arity.MaximumNumberOfValues == 1
        ? $"option {option.Name} needs a value"
        : $"option {option.Name} needs {option.Arity.MaximumNumberOfValues} values, got {got}";

    /// <summary>System.CommandLine's typo corrections for an unknown token: the options (or, for a word, the commands)
    /// closest to it. They are what its parse-error action writes to the output before the errors: a line naming the
    /// token in quotes, then one suggestion per line.</summary>
    private static string[] Suggestions(ParseResult result, string token)
    {
        if (result.Action is not ParseErrorAction action)
            return [];
        action.ShowHelp = false;
        action.ShowTypoCorrections = true;
        var corrections = new StringWriter(CultureInfo.InvariantCulture);
        result.Invoke(Invocation(corrections, TextWriter.Null));
        var suggestions = new List<string>();
        bool inToken = false;
        foreach (string line in corrections.ToString().ReplaceLineEndings("\n").Split('\n', StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('\''))
                inToken = line.StartsWith($"'{token}'", StringComparison.Ordinal);
            else if (line.Length == 0)
                inToken = false;
            else if (inToken && line.StartsWith('-') == token.StartsWith('-'))
                suggestions.Add(line);
        }
        return [.. suggestions.Distinct()];
    }
}
