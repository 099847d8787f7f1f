using System.Globalization;

namespace FastBackprop;

/// <summary>
/// Bounds on what a data file may make the loaders read or allocate, so a hostile or mistaken file (a gzip bomb, a
/// "line" of gigabytes, a numeric column loaded as class labels) ends in a <see cref="DataFormatException"/> naming
/// the limit, never in minutes of work and an out-of-memory. The defaults hold every real data set this library is
/// meant for with room to spare (Fashion-MNIST needs 47 M values, 10 classes and 47 MB); raise one when a file
/// genuinely needs it: <c>new CsvOptions { Limits = new DataLimits { MaxValues = ... } }</c>, or on the command line
/// <c>--limit values=...</c>.
/// </summary>
public sealed class DataLimits
{
    /// <summary>The defaults.</summary>
    public static DataLimits Default { get; } = new();

    /// <summary>The most characters one CSV record may have (a quoted record spanning lines counts whole); default
    /// 16 Mi. The reader never holds more than this of one line. CLI: <c>--limit line=N</c>.</summary>
    public int MaxRecordCharacters { get; init; } = 1 << 24;

    /// <summary>The most cells one CSV row may have; default 1 Mi. CLI: <c>--limit cells=N</c>.</summary>
    public int MaxCellsPerRow { get; init; } = 1 << 20;

    /// <summary>The most bytes read from one file after decompression; default 8 GiB. CLI: <c>--limit bytes=N</c>.</summary>
    public long MaxBytes { get; init; } = 8L << 30;

    /// <summary>The most feature values one file may hold (rows × features); default 2³⁰ (4 GiB as float).
    /// CLI: <c>--limit values=N</c>.</summary>
    public long MaxValues { get; init; } = 1L << 30;

    /// <summary>The most classes a classification set may have; default 10,000. CLI: <c>--limit classes=N</c>.</summary>
    public int MaxClasses { get; init; } = 10_000;

    /// <summary>The limits, checked: every one positive.</summary>
    internal DataLimits Validated()
    {
        if (MaxRecordCharacters < 1 || MaxCellsPerRow < 1 || MaxBytes < 1 || MaxValues < 1 || MaxClasses < 2)
            throw new ArgumentOutOfRangeException(nameof(DataLimits),
                $"DataLimits must be positive (MaxClasses at least 2): {this}.");
        return this;
    }

    /// <summary>The message tail saying which limit was hit and how to raise it.</summary>
    internal static string Raise(string property, string cliName, long value)
        => string.Create(CultureInfo.InvariantCulture,
            $"the limit DataLimits.{property} is {value:N0}; raise it if the file is right (command line: --limit {cliName}=N)");

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"MaxRecordCharacters {MaxRecordCharacters}, MaxCellsPerRow {MaxCellsPerRow}, MaxBytes {MaxBytes}, MaxValues {MaxValues}, MaxClasses {MaxClasses}");
}
