namespace FastBackprop.Cli;

/// <summary>
/// Matches a CSV file's feature columns to a model's inputs. When both have names — the file a header row, the model
/// the header of its training CSV (model files since format version 3) — columns are matched by name: reordered to the
/// model's order, and a model feature the file lacks or a file column the model does not know is an error naming it.
/// Two named columns swapped would otherwise be scored silently with each other's values. When either side has no
/// names, columns are matched by position, and a note on standard error says so.
/// </summary>
internal static class FeatureColumns
{
    /// <summary><paramref name="features"/> with its columns in the model's input order.</summary>
    public static CsvFeatures<float> Match(Model<float> model, CsvFeatures<float> features, string file, string? extraHint = null)
        => Order(model.FeatureNames, features.Header, file, extraHint) is int[] order
            ? new CsvFeatures<float>(Reorder(features.Features, features.FeatureCount, order), order.Length, features.Count, [.. model.FeatureNames!])
            : features;

    /// <summary><paramref name="data"/> with its feature columns in the model's input order (targets unchanged).</summary>
    public static Dataset<float> Match(Model<float> model, Dataset<float> data, string file)
    {
        if (Order(model.FeatureNames, data.FeatureNames, file, null) is not int[] order)
            return data;
        float[] x = Reorder(data.Features, data.FeatureCount, order);
        return data.IsClassification
            ? new Dataset<float>(x, order.Length, data.ClassIndices!, data.OutputCount, data.ClassLabels) { FeatureNames = model.FeatureNames }
            : new Dataset<float>(x, order.Length, data.Targets!, data.OutputCount) { FeatureNames = model.FeatureNames };
    }

    /// <summary>For each model input, the file column that feeds it; null to keep the file's columns as they are (no
    /// names on one side, or already in order). Throws a <see cref="DataException"/> for a missing or unknown column.</summary>
    internal static int[]? Order(IReadOnlyList<string>? model, IReadOnlyList<string>? file, string fileName, string? extraHint)
    {
        if (model is null || file is null)
        {
            if (model is not null || file is not null)
                Console.Error.WriteLine($"{Program.Name}: note: {fileName}: columns matched to the model's inputs by position, "
                    + (model is null ? "as the model holds no feature names (saved from data without a header, or by an older version)" : "as the file has no header row"));
            return null;
        }
        var column = new Dictionary<string, int>(file.Count, StringComparer.Ordinal);
        for (int i = 0; i < file.Count; i++)
        {
            if (!column.TryAdd(file[i], i))
                throw new DataException($"{fileName}: the header names column {Quote(file[i])} twice (columns {column[file[i]] + 1} and {i + 1}), so it cannot be matched to the model's feature of that name");
        }
        var expected = new HashSet<string>(model, StringComparer.Ordinal);
        if (model.FirstOrDefault(name => !column.ContainsKey(name)) is string missing)
            throw new DataException($"{fileName} has no column {Quote(missing)}, which the model takes as a feature (its features: {List(model)})");
        if (file.FirstOrDefault(name => !expected.Contains(name)) is string extra)
            throw new DataException($"{fileName} has a column {Quote(extra)} that is not one of the model's features ({List(model)}){extraHint}");
        int[] order = model.Select(name => column[name]).ToArray();
        return order.Select((c, i) => c == i).All(same => same) ? null : order;
    }

    private static float[] Reorder(float[] features, int columns, int[] order)
    {
        int rows = features.Length / columns;
        var result = new float[(long)rows * order.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < order.Length; j++)
                result[(long)r * order.Length + j] = features[(long)r * columns + order[j]];
        }
        return result;
    }

    private static string Quote(string name) => $"'{(name.Length <= 60 ? name : name[..60] + "…")}'";

    private static string List(IReadOnlyList<string> names)
        => string.Join(", ", names.Take(10).Select(Quote)) + (names.Count > 10 ? $", … {names.Count} in all" : "");
}
