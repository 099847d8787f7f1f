using System.Globalization;
using System.Numerics;
using System.Text;

namespace FastBackprop;

/// <summary>
/// Reads CSV files into data sets: numbers in the invariant culture (<c>1.5e-3</c>, never <c>1,5</c>), cells
/// optionally quoted (<c>"a,b"</c>, with <c>""</c> for a quote inside, line breaks allowed inside quotes), blank
/// lines skipped, gzip-compressed files (<c>.csv.gz</c>, recognised by their magic bytes) decompressed on the fly.
/// Every problem is a <see cref="DataFormatException"/> naming the file and the line: rows with the wrong number
/// of cells, cells that are not numbers, NaN or infinite values, an empty file, a missing target column, a label
/// outside a fixed class list.
/// </summary>
public static partial class CsvLoader
{
    /// <summary>Loads a labelled data set of float features (see <see cref="Load{T}(string, CsvOptions?)"/>).</summary>
    public static Dataset<float> Load(string path, CsvOptions? options = null) => Load<float>(path, options);

    /// <summary>Loads a labelled data set: every column but the target is a feature.</summary>
    /// <param name="path">A CSV file, optionally gzip-compressed.</param>
    /// <param name="options">Separator, header, target column, task, class list; null for <see cref="CsvOptions.Default"/>.</param>
    /// <exception cref="DataFormatException">The file is malformed (the message names the line).</exception>
    /// <exception cref="ArgumentException">The options contradict each other.</exception>
    public static Dataset<T> Load<T>(string path, CsvOptions? options = null) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        using FileStream file = DataStreams.OpenRegularFile(path, nameof(path));
        return Load<T>(file, options, path);
    }

    /// <summary>Loads a labelled data set from a stream (left open), optionally gzip-compressed.</summary>
    /// <param name="stream">The CSV text (UTF-8 unless it starts with another byte-order mark).</param>
    /// <param name="options">As for <see cref="Load{T}(string, CsvOptions?)"/>.</param>
    /// <param name="name">The name used in error messages (e.g. the file name); null for "&lt;stream&gt;".</param>
    public static Dataset<T> Load<T>(Stream stream, CsvOptions? options = null, string? name = null) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= CsvOptions.Default;
        ValidateOptions(options, forFeaturesOnly: false);
        return Read<T>(stream, options, name, hasTarget: true).ToDataset();
    }

    /// <summary>Loads float features for prediction (see <see cref="LoadFeatures{T}(string, CsvOptions?, bool)"/>).</summary>
    public static CsvFeatures<float> LoadFeatures(string path, CsvOptions? options = null, bool dropTargetColumn = false)
        => LoadFeatures<float>(path, options, dropTargetColumn);

    /// <summary>Loads features only, e.g. input for prediction. Every column is a feature unless
    /// <paramref name="dropTargetColumn"/> is set, in which case the column named by <see cref="CsvOptions.TargetColumnName"/>
    /// or <see cref="CsvOptions.TargetColumn"/> is skipped (not parsed). <see cref="CsvOptions.Task"/> and
    /// <see cref="CsvOptions.ClassLabels"/> are ignored.</summary>
    /// <exception cref="DataFormatException">The file is malformed (the message names the line).</exception>
    public static CsvFeatures<T> LoadFeatures<T>(string path, CsvOptions? options = null, bool dropTargetColumn = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        using FileStream file = DataStreams.OpenRegularFile(path, nameof(path));
        return LoadFeatures<T>(file, options, dropTargetColumn, path);
    }

    /// <summary>Loads features only from a stream (left open); see <see cref="LoadFeatures{T}(string, CsvOptions?, bool)"/>.</summary>
    /// <param name="stream">The CSV text, optionally gzip-compressed.</param>
    /// <param name="options">Separator, header and (with <paramref name="dropTargetColumn"/>) the column to skip.</param>
    /// <param name="dropTargetColumn">Skip the target column of <paramref name="options"/>.</param>
    /// <param name="name">The name used in error messages; null for "&lt;stream&gt;".</param>
    public static CsvFeatures<T> LoadFeatures<T>(Stream stream, CsvOptions? options = null, bool dropTargetColumn = false, string? name = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= CsvOptions.Default;
        ValidateOptions(options, forFeaturesOnly: true);
        Parsed<T> parsed = Read<T>(stream, options, name, hasTarget: dropTargetColumn);
        return new CsvFeatures<T>(parsed.Features, parsed.FeatureCount, parsed.Rows, parsed.FeatureNames);
    }

    private static void ValidateOptions(CsvOptions options, bool forFeaturesOnly)
    {
        if (options.Separator is '"' or '\r' or '\n' or ' ' or '\0')
            throw new ArgumentException($"The separator cannot be U+{(int)options.Separator:X4}.", nameof(options));
        if (options.TargetColumnName is not null && options.Header == CsvHeader.No)
            throw new ArgumentException($"TargetColumnName = '{options.TargetColumnName}' needs a header row, but Header is No.", nameof(options));
        if (forFeaturesOnly)
            return;
        if (!Enum.IsDefined(options.Task))
            throw new ArgumentOutOfRangeException(nameof(options), options.Task, $"Unknown task {(int)options.Task}.");
        if (options.ClassLabels is { } labels)
        {
            if (options.Task != CsvTask.Classification)
                throw new ArgumentException("ClassLabels is only meaningful for classification.", nameof(options));
            if (labels.Count < 2)
                throw new ArgumentException($"ClassLabels has {labels.Count} label(s); a classification set needs at least 2.", nameof(options));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < labels.Count; i++)
            {
                if (labels[i] is null)
                    throw new ArgumentException($"ClassLabels[{i}] is null.", nameof(options));
                if (!seen.Add(labels[i]))
                    throw new ArgumentException($"ClassLabels lists '{labels[i]}' twice.", nameof(options));
            }
        }
    }

    private static Parsed<T> Read<T>(Stream stream, CsvOptions options, string? name, bool hasTarget)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        DataLimits limits = options.Limits.Validated();
        Stream input = DataStreams.MaybeDecompress(stream, leaveOpen: true, limits.MaxBytes, name, out _);
        try
        {
            using var text = new StreamReader(input, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
            var reader = new RecordReader(text, options.Separator, name, limits);
            return Parse<T>(reader, options, limits, name, hasTarget);
        }
        finally
        {
            input.Dispose();
        }
    }

    private static Parsed<T> Parse<T>(RecordReader reader, CsvOptions options, DataLimits limits, string? name, bool hasTarget)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        bool classification = hasTarget && options.Task == CsvTask.Classification;
        if (!reader.Next())
            throw new DataFormatException(name, null, null, "the file is empty (no rows).");
        int columns = reader.CellCount;
        long firstLine = reader.Line;

        // The target column: by name needs the header, by index is known now.
        int target = -1;
        if (hasTarget && options.TargetColumnName is null)
        {
            int index = options.TargetColumn < 0 ? columns + options.TargetColumn : options.TargetColumn;
            if ((uint)index >= (uint)columns)
                throw new DataFormatException(name, firstLine, null,
                    $"target column {options.TargetColumn} does not exist: the rows have {columns} cell(s).");
            target = index;
        }

        bool header = IsHeader<T>(reader, options, hasTarget, classification ? target : -1, name);

        string[]? names = null;
        if (header)
        {
            names = new string[columns];
            for (int c = 0; c < columns; c++)
                names[c] = reader.CellString(c);
            CheckUniqueNames(names, firstLine, name);
            if (hasTarget && options.TargetColumnName is string wanted)
            {
                target = Array.IndexOf(names, wanted);
                if (target < 0)
                    throw new DataFormatException(name, firstLine, null,
                        $"no column is named '{wanted}'; the header has {Shorten(string.Join(", ", names), 200)}.");
            }
            if (!reader.Next())
                throw new DataFormatException(name, firstLine, null, "the file has a header but no data rows.");
        }

        int featureCount = hasTarget ? columns - 1 : columns;
        if (featureCount < 1)
            throw new DataFormatException(name, firstLine, null, $"the rows have {columns} cell(s): nothing is left for features once the target column is taken.");

        var features = new ChunkedBuffer<T>();
        var classIds = classification ? new List<int>() : null;
        var targets = hasTarget && !classification ? new List<T>() : null;
        var labels = classification ? new LabelTable(options.ClassLabels, limits.MaxClasses, options.TextLabels) : null;
        int rows = 0;
        do
        {
            if (reader.CellCount != columns)
                throw new DataFormatException(name, reader.Line, null, $"expected {columns} cells, found {reader.CellCount}.");
            if ((long)(rows + 1) * featureCount > Math.Min(Array.MaxLength, limits.MaxValues))
                throw new DataFormatException(name, reader.Line, null, limits.MaxValues < Array.MaxLength
                    ? $"too many values: more than {limits.MaxValues:N0} features in all: {DataLimits.Raise(nameof(DataLimits.MaxValues), "values", limits.MaxValues)}."
                    : $"too many values: more than {Array.MaxLength:N0} features in all, more than one array can hold.");
            Span<T> row = features.Append(featureCount);
            int k = 0;
            for (int c = 0; c < columns; c++)
            {
                if (c == target)
                {
                    if (labels is not null)
                        classIds!.Add(labels.Id(reader, c, names, name));
                    else if (targets is not null)
                        targets.Add(Number<T>(reader, c, names, name));
                    continue;
                }
                row[k++] = Number<T>(reader, c, names, name);
            }
            rows++;
        }
        while (reader.Next());

        string[]? featureNames = names is null ? null : target < 0 ? names : [.. names[..target], .. names[(target + 1)..]];
        labels?.SetColumn(Column(target, names));
        return new Parsed<T>(features.ToArray(), featureCount, rows, featureNames, classIds, targets, labels, name);
    }

    /// <summary>Whether the first row (the reader's current record) is a header. Auto-detection: a header when none of its
    /// cells (the class-label column aside) is a number, data when all are; a row with both is a data row with a
    /// malformed cell — a header does not hold numbers where the data do, and a typo ("1..5") in the first row must not
    /// silently turn it into a header and drop it — so it fails naming the cell.</summary>
    private static bool IsHeader<T>(RecordReader reader, CsvOptions options, bool hasTarget, int skipColumn, string? name)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (options.Header != CsvHeader.Auto)
            return options.Header == CsvHeader.Yes;
        if (options.TargetColumnName is not null && hasTarget)
            return true;
        int numbers = 0, texts = 0, firstText = -1;
        for (int c = 0; c < reader.CellCount; c++)
        {
            if (c == skipColumn)
                continue;
            if (TryParse(reader.Cell(c), out T _))
                numbers++;
            else if (texts++ == 0)
                firstText = c;
        }
        if (numbers > 0 && texts > 0)
            throw new DataFormatException(name, reader.Line, null,
                $"{Column(firstText, null)}: '{Shorten(reader.CellString(firstText), 40)}' is not a number. The first row is read as data, since {numbers} of its cells are numbers; if it is a header, say so (CsvHeader.Yes, --header yes).");
        return texts > 0;
    }

    /// <summary>Whether <see cref="Load{T}(string, CsvOptions?)"/> reads the first row of <paramref name="path"/> as a
    /// header: <see cref="CsvOptions.Header"/> when it is Yes or No, else what auto-detection decides (a header when none
    /// of the first row's cells, the class-label column aside, is a number). Reads only the first record.</summary>
    /// <param name="path">A CSV file, optionally gzip-compressed.</param>
    /// <param name="options">As for <see cref="Load{T}(string, CsvOptions?)"/>; null for <see cref="CsvOptions.Default"/>.</param>
    /// <exception cref="DataFormatException">The file is empty, or its first row mixes numbers and text.</exception>
    public static bool HasHeader(string path, CsvOptions? options = null)
    {
        options ??= CsvOptions.Default;
        ValidateOptions(options, forFeaturesOnly: false);
        DataLimits limits = options.Limits.Validated();
        using FileStream file = DataStreams.OpenRegularFile(path, nameof(path));
        using Stream input = DataStreams.MaybeDecompress(file, leaveOpen: true, limits.MaxBytes, path, out _);
        using var text = new StreamReader(input, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        var reader = new RecordReader(text, options.Separator, path, limits);
        if (!reader.Next())
            throw new DataFormatException(path, null, null, "the file is empty (no rows).");
        int columns = reader.CellCount;
        int target = options.TargetColumn < 0 ? columns + options.TargetColumn : options.TargetColumn;
        bool classification = options.Task == CsvTask.Classification && options.TargetColumnName is null;
        return IsHeader<float>(reader, options, hasTarget: true, classification && (uint)target < (uint)columns ? target : -1, path);
    }

    /// <summary>Column names must be unique: the target and a model's features are found by name, and a name that occurs
    /// twice would silently mean its first column.</summary>
    private static void CheckUniqueNames(string[] names, long line, string? name)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int c = 0; c < names.Length; c++)
        {
            if (!seen.TryAdd(names[c], c))
                throw new DataFormatException(name, line, null,
                    $"columns {seen[names[c]] + 1} and {c + 1} are both named '{Shorten(names[c], 40)}'; column names must be unique (columns are found by name).");
        }
    }

    private static T Number<T>(RecordReader reader, int column, string[]? names, string? name) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ReadOnlySpan<char> cell = reader.Cell(column);
        if (!TryParse(cell, out T value))
            throw new DataFormatException(name, reader.Line, null,
                $"{Column(column, names)}: '{Shorten(cell.ToString(), 40)}' is not a number.");
        if (!T.IsFinite(value))
            throw new DataFormatException(name, reader.Line, null,
                $"{Column(column, names)}: '{Shorten(cell.ToString(), 40)}' is not a finite number (NaN and infinities are rejected, as are values beyond {typeof(T).Name}'s range).");
        return value;
    }

    private static bool TryParse<T>(ReadOnlySpan<char> cell, out T value) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        cell = cell.Trim();
        // Fast path for small non-negative integers (pixels, counts): the conversion from int rounds exactly
        // as parsing the decimal text would.
        if (cell.Length is > 0 and <= 9)
        {
            int n = 0;
            int i = 0;
            for (; i < cell.Length; i++)
            {
                uint digit = (uint)(cell[i] - '0');
                if (digit > 9)
                    break;
                n = n * 10 + (int)digit;
            }
            if (i == cell.Length)
            {
                value = T.CreateTruncating(n);
                return true;
            }
        }
        return T.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    internal static string Column(int column, string[]? names)
        => names is null ? $"column {column + 1}" : $"column {column + 1} ('{Shorten(names[column], 40)}')";

    internal static string Shorten(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…");

    private sealed record Parsed<T>(T[] Features, int FeatureCount, int Rows, string[]? FeatureNames,
        List<int>? ClassIds, List<T>? Targets, LabelTable? Labels, string? Name) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public Dataset<T> ToDataset()
        {
            if (Targets is not null)
                return new Dataset<T>(Features, FeatureCount, Targets.ToArray(), 1) { FeatureNames = FeatureNames };
            (int[] remap, string[] classLabels) = Labels!.Finish(Name);
            int[] classes = new int[ClassIds!.Count];
            for (int i = 0; i < classes.Length; i++)
                classes[i] = remap[ClassIds[i]];
            return new Dataset<T>(Features, FeatureCount, classes, classLabels.Length, classLabels) { FeatureNames = FeatureNames };
        }
    }
}

/// <summary>Appends rows into fixed-size chunks, so a large file never needs a doubling copy; one exact copy at the end.</summary>
internal sealed class ChunkedBuffer<T> where T : unmanaged
{
    private const int ChunkElements = 1 << 20;
    private readonly List<(T[] Chunk, int Used)> full = [];
    private T[] current = [];
    private int used;
    private long total;

    public Span<T> Append(int count)
    {
        if (current.Length - used < count)
        {
            if (used > 0)
                full.Add((current, used));
            current = new T[Math.Max(ChunkElements, count)];
            used = 0;
        }
        Span<T> span = current.AsSpan(used, count);
        used += count;
        total += count;
        return span;
    }

    public T[] ToArray()
    {
        var result = new T[total];
        int offset = 0;
        foreach ((T[] chunk, int n) in full)
        {
            chunk.AsSpan(0, n).CopyTo(result.AsSpan(offset));
            offset += n;
        }
        current.AsSpan(0, used).CopyTo(result.AsSpan(offset));
        return result;
    }
}
