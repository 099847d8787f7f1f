using System.Globalization;
using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>
/// A model trained by the CLI on a CSV with a header, then <c>evaluate</c> or <c>predict</c> on a test CSV whose
/// columns were reordered (two features swapped, all shuffled, the label moved: a model that knows its feature names
/// must give the same score and predictions as on the original file), or renamed, dropped, replaced or added to (the
/// model's columns are then not all there, or not alone: it must refuse, naming the column). The training data come
/// from a few fixed variants per run, so the trained models are cached (<see cref="FuzzCase.Setup"/>).
/// </summary>
public static class ColumnCases
{
    private const int Variants = 6, TrainRows = 300, TestRows = 200;
    private static readonly string[] Names = ["age", "income", "height", "weight", "score", "rate"];
    private static readonly double[] Means = [40, 50_000, 170, 70, 5, 0.2];
    private static readonly double[] Scales = [12, 20_000, 10, 15, 2, 0.05];

    public static FuzzCase Create(Random random, int runSeed, int index)
    {
        int variant = random.Next(Variants);
        bool regression = variant >= 4;
        int features = 3 + variant % 3;
        string[][] train = Table(new Random(CaseGenerator.CaseSeed(runSeed, FuzzKind.Columns, -1 - variant)), features, regression, TrainRows);
        string[][] test = Table(new Random(CaseGenerator.CaseSeed(runSeed, FuzzKind.Columns, -100 - variant)), features, regression, TestRows);
        bool evaluate = random.Next(2) == 0;
        if (!evaluate)
            test = test.Select(row => row[..^1]).ToArray();   // predict reads features only

        (string what, string[][] mutated, bool refuse) = Mutate(random, test, features, evaluate);
        string[] command = evaluate
            ? ["evaluate", "--model", "@model.fbpm", "--csv", "@test.csv", "--header", "yes", "--target", "target"]
            : ["predict", "--model", "@model.fbpm", "--csv", "@test.csv", "--header", "yes"];
        List<string> setup = ["train", "--csv", "@train.csv", "--header", "yes", "--target", "target", "--epochs", "40", "--hidden", "16", "--seed", "1", "--save", "@model.fbpm"];
        if (regression)
            setup.Add("--regression");
        return new FuzzCase(FuzzKind.Columns, runSeed, index,
            $"csv {(regression ? "regression" : "classification")}, {features} named features (variant {variant}), {command[0]}",
            what,
            [("train.csv", Csv(train)), ("original.csv", Csv(test)), ("test.csv", Csv(mutated))])
        {
            Setup = setup,
            Command = command,
            Baseline = command.Select(a => a == "@test.csv" ? "@original.csv" : a).ToArray(),
            MustBeRefused = refuse,
        };
    }

    /// <summary>A header (features, then "target") and rows; the target depends on the features unevenly, so a model
    /// that reads one column for another scores far worse.</summary>
    private static string[][] Table(Random random, int features, bool regression, int rows)
    {
        List<string[]> table = [[.. Names.Take(features), "target"]];
        for (int r = 0; r < rows; r++)
        {
            double[] z = Enumerable.Range(0, features).Select(_ => random.NextDouble() * 4 - 2).ToArray();
            double signal = 2 * z[0] - z[1] + 0.5 * z[2];
            string target = regression ? Math.Round(signal, 4).ToString(CultureInfo.InvariantCulture) : signal > 0 ? "yes" : "no";
            table.Add([.. z.Select((v, j) => Math.Round(Means[j] + v * Scales[j], 4).ToString(CultureInfo.InvariantCulture)), target]);
        }
        return [.. table];
    }

    private static (string What, string[][] Table, bool MustBeRefused) Mutate(Random random, string[][] table, int features, bool withTarget)
    {
        int width = table[0].Length;
        int a = random.Next(features), b = (a + 1 + random.Next(features - 1)) % features;
        switch (random.Next(8))
        {
            case 0:
                return ($"columns '{table[0][a]}' and '{table[0][b]}' swapped", Reorder(table, Swap(Enumerable.Range(0, width).ToArray(), a, b)), false);
            case 1:
                {
                    int[] order = Enumerable.Range(0, width).ToArray();
                    random.Shuffle(order);
                    return ($"columns shuffled: {string.Join(", ", order.Select(i => table[0][i]))}", Reorder(table, order), false);
                }
            case 2 when withTarget:
                return ("the target column moved to the front", Reorder(table, [width - 1, .. Enumerable.Range(0, width - 1)]), false);
            case 3:
                return ($"column '{table[0][a]}' renamed '{table[0][a]}_x'", Rename(table, a, table[0][a] + "_x"), true);
            case 4:
                {
                    // Same count of columns, so a reader matching by position takes 'extra' for the dropped one.
                    string[][] dropped = Reorder(table, Enumerable.Range(0, width).Where(i => i != a).ToArray());
                    return ($"column '{table[0][a]}' dropped and an unknown column 'extra' (a copy of '{table[0][b]}') added last",
                        dropped.Select((row, r) => (string[])[.. row, r == 0 ? "extra" : table[r][b]]).ToArray(), true);
                }
            case 5:
                return ($"column '{table[0][a]}' dropped", Reorder(table, Enumerable.Range(0, width).Where(i => i != a).ToArray()), true);
            case 6:
                return ($"an extra column 'extra' (a copy of '{table[0][a]}') added", table.Select((row, r) => (string[])[.. row, r == 0 ? "extra" : row[a]]).ToArray(), true);
            default:
                return ("unchanged", table, false);
        }
    }

    private static int[] Swap(int[] order, int a, int b)
    {
        (order[a], order[b]) = (order[b], order[a]);
        return order;
    }

    private static string[][] Reorder(string[][] table, int[] order) => table.Select(row => order.Select(i => row[i]).ToArray()).ToArray();

    private static string[][] Rename(string[][] table, int column, string name) =>
        table.Select((row, r) => r == 0 ? row.Select((cell, i) => i == column ? name : cell).ToArray() : row).ToArray();

    private static FuzzFile Csv(string[][] table) =>
        FuzzFile.FromBytes(Encoding.UTF8.GetBytes(string.Concat(table.Select(row => string.Join(',', row) + "\n"))));
}
