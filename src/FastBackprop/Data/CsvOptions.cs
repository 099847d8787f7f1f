namespace FastBackprop;

/// <summary>Whether the first row of a CSV file holds column names.</summary>
public enum CsvHeader
{
    /// <summary>The first row is a header if none of its cells (the target column aside, for classification) is a number,
    /// data if all are; a first row with both is a data row with a malformed cell, and fails naming it.</summary>
    Auto,
    /// <summary>The first row is a header.</summary>
    Yes,
    /// <summary>Every row is data.</summary>
    No,
}

/// <summary>What the target column of a CSV file holds.</summary>
public enum CsvTask
{
    /// <summary>Class labels (any text); they become class indices.</summary>
    Classification,
    /// <summary>A real number per row (one target value).</summary>
    Regression,
}

/// <summary>How <see cref="CsvLoader"/> reads a file. The defaults read a comma-separated file with an
/// auto-detected header whose last column is a class label.</summary>
public sealed class CsvOptions
{
    /// <summary>The cell separator (default ','). It must not be a double quote, a line break or a space.</summary>
    public char Separator { get; init; } = ',';

    /// <summary>Whether the first row is a header (default <see cref="CsvHeader.Auto"/>).</summary>
    public CsvHeader Header { get; init; } = CsvHeader.Auto;

    /// <summary>The target column by 0-based index; negative counts from the end (default −1, the last column).
    /// Ignored when <see cref="TargetColumnName"/> is set.</summary>
    public int TargetColumn { get; init; } = -1;

    /// <summary>The target column by header name (exact, case-sensitive); implies a header row.</summary>
    public string? TargetColumnName { get; init; }

    /// <summary>Classification (default) or regression.</summary>
    public CsvTask Task { get; init; } = CsvTask.Classification;

    /// <summary>A fixed list of class labels: label i becomes class i, and a label not in the list is an error.
    /// Use the list a model was trained with to load its evaluation data. When null, the classes are the distinct
    /// labels found, sorted numerically if all are integers, else ordinally.</summary>
    public IReadOnlyList<string>? ClassLabels { get; init; }

    /// <summary>Takes every class label as text (default false). By default labels that are numbers are taken as numbers,
    /// and two guesses are refused: labels that are numbers in all but a few rows (under 5%: "l" among 0-9 is likely a
    /// typo), and one number written two ways ("1" and "1.0"). With this set, both load: every distinct text is a class.</summary>
    public bool TextLabels { get; init; }

    /// <summary>Bounds on line length, cells per row, bytes, values and classes (default <see cref="DataLimits.Default"/>).</summary>
    public DataLimits Limits { get; init; } = DataLimits.Default;

    /// <summary>The default options.</summary>
    public static CsvOptions Default { get; } = new();
}

/// <summary>Features read from a CSV file without a target (input for prediction).</summary>
/// <param name="Features">Count×FeatureCount values, row-major, finite.</param>
/// <param name="FeatureCount">Values per row.</param>
/// <param name="Count">Number of rows.</param>
/// <param name="Header">The names of the feature columns when the file has a header, else null.</param>
public sealed record CsvFeatures<T>(T[] Features, int FeatureCount, int Count, string[]? Header);
