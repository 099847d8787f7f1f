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
public static class CsvLoader
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

    /// <summary>Maps label text to provisional ids without allocating a string per row; <see cref="Finish"/> sorts them.</summary>
    private sealed class LabelTable
    {
        private readonly Dictionary<string, int> ids = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup;
        private readonly List<string> order = [];
        private readonly IReadOnlyList<string>? fixedLabels;
        // Per provisional id: the line where the label first occurs and the rows that hold it (for the checks in Finish).
        private readonly List<long> firstLines = [];
        private readonly List<int> rowCounts = [];
        private readonly int maxClasses;
        private readonly bool textLabels;
        private string column = "the target column";

        public LabelTable(IReadOnlyList<string>? fixedLabels, int maxClasses, bool textLabels)
        {
            this.maxClasses = maxClasses;
            this.textLabels = textLabels;
            lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
            this.fixedLabels = fixedLabels;
            if (fixedLabels is not null)
            {
                for (int i = 0; i < fixedLabels.Count; i++)
                {
                    ids.Add(fixedLabels[i], i);
                    order.Add(fixedLabels[i]);
                    firstLines.Add(0);
                    rowCounts.Add(0);
                }
            }
        }

        public int Id(RecordReader reader, int column, string[]? names, string? name)
        {
            ReadOnlySpan<char> label = reader.IsQuoted(column) ? reader.Cell(column) : reader.Cell(column).Trim();
            if (lookup.TryGetValue(label, out int id))
            {
                rowCounts[id]++;
                return id;
            }
            if (label.IsEmpty)
                throw new DataFormatException(name, reader.Line, null, $"{Column(column, names)}: the class label is empty.");
            if (fixedLabels is not null)
                throw new DataFormatException(name, reader.Line, null,
                    $"{Column(column, names)}: label '{Shorten(label.ToString(), 40)}' is not one of the {fixedLabels.Count} known classes ({Shorten(string.Join(", ", fixedLabels), 200)}).");
            if (order.Count >= maxClasses)
            {
                bool numeric = double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
                throw new DataFormatException(name, reader.Line, null,
                    $"{Column(column, names)}: more than {maxClasses:N0} distinct class labels{(numeric ? " (the labels are numbers: is this a regression target? --regression, or CsvTask.Regression)" : "")}: {DataLimits.Raise(nameof(DataLimits.MaxClasses), "classes", maxClasses)}.");
            }
            string text = label.ToString();
            id = order.Count;
            ids.Add(text, id);
            order.Add(text);
            firstLines.Add(reader.Line);
            rowCounts.Add(1);
            return id;
        }

        public void SetColumn(string description) => column = description;

        /// <summary>Labels that are numbers are meant as numbers, so two guesses are refused rather than made: labels that
        /// are numbers in all but a few rows (fewer than <see cref="FewTextRows"/> of them: "l" among 0-9 is a typo, not an
        /// 11th class), and one number written two ways ("1", "1.0", "01": as text they would be three classes; which
        /// spelling would name the class?). <see cref="CsvOptions.TextLabels"/> takes every label as text instead.</summary>
        private void CheckNumericLabels(string? name)
        {
            var numbers = new Dictionary<double, int>();
            var text = new List<int>();
            long numericRows = 0, textRows = 0;
            for (int i = 0; i < order.Count; i++)
            {
                if (!double.TryParse(order[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
                {
                    text.Add(i);
                    textRows += rowCounts[i];
                    continue;
                }
                numericRows += rowCounts[i];
                if (numbers.TryGetValue(value, out int other))
                {
                    (int a, int b) = firstLines[other] <= firstLines[i] ? (other, i) : (i, other);
                    throw new DataFormatException(name, firstLines[b], null,
                        $"{column}: the class label '{Shorten(order[b], 40)}' is the number '{Shorten(order[a], 40)}' of line {firstLines[a]} written another way; as text they would be two classes. Write each class one way, or take every label as text (CsvOptions.TextLabels, --text-labels).");
                }
                numbers.Add(value, i);
            }
            if (numbers.Count > 0 && text.Count > 0 && textRows * FewTextRows < numericRows + textRows)
            {
                text.Sort((a, b) => firstLines[a].CompareTo(firstLines[b]));
                string examples = string.Join(", ", text.Take(5).Select(i => $"'{Shorten(order[i], 40)}' (line {firstLines[i]}{(rowCounts[i] > 1 ? $" and {rowCounts[i] - 1} more row(s)" : "")})"));
                throw new DataFormatException(name, firstLines[text[0]], null,
                    $"{column}: the class labels are numbers in {numericRows:N0} rows but not in {textRows:N0}: {examples}{(text.Count > 5 ? ", …" : "")}. A typo? Fix those rows, or take every label as text (CsvOptions.TextLabels, --text-labels).");
            }
        }

        /// <summary>Non-numeric labels in fewer than one row in this many, among numbers, are taken for typos.</summary>
        private const int FewTextRows = 20;

        /// <summary>Provisional id → class index, and the class labels in class order.</summary>
        public (int[] Remap, string[] Labels) Finish(string? name)
        {
            int count = order.Count;
            var remap = new int[count];
            if (fixedLabels is not null)
            {
                for (int i = 0; i < count; i++)
                    remap[i] = i;
                return (remap, [.. order]);
            }
            if (count < 2)
                throw new DataFormatException(name, null, null,
                    $"every row has the class label '{Shorten(order[0], 40)}'; classification needs at least 2 classes (CsvOptions.ClassLabels can name the others).");
            if (!textLabels)
                CheckNumericLabels(name);
            var numbers = new long[count];
            bool numeric = true;
            for (int i = 0; i < count && numeric; i++)
                numeric = long.TryParse(order[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out numbers[i]);
            int[] sorted = new int[count];
            for (int i = 0; i < count; i++)
                sorted[i] = i;
            if (numeric)
                Array.Sort(sorted, (a, b) => numbers[a] != numbers[b] ? numbers[a].CompareTo(numbers[b]) : string.CompareOrdinal(order[a], order[b]));
            else
                Array.Sort(sorted, (a, b) => string.CompareOrdinal(order[a], order[b]));
            var labels = new string[count];
            for (int rank = 0; rank < count; rank++)
            {
                remap[sorted[rank]] = rank;
                labels[rank] = order[sorted[rank]];
            }
            return (remap, labels);
        }
    }

    /// <summary>Splits records into cells: quoted cells, doubled quotes, line breaks inside quotes; skips blank lines.
    /// Lines are read into one reused buffer, never longer than <see cref="DataLimits.MaxRecordCharacters"/>: a file
    /// whose "line" is gigabytes long fails after reading the limit, and a quoted cell that never closes grows the record
    /// by doubling (no quadratic re-concatenation).</summary>
    private sealed class RecordReader(TextReader reader, char separator, string? name, DataLimits limits)
    {
        private char[] text = new char[256];
        private int textLength;
        private readonly char[] input = new char[1 << 16];
        private int inputStart, inputEnd;
        private int[] starts = new int[64];
        private int[] lengths = new int[64];
        private bool[] quoted = new bool[64];
        private bool[] escaped = new bool[64];
        private char[] scratch = new char[256];
        private long physicalLine;

        /// <summary>The 1-based line on which the current record starts.</summary>
        public long Line { get; private set; }

        public int CellCount { get; private set; }

        private ReadOnlySpan<char> Record => text.AsSpan(0, textLength);

        public bool Next()
        {
            do
            {
                SkipBlankLines();
                textLength = 0;
                if (!AppendLine())
                    return false;
                physicalLine++;
            }
            while (Record.IsWhiteSpace());
            Line = physicalLine;
            if (Record.Contains('"'))
                SplitQuoted();
            else
                SplitPlain();
            return true;
        }

        /// <summary>Skips line breaks and the spaces (and tabs, unless they separate cells) around them in bulk, counting the
        /// lines: a file of a billion blank lines (a gzip bomb) then costs a vectorised scan, not a billion records.
        /// Leading blanks of a record are dropped with them, which changes nothing (cells are trimmed, and blanks before
        /// an opening quote are skipped). A \r\n split across two buffer fills counts as two lines.</summary>
        private void SkipBlankLines()
        {
            while (inputStart < inputEnd || Fill())
            {
                ReadOnlySpan<char> available = input.AsSpan(inputStart, inputEnd - inputStart);
                int content = separator == '\t' ? available.IndexOfAnyExcept('\r', '\n', ' ') : available.IndexOfAnyExcept("\r\n \t");
                ReadOnlySpan<char> blank = content < 0 ? available : available[..content];
                // The last line break before the content: what follows it is the start of the record.
                int lastBreak = blank.LastIndexOfAny('\r', '\n');
                if (lastBreak < 0)
                    return;
                ReadOnlySpan<char> breaks = blank[..(lastBreak + 1)];
                physicalLine += breaks.Count('\n') + breaks.Count('\r') - breaks.Count("\r\n");
                inputStart += lastBreak + 1;
                if (content >= 0)
                    return;
            }
        }

        /// <summary>Appends the next line (without its terminator: \n, \r or \r\n) to the record; false at the end of
        /// the input when no character was read.</summary>
        private bool AppendLine()
        {
            bool any = false;
            while (true)
            {
                if (inputStart == inputEnd && !Fill())
                    return any;
                any = true;
                ReadOnlySpan<char> available = input.AsSpan(inputStart, inputEnd - inputStart);
                int end = available.IndexOfAny('\r', '\n');
                int take = end < 0 ? available.Length : end;
                Append(available[..take]);
                inputStart += take;
                if (end < 0)
                    continue;
                char terminator = input[inputStart++];
                if (terminator == '\r' && (inputStart < inputEnd || Fill()) && input[inputStart] == '\n')
                    inputStart++;
                return true;
            }
        }

        private bool Fill()
        {
            inputStart = 0;
            inputEnd = reader.Read(input, 0, input.Length);
            return inputEnd > 0;
        }

        private void Append(ReadOnlySpan<char> chars)
        {
            long needed = (long)textLength + chars.Length;
            if (needed > limits.MaxRecordCharacters)
                throw new DataFormatException(name, physicalLine + 1, null,
                    $"the record is longer than {limits.MaxRecordCharacters:N0} characters (a quoted cell left open, or not a CSV file): {DataLimits.Raise(nameof(DataLimits.MaxRecordCharacters), "line", limits.MaxRecordCharacters)}.");
            if (needed > text.Length)
                Array.Resize(ref text, (int)Math.Min(Math.Max(needed, 2L * text.Length), Array.MaxLength));
            chars.CopyTo(text.AsSpan(textLength));
            textLength += chars.Length;
        }

        public ReadOnlySpan<char> Cell(int index)
        {
            ReadOnlySpan<char> raw = text.AsSpan(starts[index], lengths[index]);
            if (!escaped[index])
                return raw;
            // Undouble the quotes into the scratch buffer (valid until the next call).
            if (scratch.Length < raw.Length)
                scratch = new char[raw.Length * 2];
            int n = 0;
            for (int i = 0; i < raw.Length; i++)
            {
                scratch[n++] = raw[i];
                if (raw[i] == '"')
                    i++;
            }
            return scratch.AsSpan(0, n);
        }

        public bool IsQuoted(int index) => quoted[index];

        public string CellString(int index) => quoted[index] ? Cell(index).ToString() : Cell(index).Trim().ToString();

        private void SplitPlain()
        {
            ReadOnlySpan<char> record = Record;
            int count = 0, start = 0;
            while (true)
            {
                int end = record[start..].IndexOf(separator);
                int length = end < 0 ? record.Length - start : end;
                AddCell(ref count, start, length, false, false);
                if (end < 0)
                    break;
                start += length + 1;
            }
            CellCount = count;
        }

        private void SplitQuoted()
        {
            int count = 0, i = 0;
            while (true)
            {
                // Skip leading blanks before a possible opening quote.
                int j = i;
                while (j < textLength && text[j] != separator && char.IsWhiteSpace(text[j]))
                    j++;
                if (j < textLength && text[j] == '"')
                {
                    int column = count + 1;
                    int start = j + 1;
                    bool hasEscape = false;
                    int k = start;
                    while (true)
                    {
                        if (k >= textLength)
                        {
                            // The quoted cell goes on over a line break.
                            Append("\n");
                            if (!AppendLine())
                                throw new DataFormatException(name, Line, null, $"column {column}: the quoted cell is never closed.");
                            physicalLine++;
                            continue;
                        }
                        if (text[k] == '"')
                        {
                            if (k + 1 < textLength && text[k + 1] == '"')
                            {
                                hasEscape = true;
                                k += 2;
                                continue;
                            }
                            break;
                        }
                        k++;
                    }
                    AddCell(ref count, start, k - start, true, hasEscape);
                    k++;
                    while (k < textLength && text[k] != separator && char.IsWhiteSpace(text[k]))
                        k++;
                    if (k >= textLength)
                        break;
                    if (text[k] != separator)
                        throw new DataFormatException(name, Line, null,
                            $"column {column}: unexpected '{text[k]}' after the closing quote (a quote inside a quoted cell is written \"\").");
                    i = k + 1;
                }
                else
                {
                    int end = text.AsSpan(i, textLength - i).IndexOf(separator);
                    int length = end < 0 ? textLength - i : end;
                    if (text.AsSpan(i, length).Contains('"'))
                        throw new DataFormatException(name, Line, null,
                            $"column {count + 1}: a quote inside an unquoted cell ('{Shorten(new string(text, i, Math.Min(length, 41)), 40)}'); quote the whole cell.");
                    AddCell(ref count, i, length, false, false);
                    if (end < 0)
                        break;
                    i += length + 1;
                }
            }
            CellCount = count;
        }

        private void AddCell(ref int count, int start, int length, bool isQuoted, bool isEscaped)
        {
            if (count >= limits.MaxCellsPerRow)
                throw new DataFormatException(name, physicalLine, null,
                    $"the row has more than {limits.MaxCellsPerRow:N0} cells: {DataLimits.Raise(nameof(DataLimits.MaxCellsPerRow), "cells", limits.MaxCellsPerRow)}.");
            if (count == starts.Length)
            {
                int grown = (int)Math.Min(2L * count, Math.Max(limits.MaxCellsPerRow, 64));
                Array.Resize(ref starts, grown);
                Array.Resize(ref lengths, grown);
                Array.Resize(ref quoted, grown);
                Array.Resize(ref escaped, grown);
            }
            starts[count] = start;
            lengths[count] = length;
            quoted[count] = isQuoted;
            escaped[count] = isEscaped;
            count++;
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
