using System.CommandLine;
using System.Globalization;

namespace FastBackprop.Cli;

/// <summary><c>evaluate</c>: loss and accuracy (with a confusion matrix for up to 20 classes) of a saved model on a labelled set.</summary>
internal static class EvaluateCommand
{
    public const int MaxConfusionClasses = 20;

    public static readonly Option<string?> Csv = CliOption.Text("--csv", "FILE",
        "labelled CSV data with the same feature columns as in training (matched by name when the file has a header and the model its feature names)");
    public static readonly Option<string[]?> Idx = CliOption.Values("--idx", 2, "IMAGES LABELS",
        "IDX image and label files (unsigned-byte pixels scaled to [0,1], as in training)");

    public static readonly CliCommand Definition = new("evaluate", "loss and accuracy of a saved model on labelled data",
        [ModelArgs.Model, Csv, Idx, .. CsvArgs.Options, LimitArgs.Limit], (args, context) => Run(args, context.Output, context.Interrupt))
    {
        Aliases = { "eval" },
        Notes =
            """
            Data: --csv FILE (with the CSV options) or --idx IMAGES LABELS.

            The model's own standardisation and class labels are applied: labels not known to the model are
            an error. Classification prints loss, accuracy and, for up to 20 classes, a confusion matrix;
            regression prints MSE, RMSE, MAE, R² and the largest error, in the target's own units (a model
            trained on standardised targets has its predictions mapped back first). A row whose prediction
            is not finite (NaN or infinity: the model's weights overflow on it) is an error naming the row.
            A quantized model ('quantize') is evaluated through its int8 layers, without a loss line (it
            keeps no logits).
            """,
    };

    public static int Run(ParsedArgs parsed, TextWriter output, CancellationToken interrupt)
    {
        RequireData(parsed, "'evaluate'", Csv, Idx);
        if (!parsed.Has(ModelArgs.Model))
            throw new UsageException("'evaluate' needs --model MODEL (a file saved by 'train --save')");
        Model<float> model = ModelArgs.Load(parsed);
        interrupt.ThrowIfCancellationRequested();
        LabelledData data = LoadData(parsed, model, Csv, Idx, interrupt);
        Loss loss = LossOf(model, data);
        EvaluationResult result = Evaluate(model, loss, data, interrupt);
        IReadOnlyList<string>? labels = model.ClassLabels;
        output.WriteLine($"model:    {ModelArgs.Describe(model)}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"data:     {data.Name}: {data.Raw.Count} samples, {data.Raw.FeatureCount} features"));
        if (result.LossLine("loss:     ", loss) is string lossLine)
            output.WriteLine(lossLine);
        if (result.IsClassification)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accuracy: {result.Accuracy * 100:0.00}% ({result.Correct}/{result.Count})"));
            if (labels!.Count <= MaxConfusionClasses && result.Confusion is not null)
            {
                output.WriteLine();
                Evaluation.WriteConfusion(output, result.Confusion, labels);
            }
        }
        else
        {
            // One figure per name, all in the target's units; the training loss (½·MSE) is not repeated.
            output.WriteLine($"MSE:      {EvaluationResult.Number(result.MeanSquaredError)}");
            output.WriteLine($"RMSE:     {EvaluationResult.Number(Math.Sqrt(result.MeanSquaredError))}");
            output.WriteLine($"MAE:      {EvaluationResult.Number(result.MeanAbsoluteError)}");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"R²:       {result.RSquared:0.0000}"));
            output.WriteLine($"max |error|: {EvaluationResult.Number(result.MaxAbsError)}");
        }
        return Program.ExitOk;
    }

    /// <summary>Checks that labelled data are given: --csv FILE (with its CSV options) or --idx IMAGES LABELS.</summary>
    public static void RequireData(ParsedArgs parsed, string command, Option<string?> csv, Option<string[]?> idx)
    {
        parsed.Exclusive(csv, idx);
        if (!parsed.Has(csv) && !parsed.Has(idx))
            throw new UsageException($"{command} needs data: --csv FILE or --idx IMAGES LABELS");
        foreach (Option csvOption in CsvArgs.Options)
            parsed.Requires(csvOption, csv);
    }

    /// <summary>Labelled data as read (<see cref="Raw"/>) and standardised for the model's network, with where a row came from.</summary>
    internal sealed record LabelledData(Dataset<float> Raw, Dataset<float> Standardised, string Name, Func<int, string> Place);

    /// <summary>The labelled data of <paramref name="csvOption"/> or <paramref name="idxOption"/> for <paramref name="model"/>: columns matched to its features, its
    /// class labels applied, its input standardisation done.</summary>
    public static LabelledData LoadData(ParsedArgs parsed, Model<float> model, Option<string?> csvOption, Option<string[]?> idxOption, CancellationToken interrupt)
    {
        string? csv = parsed.File(csvOption);
        string[]? idx = parsed.Files(idxOption);
        IReadOnlyList<string>? labels = model.ClassLabels;
        Dataset<float> data;
        if (csv is not null)
        {
            CsvOptions csvOptions = CsvArgs.Build(parsed, labels is null ? CsvTask.Regression : CsvTask.Classification, labels);
            data = CsvArgs.Load(csv, csvOptions, interrupt);
            data = FeatureColumns.Match(model, data, Path.GetFileName(csv));
        }
        else
        {
            if (labels is null)
                throw new DataException("the model is a regression model; IDX label files hold classes");
            data = IdxLoader.LoadDataset(idx![0], idx[1], classCount: labels.Count, limits: LimitArgs.Parse(parsed).Data);
            interrupt.ThrowIfCancellationRequested();
        }
        if (data.FeatureCount != model.InputSize)
            throw new DataException($"the data have {data.FeatureCount} features per sample but the model takes {model.InputSize}");
        if (!data.IsClassification && data.OutputCount != model.OutputSize)
            throw new DataException($"the data have {data.OutputCount} target value(s) per sample but the model has {model.OutputSize} outputs");

        string Place(int row) => csv is not null ? $"{Path.GetFileName(csv)}, data row {row + 1}" : $"{Path.GetFileName(idx![0])}, image {row + 1}";
        try
        {
            return new LabelledData(data, model.InputStandardization?.Transform(data) ?? data, Path.GetFileName(csv ?? idx![0]), Place);
        }
        catch (StandardizationOverflowException e)
        {
            throw Evaluation.FeatureOverflow(Place(e.Row), e, model.FeatureNames);
        }
    }

    /// <summary>The loss the model was trained with, or the one its output implies.</summary>
    public static Loss LossOf(Model<float> model, LabelledData data) => model.Loss ?? Evaluation.DefaultLoss(model.Network, data.Raw.IsClassification);

    /// <summary>Evaluates <paramref name="model"/> on <paramref name="data"/>: through its int8 network when it is quantized.</summary>
    public static EvaluationResult Evaluate(Model<float> model, Loss loss, LabelledData data, CancellationToken interrupt)
    {
        try
        {
            return Evaluation.Evaluate(model.Network, loss, data.Standardised, model.TargetStandardization, interrupt, model.Quantized);
        }
        catch (NonFiniteOutputException e)
        {
            throw Evaluation.NonFiniteOutput(data.Place(e.Row), e);
        }
    }
}
