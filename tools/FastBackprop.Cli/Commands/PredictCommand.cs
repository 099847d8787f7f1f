using System.CommandLine;
using System.Globalization;
using System.Text;

namespace FastBackprop.Cli;

/// <summary><c>predict</c>: runs a saved model on a features-only CSV and writes one line per row.</summary>
internal static class PredictCommand
{
    private const int Chunk = 512;

    public static readonly Option<string?> Csv = CliOption.Text("--csv", "FILE",
        "features, one sample per row; every column is a feature unless --target names one to drop. With a header row and a model that knows its feature names, columns are matched by name (any order; a missing or unknown column is an error), else by position");
    public static readonly Option<string?> Output = CliOption.Text("--output", "FILE", "write the predictions to FILE instead of standard output");
    public static readonly Option<bool> Outputs = CliOption.Flag("--outputs",
        "every output value of every row, also for a classifier (e.g. each class's probability, in the model's class order), instead of class and probability");

    public static readonly CliCommand Definition = new("predict", "predictions of a saved model for the rows of a CSV file",
        [ModelArgs.Model, Csv, Output, Outputs, .. CsvArgs.Options, LimitArgs.Limit], (args, context) => Run(args, context.Output, context.Interrupt))
    {
        Notes =
            """
            Output: one line per input row, in order. Classification (without --outputs): the predicted class
            label and its probability, e.g. "setosa,0.9731"; a label holding a comma or a quote is quoted as in
            CSV, and control characters in it are written as \uXXXX escapes. Regression: the predicted
            value(s), comma-separated. A row whose prediction is not finite (NaN or infinity: the model's
            weights overflow on it) is an error naming the row, and nothing is written.
            """,
    };

    public static int Run(ParsedArgs parsed, TextWriter stdout, CancellationToken interrupt)
    {
        if (!parsed.Has(ModelArgs.Model))
            throw new UsageException("'predict' needs --model MODEL (a file saved by 'train --save')");
        string csv = parsed.File(Csv) ?? throw new UsageException("'predict' needs --csv FILE (the features to predict from)");
        string? outputPath = parsed.Value(Output);
        if (outputPath is not null)
            FileArgs.CheckOutput("--output", outputPath);
        CsvOptions options = CsvArgs.Build(parsed, CsvTask.Classification);
        Model<float> model = ModelArgs.Load(parsed);
        CsvFeatures<float> features = CsvArgs.LoadFeatures(csv, options, dropTargetColumn: parsed.Has(CsvArgs.Target), interrupt);
        features = FeatureColumns.Match(model, features, Path.GetFileName(csv), parsed.Has(CsvArgs.Target) ? null : " (if it is the target column, drop it with --target)");
        if (features.FeatureCount != model.InputSize)
            throw new DataException($"{Path.GetFileName(csv)} has {features.FeatureCount} columns of features but the model takes {model.InputSize}"
                + (parsed.Has(CsvArgs.Target) ? "" : " (if the file holds the target column, drop it with --target)"));

        string text = Predict(model, features, csv, interrupt, everyOutput: parsed.Has(Outputs));
        if (outputPath is null)
        {
            stdout.Write(text);
        }
        else
        {
            // Through a temporary file renamed over the target: an interrupted or failed write leaves no partial file,
            // and an existing file as it was.
            byte[] bytes = new UTF8Encoding(false).GetBytes(text);
            AtomicFile.Write(outputPath, stream => WriteInterruptibly(stream, bytes, interrupt));
            Console.Error.WriteLine($"{features.Count} predictions written to {outputPath}");
        }
        return Program.ExitOk;
    }

    private const int WriteChunk = 1 << 20;

    private static void WriteInterruptibly(Stream stream, byte[] bytes, CancellationToken interrupt)
    {
        for (int first = 0; first < bytes.Length; first += WriteChunk)
        {
            interrupt.ThrowIfCancellationRequested();
            stream.Write(bytes, first, Math.Min(WriteChunk, bytes.Length - first));
        }
    }

    /// <summary>The output lines for every row of <paramref name="features"/> (read from <paramref name="source"/>); a row
    /// whose prediction is NaN or ±∞ is an error naming it, and then nothing is printed. Stops with an
    /// <see cref="OperationCanceledException"/> between chunks of rows once <paramref name="interrupt"/> is cancelled.
    /// <paramref name="everyOutput"/>: every output value of a classifier, not its class and probability.</summary>
    internal static string Predict(Model<float> model, CsvFeatures<float> features, string source, CancellationToken interrupt = default, bool everyOutput = false)
    {
        int inputs = model.InputSize, outputs = model.OutputSize;
        IReadOnlyList<string>? labels = everyOutput ? null : model.ClassLabels;
        var y = new float[Math.Min(Chunk, features.Count) * outputs];
        var text = new StringBuilder();
        for (int first = 0; first < features.Count; first += Chunk)
        {
            interrupt.ThrowIfCancellationRequested();
            int count = Math.Min(Chunk, features.Count - first);
            try
            {
                model.Predict(features.Features.AsSpan(first * inputs, count * inputs), count, y.AsSpan(0, count * outputs));
            }
            catch (NonFiniteOutputException e)
            {
                throw Evaluation.NonFiniteOutput($"{Path.GetFileName(source)}, data row {first + e.Row + 1}", e);
            }
            catch (StandardizationOverflowException e)
            {
                throw Evaluation.FeatureOverflow($"{Path.GetFileName(source)}, data row {first + e.Row + 1}", e, model.FeatureNames);
            }
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<float> row = y.AsSpan(i * outputs, outputs);
                if (labels is null)
                {
                    for (int k = 0; k < outputs; k++)
                    {
                        if (k > 0)
                            text.Append(',');
                        text.Append(row[k].ToString("R", CultureInfo.InvariantCulture));
                    }
                }
                else
                {
                    int predicted;
                    float probability;
                    if (outputs == 1)
                    {
                        predicted = row[0] > 0.5f ? 1 : 0;
                        probability = predicted == 1 ? row[0] : 1 - row[0];
                    }
                    else
                    {
                        predicted = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row);
                        probability = row[predicted];
                    }
                    text.Append(CsvField(labels[predicted])).Append(',').Append(probability.ToString("0.0000", CultureInfo.InvariantCulture));
                }
                text.Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>A label as one CSV field, the same on the terminal and in --output files: control characters (line breaks
    /// included) as <c>\u001B</c>-style escapes, so a model's labels cannot drive the terminal or split a record, then
    /// quoted as RFC 4180 says when it holds a comma or a quote (doubled inside).</summary>
    internal static string CsvField(string label)
    {
        string printable = Program.Printable(label);
        return printable.AsSpan().IndexOfAny(',', '"') >= 0 ? "\"" + printable.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : printable;
    }
}
