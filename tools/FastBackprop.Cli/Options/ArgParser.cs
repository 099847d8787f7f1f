using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>A mistake in the command line: reported as one line on stderr with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>An option a command accepts: its name (with the leading dashes) and how many values follow it (0 for a flag).</summary>
internal readonly record struct OptionSpec(string Name, int Arity, string? Alias = null);

/// <summary>
/// The options of one command, split from the argument list: <c>--name value</c>, <c>--name=value</c> (one-value
/// options), <c>--name v1 v2</c> (two-value options such as <c>--idx IMAGES LABELS</c>) and flags. Every option may be
/// given once; unknown options, missing values and stray arguments are <see cref="UsageException"/>s. The typed
/// accessors check values and name the option in their errors.
/// </summary>
internal sealed class ParsedArgs
{
    private readonly Dictionary<string, string[]> values;

    private ParsedArgs(string command, Dictionary<string, string[]> values, bool help)
    {
        Command = command;
        this.values = values;
        Help = help;
    }

    /// <summary>The command these options belong to (for messages).</summary>
    public string Command { get; }

    /// <summary>Whether -h/--help was given.</summary>
    public bool Help { get; }

    /// <summary>Splits <paramref name="args"/> (the command's arguments, without the command name) by <paramref name="specs"/>.</summary>
    public static ParsedArgs Parse(string command, IReadOnlyList<string> args, IReadOnlyList<OptionSpec> specs)
    {
        var byName = new Dictionary<string, OptionSpec>(StringComparer.Ordinal);
        foreach (OptionSpec spec in specs)
        {
            byName[spec.Name] = spec;
            if (spec.Alias is not null)
                byName[spec.Alias] = spec;
        }

        var values = new Dictionary<string, string[]>(StringComparer.Ordinal);
        bool help = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                help = true;
                continue;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                throw new UsageException($"unexpected argument '{arg}' for '{command}' (see '{command} --help')");

            string name = arg;
            string? inline = null;
            int eq = arg.IndexOf('=');
            if (eq >= 0)
            {
                name = arg[..eq];
                inline = arg[(eq + 1)..];
            }
            if (!byName.TryGetValue(name, out OptionSpec spec))
                throw new UsageException($"unknown option '{name}' for '{command}'{Suggest(name, specs)}; see '{command} --help'");
            if (values.ContainsKey(spec.Name))
                throw new UsageException($"option {spec.Name} is given more than once");

            string[] taken;
            if (spec.Arity == 0)
            {
                if (inline is not null)
                    throw new UsageException($"option {spec.Name} takes no value (got '{arg}')");
                taken = [];
            }
            else if (inline is not null)
            {
                if (spec.Arity != 1)
                    throw new UsageException($"option {spec.Name} takes {spec.Arity} values: write them after it, separated by spaces");
                if (inline.Length == 0)
                    throw new UsageException($"option {spec.Name} needs a value");
                taken = [inline];
            }
            else
            {
                taken = new string[spec.Arity];
                for (int k = 0; k < spec.Arity; k++)
                {
                    if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                        throw new UsageException(spec.Arity == 1
                            ? $"option {spec.Name} needs a value"
                            : $"option {spec.Name} needs {spec.Arity} values, got {k}");
                    taken[k] = args[++i];
                }
            }
            values[spec.Name] = taken;
        }
        return new ParsedArgs(command, values, help);
    }

    /// <summary>Whether the option was given.</summary>
    public bool Has(string name) => values.ContainsKey(name);

    /// <summary>The single value of a one-value option, or null.</summary>
    public string? String(string name) => values.TryGetValue(name, out string[]? v) ? v[0] : null;

    /// <summary>The values of an option, or null.</summary>
    public string[]? Values(string name) => values.TryGetValue(name, out string[]? v) ? v : null;

    /// <summary>Names of the options given, in no particular order.</summary>
    public IEnumerable<string> Given => values.Keys;

    public int? Int(string name, int min, int max)
    {
        string? s = String(name);
        if (s is null)
            return null;
        if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
            throw new UsageException($"invalid value for {name}: '{s}' (expected an integer)");
        if (n < min || n > max)
            throw new UsageException(Invariant($"{name} must be between {min} and {max}, got {s}"));
        return (int)n;
    }

    /// <summary>A finite number in [min, max] (or (min, max] when <paramref name="exclusiveMin"/>).</summary>
    public double? Double(string name, double min, double max, bool exclusiveMin = false)
    {
        string? s = String(name);
        if (s is null)
            return null;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
            throw new UsageException($"invalid value for {name}: '{s}' (expected a number such as 0.1)");
        bool ok = exclusiveMin ? x > min : x >= min;
        if (!ok || x > max)
            throw new UsageException(exclusiveMin
                ? Invariant($"{name} must be greater than {min} and at most {max}, got {s}")
                : Invariant($"{name} must be between {min} and {max}, got {s}"));
        return x;
    }

    /// <summary>One of <paramref name="choices"/> (case-insensitive).</summary>
    public T? Choice<T>(string name, IReadOnlyDictionary<string, T> choices) where T : struct
    {
        string? s = String(name);
        if (s is null)
            return null;
        if (choices.TryGetValue(s.ToLowerInvariant(), out T value))
            return value;
        throw new UsageException($"invalid value for {name}: '{s}' (expected {JoinChoices(choices.Keys)})");
    }

    /// <summary>A comma-separated list of integers in [min, max], e.g. <c>256,128</c>.</summary>
    public int[]? IntList(string name, int min, int max)
    {
        string? s = String(name);
        if (s is null)
            return null;
        string[] parts = s.Split(',', StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
                throw new UsageException(Invariant($"invalid value for {name}: '{s}' (expected a comma-separated list of integers from {min} to {max}, such as 256,128)"));
            result[i] = n;
        }
        return result;
    }

    /// <summary>The paths of an option, each checked to be a readable regular file (<see cref="FileArgs.CheckInput"/>).</summary>
    public string[]? Files(string name)
    {
        string[]? paths = Values(name);
        if (paths is null)
            return null;
        foreach (string path in paths)
            FileArgs.CheckInput(name, path);
        return paths;
    }

    /// <summary>The path of a one-value option, checked as <see cref="Files"/> does.</summary>
    public string? File(string name) => Files(name)?[0];

    /// <summary>Fails when two options that exclude each other are both given.</summary>
    public void Exclusive(params string[] names)
    {
        string[] given = names.Where(Has).ToArray();
        if (given.Length > 1)
            throw new UsageException($"options {string.Join(" and ", given)} cannot be used together");
    }

    /// <summary>Fails when <paramref name="name"/> is given without <paramref name="requires"/> (any of them).</summary>
    public void Requires(string name, params string[] requires)
    {
        if (Has(name) && !requires.Any(Has))
            throw new UsageException($"option {name} needs {string.Join(" or ", requires)}");
    }

    public static string JoinChoices(IEnumerable<string> choices)
    {
        string[] list = choices.ToArray();
        return list.Length <= 1 ? string.Join("", list) : string.Join(", ", list[..^1]) + " or " + list[^1];
    }

    private static string Suggest(string name, IReadOnlyList<OptionSpec> specs)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (OptionSpec spec in specs)
        {
            int d = Distance(name, spec.Name);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = spec.Name;
            }
        }
        return best is not null && bestDistance <= Math.Max(2, name.Length / 4) ? $"; did you mean {best}?" : "";
    }

    /// <summary>Levenshtein distance.</summary>
    internal static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
            previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
