using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>The data of a training run: training, validation and test parts (raw features) and how to describe them.</summary>
internal sealed record TrainData(
    string Description,
    Dataset<float> Training,
    Dataset<float>? Validation,
    Dataset<float>? Test,
    string TestName,
    bool StandardizeByDefault)
{
    /// <summary>Loads the data the settings name and splits off the test and validation parts; CSV files stop loading
    /// when <paramref name="interrupt"/> is cancelled.</summary>
    public static TrainData Load(TrainSettings s, CancellationToken interrupt)
    {
        string description;
        Dataset<float> all;
        Dataset<float>? test = null;
        string testName = "held-out";
        bool standardize;

        if (s.Csv is not null)
        {
            all = CsvArgs.Load(s.Csv, s.CsvOptions, interrupt);
            if (!s.Classification && LooksLikeRegression(all) is string why)
                throw new UsageException($"{Path.GetFileName(s.Csv)}: the target column {why}: add --regression to predict the number (or --classification to train on these values as classes anyway)");
            if (s.TestCsv is not null)
            {
                test = CsvArgs.Load(s.TestCsv, new CsvOptions
                {
                    Header = s.CsvOptions!.Header,
                    Separator = s.CsvOptions.Separator,
                    TargetColumn = s.CsvOptions.TargetColumn,
                    TargetColumnName = s.CsvOptions.TargetColumnName,
                    Task = s.CsvOptions.Task,
                    ClassLabels = all.ClassLabels,
                    Limits = s.CsvOptions.Limits,
                }, interrupt);
                testName = "held-out";
            }
            if (FewRowsPerClass(all, Path.GetFileName(s.Csv)) is string warning)
                Console.Error.WriteLine($"{Program.Name}: warning: {warning}");
            description = $"{Path.GetFileName(s.Csv)}: {Shape(all)}";
            standardize = true;
        }
        else if (s.Idx is not null)
        {
            all = IdxLoader.LoadDataset(s.Idx[0], s.Idx[1], limits: s.Limits);
            interrupt.ThrowIfCancellationRequested();
            if (s.TestIdx is not null)
            {
                test = IdxLoader.LoadDataset(s.TestIdx[0], s.TestIdx[1], classCount: all.OutputCount, limits: s.Limits);
                testName = "held-out";
            }
            if (FewRowsPerClass(all, Path.GetFileName(s.Idx[1])) is string warning)
                Console.Error.WriteLine($"{Program.Name}: warning: {warning}");
            description = $"{Path.GetFileName(s.Idx[0])}: {Shape(all)}, pixels scaled to [0,1]";
            standardize = false;
        }
        else
        {
            (all, test, description) = BuiltIn(s.Problem ?? ProblemName.Digits, s.Seed);
            standardize = s.Problem == ProblemName.Sine;
            if (s.Problem is ProblemName.Xor)
                testName = "held-out";
        }

        if (test is not null && test.FeatureCount != all.FeatureCount)
            throw new DataException($"the test set has {test.FeatureCount} features per sample but the training set has {all.FeatureCount}");

        Dataset<float> training = all;
        if (test is null && s.TestFraction > 0)
        {
            if (all.Count < 3)
                throw new DataException($"the data set has only {all.Count} samples: too few to hold out a test set");
            (training, test) = all.Split(s.TestFraction, s.Seed);
        }
        Dataset<float>? validation = null;
        if (s.ValidationFraction > 0)
        {
            if (training.Count < 2)
                throw new DataException($"the training part has only {training.Count} sample(s): too few to hold out a validation set");
            (training, validation) = training.Split(s.ValidationFraction, unchecked(s.Seed + 1));
        }
        return new TrainData(description, training, validation, test, testName, standardize);
    }

    /// <summary>The most distinct numeric labels a classification target may have before it is taken for a regression
    /// target, whatever the rows.</summary>
    internal const int NumericClassesAllowed = 10;

    /// <summary>Why a classification data set's target looks like a number to regress on, or null: every label parses as a
    /// number, there are more than <see cref="NumericClassesAllowed"/> of them, and either one is not a whole number or
    /// there are at least one fifth as many distinct values as rows (fewer than five rows per class on average).
    /// Issue 12: scikit-learn's diabetes targets (214 distinct values in 442 rows) silently became a 214-class
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

/// <summary>The data cannot be used as asked (too small, shapes disagree): exit code 1.</summary>
internal sealed class DataException(string message) : Exception(message);
