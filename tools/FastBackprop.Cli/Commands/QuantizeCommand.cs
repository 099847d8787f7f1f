using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace FastBackprop.Cli;

/// <summary><c>quantize</c>: writes a saved fp32 model at int8 (<see cref="QuantizedNetworkExtensions.Quantize(Model{float}, QuantizationOptions?)"/>)
/// and, given labelled data, compares the two: accuracy or R², file sizes and the time of one sample's prediction.</summary>
internal static class QuantizeCommand
{
    public static readonly Argument<string> Source = new("MODEL.fbpm") { Description = "the fp32 model, saved by 'train --save'" };
    public static readonly Argument<string> Destination = new("OUT.fbpm") { Description = "the int8 model to write" };
    public static readonly Option<bool> KeepOutputFloat = CliOption.Flag("--keep-output-float",
        "keep the output layer in fp32 (exact logits; the other dense layers int8)");
    public static readonly Option<string?> Csv = CliOption.Text("--csv", "FILE", "labelled CSV data to compare the two models on (as for 'evaluate')");
    public static readonly Option<string[]?> Idx = CliOption.Values("--idx", 2, "IMAGES LABELS", "IDX image and label files to compare the two models on");

    public static readonly CliCommand Definition = new("quantize", "write a saved model with int8 weights, for serving",
        [Source, Destination, KeepOutputFloat, Csv, Idx, .. CsvArgs.Options, LimitArgs.Limit], (args, context) => Run(args, context.Output, context.Interrupt))
    {
        WrongArguments = given => $"'quantize' takes two file names first: MODEL.fbpm OUT.fbpm (got {given.Count}{(given.Count > 0 ? $": {string.Join(' ', given)}" : "")})",
        Notes =
            """
            Data (optional): --csv FILE (with the CSV options) or --idx IMAGES LABELS.

            Each dense layer's weights become int8 codes with one scale per output unit; each sample's
            activations are quantized at run time, so a prediction does not depend on the rest of its batch.
            OUT.fbpm is about a quarter of MODEL.fbpm's size and works with 'predict', 'evaluate', 'info'
            and the serving sample. With data, prints the accuracy (classification) or R² (regression) of
            both models, both file sizes and the time one sample's prediction takes with each (one thread,
            batch of 1, the network alone). OUT.fbpm is written atomically.
            """,
    };

    /// <summary>Timing stops after this long per model (and after every test row has been predicted at least once).</summary>
    private static readonly TimeSpan TimingBudget = TimeSpan.FromMilliseconds(300);

    public static int Run(ParsedArgs args, TextWriter output, CancellationToken interrupt)
    {
        string source = args.Value(Source)!, destination = args.Value(Destination)!;
        FileArgs.CheckInput("'quantize'", source);
        FileArgs.CheckOutput("'quantize' output", destination);
        bool withData = args.Has(Csv) || args.Has(Idx);
        if (withData)
            EvaluateCommand.RequireData(args, "'quantize'", Csv, Idx);
        foreach (Option csvOption in CsvArgs.Options)
            args.Requires(csvOption, Csv);

        Model<float> model = ModelFile.Load<float>(source);
        if (model.Quantized is not null)
            throw new UsageException($"'quantize': {Path.GetFileName(source)} is already quantized ({ModelArgs.Describe(model)}); quantize the fp32 model it came from");
        interrupt.ThrowIfCancellationRequested();
        Model<float> quantized = model.Quantize(new QuantizationOptions { KeepOutputLayerInFloat = args.Has(KeepOutputFloat) });
        ModelFile.Save(destination, quantized);
        output.WriteLine($"quantized {ModelArgs.Describe(quantized)} to {destination}");
        long fp32Bytes = new FileInfo(source).Length, int8Bytes = new FileInfo(destination).Length;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"size:     fp32 {fp32Bytes:N0} bytes, int8 {int8Bytes:N0} bytes ({100.0 * int8Bytes / fp32Bytes:0.0}%)"));
        if (!withData)
            return Program.ExitOk;

        EvaluateCommand.LabelledData data = EvaluateCommand.LoadData(args, model, Csv, Idx, interrupt);
        Loss loss = EvaluateCommand.LossOf(model, data);
        EvaluationResult fp32 = EvaluateCommand.Evaluate(model, loss, data, interrupt);
        EvaluationResult int8 = EvaluateCommand.Evaluate(quantized, loss, data, interrupt);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"data:     {data.Name}: {data.Raw.Count} samples"));
        output.WriteLine(fp32.IsClassification
            ? string.Create(CultureInfo.InvariantCulture,
                $"accuracy: fp32 {fp32.Accuracy * 100:0.00}% ({fp32.Correct}/{fp32.Count}), int8 {int8.Accuracy * 100:0.00}% ({int8.Correct}/{int8.Count})")
            : string.Create(CultureInfo.InvariantCulture, $"R²:       fp32 {fp32.RSquared:0.0000}, int8 {int8.RSquared:0.0000}"));
        double fp32Time = MicrosecondsPerSample(Fp32Predictor(model), data.Standardised, interrupt);
        double int8Time = MicrosecondsPerSample(Int8Predictor(quantized.Quantized!), data.Standardised, interrupt);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"predict:  fp32 {fp32Time:0.00} µs/sample, int8 {int8Time:0.00} µs/sample ({fp32Time / int8Time:0.00}× faster; one sample at a time, {Parallelism.MaxDegreeOfParallelism} thread(s))"));
        return Program.ExitOk;
    }

    /// <summary>Predicts one standardised sample (into a buffer of its own).</summary>
    private delegate void Predictor(ReadOnlySpan<float> sample);

    private static Predictor Fp32Predictor(Model<float> model)
    {
        FrozenNetwork<float> network = model.Network.Freeze();
        InferenceWorkspace<float> workspace = network.CreateInferenceWorkspace(1);
        var y = new float[network.OutputSize];
        return x => network.Predict(x, 1, y, workspace);
    }

    private static Predictor Int8Predictor(QuantizedNetwork network)
    {
        QuantizedInferenceWorkspace workspace = network.CreateInferenceWorkspace(1);
        var y = new float[network.OutputSize];
        return x => network.Predict(x, 1, y, workspace);
    }

    /// <summary>The mean time of one sample's prediction over the data's rows in turn (after one warm-up pass over up to
    /// 100 rows), taken for <see cref="TimingBudget"/> or one pass, whichever is longer.</summary>
    private static double MicrosecondsPerSample(Predictor predict, Dataset<float> data, CancellationToken interrupt)
    {
        int n = data.FeatureCount;
        for (int i = 0; i < Math.Min(100, data.Count); i++)
            predict(data.Features.AsSpan(i * n, n));
        long start = Stopwatch.GetTimestamp();
        long samples = 0;
        while (samples < data.Count || Stopwatch.GetElapsedTime(start) < TimingBudget)
        {
            interrupt.ThrowIfCancellationRequested();
            for (int i = 0; i < data.Count; i++, samples++)
                predict(data.Features.AsSpan(i * n, n));
        }
        return Stopwatch.GetElapsedTime(start).TotalMicroseconds / samples;
    }
}
