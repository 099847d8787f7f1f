using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>The data of a training run: training, validation and test parts (raw features) and how to describe them.</summary>
internal sealed record TrainData(
    string Description,
    Dataset<float> Training,
    Dataset<float>? Validation,
    Dataset<float>? Test,
    string TestName,
    bool StandardizeByDefault,
    bool OwnsArrays,
    int FeatureCopies)
{
    /// <summary>The feature values of every part.</summary>
    public long Values => (long)Training.Features.Length + (Validation?.Features.Length ?? 0) + (Test?.Features.Length ?? 0);

    /// <summary>The rows of every part.</summary>
    public long Rows => (long)Training.Count + (Validation?.Count ?? 0) + (Test?.Count ?? 0);

    /// <summary>Loads the data the settings name and splits off the test and validation parts, within the memory budget:
    /// an IDX file's declared size is checked before it is loaded, a CSV file is stopped as it grows past what the budget
    /// leaves for data. CSV files stop loading when <paramref name="interrupt"/> is cancelled.</summary>
    public static TrainData Load(TrainSettings s, MemoryBudget memory, CancellationToken interrupt = default)
    {
        string description;
        Dataset<float> all;
        Dataset<float>? test = null;
        string testName = "held-out";
        bool standardize;
        bool ownsArrays = true;

        if (s.Csv is not null)
        {
            CsvOptions options = s.CsvOptions!;
            all = LoadCsv(s.Csv, options, memory, memory.DataValueCap(0), interrupt);
            if (!s.Classification && LooksLikeRegression(all) is string why)
                throw new UsageException($"{Path.GetFileName(s.Csv)}: the target column {why}: add --regression to predict the number (or --classification to train on these values as classes anyway)");
            if (s.TestCsv is not null)
            {
                test = LoadCsv(s.TestCsv, CsvArgs.With(options, all.ClassLabels, options.Limits), memory,
                    memory.DataValueCap(MemoryPlan.DataPeakBytes(all.Features.Length, all.Count, LabelsPerRow(all), MemoryPlan.CsvFeatureCopies)), interrupt);
                testName = "held-out";
            }
            if (FewRowsPerClass(all, Path.GetFileName(s.Csv)) is string warning)
                Console.Error.WriteLine($"{Program.Name}: warning: {warning}");
            description = $"{Path.GetFileName(s.Csv)}: {Shape(all)}; {HeaderNote(s.Csv, options)}{LabelNote(all, options)}";
            standardize = true;
        }
        else if (s.Idx is not null)
        {
            IdxHeader images = IdxLoader.ReadHeader(s.Idx[0], s.Limits);
            IdxHeader? testImages = s.TestIdx is null ? null : IdxLoader.ReadHeader(s.TestIdx[0], s.Limits);
            long rowCount = images.Count + (testImages?.Count ?? 0);
            memory.Check(images.FeatureCount, images.Count * images.FeatureCount + (testImages is null ? 0 : testImages.Count * testImages.FeatureCount), rowCount, 1, MemoryPlan.DecodedFeatureCopies);
            all = IdxLoader.LoadDataset(s.Idx[0], s.Idx[1], limits: s.Limits);
            interrupt.ThrowIfCancellationRequested();
            if (s.TestIdx is not null)
            {
                test = IdxLoader.LoadDataset(s.TestIdx[0], s.TestIdx[1], classCount: all.OutputCount, limits: s.Limits);
                testName = "held-out";
            }
            if (FewRowsPerClass(all, Path.GetFileName(s.Idx[1])) is string warning)
                Console.Error.WriteLine($"{Program.Name}: warning: {warning}");
            bool pixels = images.ElementType == IdxElementType.UnsignedByte;
            description = $"{Path.GetFileName(s.Idx[0])}: {Shape(all)}, " + (pixels
                ? "pixels scaled to [0,1]"
                : $"{images.ElementType} values kept as stored (only unsigned-byte pixels are scaled to [0,1])");
            // Values of other types have no known range: they are standardised unless --no-standardize says otherwise.
            standardize = !pixels;
        }
        else
        {
            (all, test, description) = BuiltIn(s.Problem ?? ProblemName.Digits, s.Seed);
            standardize = s.Problem == ProblemName.Sine;
            ownsArrays = false;   // the built-in sets share arrays (XOR is its own test set)
            if (s.Problem is ProblemName.Xor)
                testName = "held-out";
        }

        if (test is not null && test.FeatureCount != all.FeatureCount)
            throw new DataException($"the test set has {test.FeatureCount} features per sample but the training set has {all.FeatureCount}");

        // The parts are chosen on the row numbers (by Dataset.Split, so they are the rows it would choose) and then
        // copied out of the whole set in one pass: two copies of the data at the peak, not three.
        Dataset<double> rows = RowNumbers(all.Count);
        Dataset<double>? testRows = null, validationRows = null;
        if (test is null && s.TestFraction > 0)
        {
            if (all.Count < 3)
                throw new DataException($"the data set has only {all.Count} samples: too few to hold out a test set");
            (rows, testRows) = rows.Split(s.TestFraction, s.Seed);
        }
        if (s.ValidationFraction > 0)
        {
            if (rows.Count < 2)
                throw new DataException($"the training part has only {rows.Count} sample(s): too few to hold out a validation set");
            (rows, validationRows) = rows.Split(s.ValidationFraction, unchecked(s.Seed + 1));
        }
        Dataset<float> training = all;
        Dataset<float>? validation = null;
        if (testRows is not null || validationRows is not null)
        {
            training = all.Subset(RowsOf(rows));
            validation = validationRows is null ? null : all.Subset(RowsOf(validationRows));
            test = testRows is null ? test : all.Subset(RowsOf(testRows));
            ReleaseCopy(ref all);
        }
        return new TrainData(description, training, validation, test, testName, standardize, ownsArrays,
            s.Csv is null ? MemoryPlan.DecodedFeatureCopies : MemoryPlan.CsvFeatureCopies);
    }

    /// <summary>Row numbers 0…count−1 as a data set (one feature; the class is a placeholder), to be split.</summary>
    private static Dataset<double> RowNumbers(int count)
    {
        var numbers = new double[count];
        for (int i = 0; i < count; i++)
            numbers[i] = i;
        return new Dataset<double>(numbers, 1, new int[count], 2);
    }

    private static int[] RowsOf(Dataset<double> rows) => Array.ConvertAll(rows.Features, r => (int)r);

    /// <summary>Drops the last reference to a data set that has been split into copies, and collects it when it is large,
    /// so that what follows reuses its memory instead of adding to the peak.</summary>
    private static void ReleaseCopy(ref Dataset<float> data)
    {
        int values = data.Features.Length;
        data = null!;
        CollectIfLarge(values);
    }

    /// <summary>A full, compacting collection after <paramref name="values"/> feature values' worth of arrays became
    /// garbage, when that is much (64 MiB or more): the memory returns before the next large copy is made, at the cost of
    /// one collection, small beside loading such data.</summary>
    private static void CollectIfLarge(long values)
    {
        if (values < 1 << 24)
            return;
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>Loads a CSV file with at most <paramref name="valueCap"/> feature values (what the memory budget leaves),
    /// below the data limit; passing the cap is a memory error, not a data-limit one.</summary>
    private static Dataset<float> LoadCsv(string path, CsvOptions options, MemoryBudget memory, long valueCap, CancellationToken interrupt)
    {
        bool capped = valueCap < options.Limits.MaxValues;
        Dataset<float> data;
        try
        {
            data = CsvArgs.Load(path, capped ? CsvArgs.With(options, options.ClassLabels, DataLimitsWithValues(options.Limits, Math.Max(1, valueCap))) : options, interrupt);
        }
        catch (DataFormatException e) when (capped && e.Problem.Contains(nameof(DataLimits.MaxValues), StringComparison.Ordinal))
        {
            throw memory.TooMuchData(path, valueCap);
        }
        return data;
    }

    private static DataLimits DataLimitsWithValues(DataLimits limits, long values) => new()
    {
        MaxRecordCharacters = limits.MaxRecordCharacters,
        MaxCellsPerRow = limits.MaxCellsPerRow,
        MaxBytes = limits.MaxBytes,
        MaxValues = values,
        MaxClasses = limits.MaxClasses,
    };

    /// <summary>What was guessed about the first row: said in the data summary, so a wrong guess is seen.</summary>
    private static string HeaderNote(string path, CsvOptions options) => options.Header switch
    {
        CsvHeader.Yes => "header row (--header yes)",
        CsvHeader.No => "no header row (--header no)",
        _ when options.TargetColumnName is not null => "header row (--target names a column)",
        _ => CsvLoader.HasHeader(path, options) ? "header row detected (its cells are not numbers)" : "no header row detected (the first row's cells are numbers)",
    };

    /// <summary>What the class labels were taken for.</summary>
    private static string LabelNote(Dataset<float> data, CsvOptions options)
    {
        if (data.ClassLabels is not { } labels)
            return "";
        bool numbers = !options.TextLabels && labels.All(l => double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        return numbers ? "; class labels are numbers" : options.TextLabels ? "; class labels taken as text (--text-labels)" : "; class labels are text";
    }

    private static int LabelsPerRow(Dataset<float> data) => data.IsClassification ? 1 : data.OutputCount;

    /// <summary>The most distinct numeric labels a classification target may have before it is taken for a regression
    /// target, whatever the rows.</summary>
    internal const int NumericClassesAllowed = 10;

    /// <summary>Why a classification data set's target looks like a number to regress on, or null: every label parses as a
    /// number, there are more than <see cref="NumericClassesAllowed"/> of them, and either one is not a whole number or
    /// there are at least one fifth as many distinct values as rows (fewer than five rows per class on average).
    /// Without this rule scikit-learn's diabetes targets (214 distinct values in 442 rows) would silently become a 214-class
    /// classifier with 0% accuracy. This is an error, not a warning: such a "classifier" cannot generalise (most test
    /// values are classes it never saw or saw once), so a run that goes on only wastes time and prints a meaningless
    /// accuracy; the message names the fix, and --classification keeps the rare intended case possible. Integer labels
    /// with few classes per row (digit 0-9 columns, 100-class ids over many rows) are left alone.</summary>
    internal static string? LooksLikeRegression(Dataset<float> data)
    {
        if (!data.IsClassification || data.ClassLabels is not { } labels || labels.Count <= NumericClassesAllowed)
            return null;
        bool fractional = false;
        foreach (string label in labels)
        {
            if (!double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
                return null;
            fractional |= value != Math.Floor(value);
        }
        if (!fractional && labels.Count * 5L < data.Count)
            return null;
        return string.Create(CultureInfo.InvariantCulture,
            $"holds numbers with {labels.Count} distinct values in {data.Count} rows{(fractional ? ", not all whole" : "")}, which looks like a regression target rather than {labels.Count} classes");
    }

    /// <summary>A warning when classes approach the number of rows (fewer than <see cref="MinRowsPerClass"/> rows per class
    /// on average): most classes then have one or two examples, so the held-out accuracy says little and the target column
    /// is more likely an identifier or a mistake than a label. A warning, not an error: a small set with many classes can
    /// be intended.</summary>
    internal static string? FewRowsPerClass(Dataset<float> data, string name)
        => data.IsClassification && data.OutputCount * (long)MinRowsPerClass > data.Count
            ? string.Create(CultureInfo.InvariantCulture,
                $"{name}: {data.OutputCount} classes for {data.Count} rows ({(double)data.Count / data.OutputCount:0.#} per class on average): most classes have too few examples to learn or to test; is the target column right?")
            : null;

    /// <summary>Rows per class below which <see cref="FewRowsPerClass"/> warns.</summary>
    public const int MinRowsPerClass = 5;

    public static IReadOnlyList<string> ClassLabelsOf(Dataset<float> data)
        => data.ClassLabels ?? Enumerable.Range(0, data.OutputCount).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

    private static string Shape(Dataset<float> d) => d.IsClassification
        ? $"{d.Count} samples, {d.FeatureCount} features, {d.OutputCount} classes"
        : $"{d.Count} samples, {d.FeatureCount} features, {d.OutputCount} target value(s)";

    public const int SineTrainCount = 1024;
    public const int SineTestCount = 201;

    private static (Dataset<float> All, Dataset<float>? Test, string Description) BuiltIn(ProblemName problem, int seed)
    {
        switch (problem)
        {
            case ProblemName.Digits:
                {
                    (float[] pixels, int[] labels) = DigitsData.Load();
                    string[] names = Enumerable.Range(0, DigitsData.Classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
                    var all = new Dataset<float>(pixels, DigitsData.Pixels, labels, DigitsData.Classes, names);
                    return (all, null, $"8x8 hand-written digits (embedded): {Shape(all)}, pixels scaled to [0,1]");
                }
            case ProblemName.Xor:
                {
                    var xor = new Dataset<float>([0, 0, 0, 1, 1, 0, 1, 1], 2, [0, 1, 1, 0], 2, ["0", "1"]);
                    return (xor, xor, "XOR truth table: 4 rows, trained and tested on the same rows");
                }
            case ProblemName.Sine:
                {
                    var rng = new Random(seed);
                    var x = new float[SineTrainCount];
                    var y = new float[SineTrainCount];
                    for (int i = 0; i < SineTrainCount; i++)
                    {
                        double v = (rng.NextDouble() * 2 - 1) * Math.PI;
                        x[i] = (float)v;
                        y[i] = (float)Math.Sin(v);
                    }
                    var tx = new float[SineTestCount];
                    var ty = new float[SineTestCount];
                    for (int i = 0; i < SineTestCount; i++)
                    {
                        double v = -Math.PI + 2 * Math.PI * i / (SineTestCount - 1);
                        tx[i] = (float)v;
                        ty[i] = (float)Math.Sin(v);
                    }
                    return (new Dataset<float>(x, 1, y, 1), new Dataset<float>(tx, 1, ty, 1),
                        $"sin(x) on [-pi, pi]: {SineTrainCount} random training points, {SineTestCount} evenly spaced test points");
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(problem));
        }
    }
}

/// <summary>The memory a training run may use, and the plan for a data shape (the network's buffers, planned with
/// placeholder outputs until the labels are known, plus the data's peak): checked before the data are loaded.</summary>
internal sealed record MemoryBudget(Func<long, long, MemoryPlan> Plan, long? Limit)
{
    private long Allowed => Limit ?? MemoryPlan.DefaultLimit;

    /// <summary>Fails when <paramref name="values"/> feature values in <paramref name="rows"/> rows would not fit.</summary>
    public void Check(long features, long values, long rows, int labelsPerRow, int featureCopies)
        => Plan(features, MemoryPlan.DataPeakBytes(values, rows, labelsPerRow, featureCopies)).Check(Limit);

    /// <summary>The most feature values a file of unknown rows may hold beside <paramref name="usedBytes"/> already
    /// planned for data: the memory left once the network is planned, at the worst bytes per value. Fails at once when
    /// nothing is left (a network that does not fit is named as such).</summary>
    public long DataValueCap(long usedBytes)
    {
        MemoryPlan without = Plan(1, usedBytes);
        without.Check(Limit);
        return (Allowed - without.TotalBytes) / MemoryPlan.WorstBytesPerValue;
    }

    public UsageException TooMuchData(string path, long valueCap) => new(string.Create(CultureInfo.InvariantCulture,
        $"{Path.GetFileName(path)}: the data hold more than {valueCap:N0} feature values, more than fit in the memory limit of {MemoryPlan.Bytes(Allowed)} ({(Limit is null ? "three quarters of the memory available" : "--limit memory")}) beside the network (loading and splitting keep three copies); use less data, or raise the limit with --limit memory=N"));
}

/// <summary>The data cannot be used as asked (too small, shapes disagree): exit code 1.</summary>
internal sealed class DataException(string message) : Exception(message);
