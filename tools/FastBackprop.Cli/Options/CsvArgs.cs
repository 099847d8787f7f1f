using System.CommandLine;
using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>The CSV options shared by train, evaluate, predict and quantize: --target, --header, --separator, --text-labels.</summary>
internal static class CsvArgs
{
    private static readonly Dictionary<string, CsvHeader> Headers = new()
    {
        ["auto"] = CsvHeader.Auto,
        ["yes"] = CsvHeader.Yes,
        ["no"] = CsvHeader.No,
    };

    public static readonly Option<string?> Target = CliOption.Text("--target", "NAME|INDEX",
        "the target column: a header name, or a 0-based index (negative counts from the end; default -1, the last column)");
    public static readonly Option<CsvHeader?> Header = CliOption.Choice("--header", Headers, "yes|no|auto",
        "whether the first row holds column names (default auto: yes if no feature cell of the first row is a number; a first row of numbers and text is refused as a malformed data row)");
    public static readonly Option<string?> Separator = CliOption.Text("--separator", "C",
        "cell separator: one character, or comma, semicolon, tab, pipe (comma)");
    public static readonly Option<bool> TextLabels = CliOption.Flag("--text-labels",
        "take every class label as text: \"1\" and \"1.0\" are two classes, and labels that are numbers in all but a few rows load (by default both are refused)");

    /// <summary>The CSV options, which go with --csv.</summary>
    public static readonly Option[] Options = [Target, Header, Separator, TextLabels];

    /// <summary>CSV options from the command line; <paramref name="task"/> and <paramref name="classLabels"/> as given.</summary>
    public static CsvOptions Build(ParsedArgs args, CsvTask task, IReadOnlyList<string>? classLabels = null)
    {
        CsvHeader header = args.Value(Header) ?? CsvHeader.Auto;
        char separator = ParseSeparator(args.Value(Separator));
        string? target = args.Value(Target);
        int targetIndex = -1;
        string? targetName = null;
        if (target is not null)
        {
            if (int.TryParse(target, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int index))
                targetIndex = index;
            else if (target.Length > 0)
                targetName = target;
            else
                throw new UsageException("--target needs a column name or index");
            if (targetName is not null && header == CsvHeader.No)
                throw new UsageException($"--target '{targetName}' names a column, but --header no says the file has no header");
        }
        return new CsvOptions
        {
            Header = header,
            Separator = separator,
            TargetColumn = targetIndex,
            TargetColumnName = targetName,
            Task = task,
            ClassLabels = classLabels,
            TextLabels = args.Has(TextLabels),
            Limits = LimitArgs.Parse(args).Data,
        };
    }

    /// <summary>Loads a labelled CSV file (checked by <see cref="FileArgs.CheckInput"/>), stopping at the first read after
    /// <paramref name="interrupt"/> is cancelled.</summary>
    public static Dataset<float> Load(string path, CsvOptions? options, CancellationToken interrupt)
    {
        using Stream file = FileArgs.OpenRead(path, interrupt);
        return CsvLoader.Load<float>(file, options, path);
    }

    /// <summary>Loads the features of a CSV file for prediction, as <see cref="Load"/> loads a labelled one.</summary>
    public static CsvFeatures<float> LoadFeatures(string path, CsvOptions options, bool dropTargetColumn, CancellationToken interrupt)
    {
        using Stream file = FileArgs.OpenRead(path, interrupt);
        return CsvLoader.LoadFeatures<float>(file, options, dropTargetColumn, path);
    }

    /// <summary><paramref name="options"/> with other class labels and limits (e.g. a test file read with the training
    /// file's classes).</summary>
    public static CsvOptions With(CsvOptions options, IReadOnlyList<string>? classLabels, DataLimits limits) => new()
    {
        Header = options.Header,
        Separator = options.Separator,
        TargetColumn = options.TargetColumn,
        TargetColumnName = options.TargetColumnName,
        Task = options.Task,
        ClassLabels = classLabels,
        TextLabels = options.TextLabels,
        Limits = limits,
    };

    internal static char ParseSeparator(string? value) => value?.ToLowerInvariant() switch
    {
        null or "comma" or "," => ',',
        "semicolon" or ";" => ';',
        "tab" or "\\t" or "\t" => '\t',
        "pipe" or "|" => '|',
        "space" => CheckSeparator(' '),
        { Length: 1 } s => CheckSeparator(s[0]),
        _ => throw new UsageException($"invalid value for --separator: '{value}' (expected one character, or comma, semicolon, tab or pipe)"),
    };

    /// <summary>A one-character separator, refused here (a usage error) when no CSV file could use it, rather than by the
    /// loader after the model or data are read.</summary>
    private static char CheckSeparator(char c) => c switch
    {
        ' ' => throw new UsageException("--separator: a space cannot separate cells (the loader trims spaces around cells)"),
        '"' => throw new UsageException("--separator: a double quote cannot separate cells (it quotes them)"),
        _ when char.IsControl(c) || char.IsWhiteSpace(c) || char.IsSurrogate(c) => throw new UsageException(
            string.Create(CultureInfo.InvariantCulture, $"--separator: U+{(int)c:X4} cannot separate cells (a line break, control, space or half character); use comma, semicolon, tab, pipe or another visible character")),
        _ when char.IsAsciiDigit(c) || c is '.' or '-' or '+' => throw new UsageException($"--separator: '{c}' cannot separate cells: it is part of numbers"),
        _ => c,
    };
}
