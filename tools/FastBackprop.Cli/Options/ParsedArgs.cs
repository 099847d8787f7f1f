using System.CommandLine;
using System.CommandLine.Parsing;

namespace FastBackprop.Cli;

/// <summary>A mistake in the command line: reported as one line on stderr with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// A command line parsed without errors by <see cref="CommandLine"/>, as its command reads it: the values of the
/// options (checked by the parser, <see cref="CliOption"/>), the checks that need the file system (input files that
/// must exist, <see cref="FileArgs"/>) and the rules between options (<see cref="Exclusive"/>, <see cref="Requires"/>).
/// </summary>
internal sealed class ParsedArgs
{
    private readonly ParseResult result;

    internal ParsedArgs(ParseResult result)
    {
        this.result = result;
        Command = result.CommandResult.Command.Name;
    }

    /// <summary>The command these options belong to (for messages).</summary>
    public string Command { get; }

    /// <summary>Parses a whole command line (<c>train --epochs 5</c>; a command line without a command is train's);
    /// a mistake is a <see cref="UsageException"/>. For tests and callers that need the options, not the command run.</summary>
    public static ParsedArgs Parse(IReadOnlyList<string> args) => CommandLine.Parse(args);

    /// <summary>Whether the option was given.</summary>
    public bool Has(Option option) => result.GetResult(option) is { Implicit: false };

    /// <summary>The option's value, or null (false for a flag) when it was not given.</summary>
    public T? Value<T>(Option<T> option) => Has(option) ? result.GetValue(option) : default;

    /// <summary>A command's positional argument, or null.</summary>
    public T? Value<T>(Argument<T> argument) => result.GetValue(argument);

    /// <summary>The paths of an option, each checked to be a readable regular file (<see cref="FileArgs.CheckInput"/>).</summary>
    public string[]? Files(Option<string[]?> option)
    {
        string[]? paths = Value(option);
        if (paths is null)
            return null;
        foreach (string path in paths)
            FileArgs.CheckInput(option.Name, path);
        return paths;
    }

    /// <summary>The path of a one-value option, checked as <see cref="Files"/> does.</summary>
    public string? File(Option<string?> option)
    {
        string? path = Value(option);
        if (path is not null)
            FileArgs.CheckInput(option.Name, path);
        return path;
    }

    /// <summary>Fails when two options that exclude each other are both given.</summary>
    public void Exclusive(params Option[] options)
    {
        string[] given = options.Where(Has).Select(o => o.Name).ToArray();
        if (given.Length > 1)
            throw new UsageException($"options {string.Join(" and ", given)} cannot be used together");
    }

    /// <summary>Fails when <paramref name="option"/> is given without <paramref name="requires"/> (any of them).</summary>
    public void Requires(Option option, params Option[] requires)
    {
        if (Has(option) && !requires.Any(Has))
            throw new UsageException($"option {option.Name} needs {string.Join(" or ", requires.Select(o => o.Name))}");
    }
}
