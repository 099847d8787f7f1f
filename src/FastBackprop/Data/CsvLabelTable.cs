using System.Globalization;

namespace FastBackprop;

// The class labels of a CSV file as they are read: the table that numbers them and the guesses it refuses.
public static partial class CsvLoader
{
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
}
