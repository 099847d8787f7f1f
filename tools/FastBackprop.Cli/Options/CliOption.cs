using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>
/// The kinds of option the commands take, each a System.CommandLine <see cref="Option{T}"/> defined once with its name,
/// alias, description and value placeholder: help, completion and "did you mean" suggestions come from that definition.
/// Values are checked while the command line is parsed (a number in range, a choice, a list of integers), with messages
/// that name the option; a value that fails is a parse error (<see cref="CommandLine"/>: one line, exit code 2). An
/// option not given reads as null (or false for a flag): the defaults that depend on other options are the commands'.
/// </summary>
internal static class CliOption
{
    /// <summary>An option without a value.</summary>
    public static Option<bool> Flag(string name, string description) => new(name)
    {
        Description = description,
        Arity = ArgumentArity.Zero,
    };

    /// <summary>An option with one value, taken as given (a path, a column name).</summary>
    public static Option<string?> Text(string name, string helpName, string description, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        HelpName = helpName,
        Arity = ArgumentArity.ExactlyOne,
    };

    /// <summary>An option with <paramref name="count"/> values after it, e.g. <c>--idx IMAGES LABELS</c>.</summary>
    public static Option<string[]?> Values(string name, int count, string helpName, string description) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Arity = new ArgumentArity(count, count),
        AllowMultipleArgumentsPerToken = true,
    };

    /// <summary>An integer in [min, max].</summary>
    public static Option<int?> Int(string name, int min, int max, string helpName, string description, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        HelpName = helpName,
        Arity = ArgumentArity.ExactlyOne,
        CustomParser = result =>
        {
            string s = Value(result);
            if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
                return Error<int?>(result, $"invalid value for {name}: '{s}' (expected an integer)");
            if (n < min || n > max)
                return Error<int?>(result, Invariant($"{name} must be between {min} and {max}, got {s}"));
            return (int)n;
        },
    };

    /// <summary>A finite number in [min, max] (or (min, max] when <paramref name="exclusiveMin"/>).</summary>
    public static Option<double?> Double(string name, double min, double max, string helpName, string description, bool exclusiveMin = false, params string[] aliases) => new(name, aliases)
    {
        Description = description,
        HelpName = helpName,
        Arity = ArgumentArity.ExactlyOne,
        CustomParser = result =>
        {
            string s = Value(result);
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
                return Error<double?>(result, $"invalid value for {name}: '{s}' (expected a number such as 0.1)");
            bool ok = exclusiveMin ? x > min : x >= min;
            if (!ok || x > max)
            {
                return Error<double?>(result, exclusiveMin
                    ? Invariant($"{name} must be greater than {min} and at most {max}, got {s}")
                    : Invariant($"{name} must be between {min} and {max}, got {s}"));
            }
            return x;
        },
    };

    /// <summary>One of <paramref name="choices"/> (case-insensitive); their names are the completions.</summary>
    public static Option<T?> Choice<T>(string name, IReadOnlyDictionary<string, T> choices, string helpName, string description) where T : struct
    {
        var option = new Option<T?>(name)
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.ExactlyOne,
            CustomParser = result =>
            {
                string s = Value(result);
                if (choices.TryGetValue(s.ToLowerInvariant(), out T value))
                    return value;
                return Error<T?>(result, $"invalid value for {name}: '{s}' (expected {JoinChoices(choices.Keys)})");
            },
        };
        // Only these names: not also the enum's member names, which System.CommandLine offers for an enum by default.
        option.CompletionSources.Clear();
        option.CompletionSources.Add([.. choices.Keys]);
        return option;
    }

    /// <summary>A comma-separated list of integers in [min, max], e.g. <c>256,128</c>.</summary>
    public static Option<int[]?> IntList(string name, int min, int max, string helpName, string description) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Arity = ArgumentArity.ExactlyOne,
        CustomParser = result =>
        {
            string s = Value(result);
            string[] parts = s.Split(',', StringSplitOptions.TrimEntries);
            var list = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
                    return Error<int[]?>(result, Invariant($"invalid value for {name}: '{s}' (expected a comma-separated list of integers from {min} to {max}, such as 256,128)"));
                list[i] = n;
            }
            return list;
        },
    };

    /// <summary>"a, b or c".</summary>
    public static string JoinChoices(IEnumerable<string> choices)
    {
        string[] list = choices.ToArray();
        return list.Length <= 1 ? string.Join("", list) : string.Join(", ", list[..^1]) + " or " + list[^1];
    }

    /// <summary>The value of a one-value option (the parser has checked there is one; the last when it was given twice,
    /// which <see cref="CommandLine"/> reports before any value).</summary>
    private static string Value(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";

    private static T Error<T>(ArgumentResult result, string message)
    {
        result.AddError(message);
        return default!;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
