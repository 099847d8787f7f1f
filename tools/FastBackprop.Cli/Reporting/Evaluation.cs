using System.Globalization;
using System.Numerics.Tensors;

namespace FastBackprop.Cli;

/// <summary>Loss and accuracy (or regression errors) of a network on a data set, with a confusion matrix for classes.
/// <see cref="Loss"/> is the training loss (in the units the network was trained in: for regression with standardised
/// targets, ½·MSE of the standardised targets); the regression errors (MSE, MAE, R², max |error|) are in the targets' own
/// units, after the target standardisation is undone.</summary>
internal sealed record EvaluationResult(double Loss, int Correct, int Count, long[,]? Confusion, double MeanSquaredError, double MaxAbsError,
    double MeanAbsoluteError = 0, double RSquared = 0, bool IsClassification = false)
{
    /// <summary>The most classes a confusion matrix is counted for: it is classes² counters (70,000 classes
    /// ran out of memory here after training), and above a few dozen classes nobody reads it.</summary>
    public const int MaxConfusionClasses = 256;


    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;

    /// <summary>The line CI reads: <c>final held-out accuracy: NN.NN% (k/n)</c>, or the regression errors.</summary>
    public string FinalLine(string name) => IsClassification
        ? string.Create(CultureInfo.InvariantCulture, $"final {name} accuracy: {Accuracy * 100:0.00}% ({Correct}/{Count})")
        : string.Create(CultureInfo.InvariantCulture,
            $"final {name} MSE: {Number(MeanSquaredError)} (RMSE {Number(Math.Sqrt(MeanSquaredError))}, MAE {Number(MeanAbsoluteError)}, R² {RSquared:0.0000}, max |error| {Number(MaxAbsError)}; in the target's units) on {Count} samples");

    /// <summary>The loss line, or null where it would repeat the MSE under another name: for a squared-error loss the
    /// regression errors say everything, in the targets' own units ("loss: 1797.4 (mean squared error)" was
    /// printed beside "MSE: 3594.8").</summary>
    public string? LossLine(string label, Loss loss) => !IsClassification && loss.Kind == LossKind.SquaredError || double.IsNaN(Loss) ? null
        : string.Create(CultureInfo.InvariantCulture, $"{label}{Loss:0.000000} ({Evaluation.Describe(loss)})");

    /// <summary>Six significant digits, without exponent for ordinary magnitudes.</summary>
    internal static string Number(double x) => double.IsFinite(x) && (x == 0 || Math.Abs(x) is >= 1e-4 and < 1e9)
        ? x.ToString(Math.Abs(x) >= 1e5 ? "0.#" : "0.######", CultureInfo.InvariantCulture)
        : x.ToString("0.#####e+0", CultureInfo.InvariantCulture);
}

internal static class Evaluation
{
    private const int Chunk = 512;

    /// <summary>The loss that fits a network's output layer when none was recorded.</summary>
    public static Loss DefaultLoss(Network<float> network, bool classification) => network.Layer(network.LayerCount - 1).Activation.Kind switch
    {
        ActivationKind.Softmax => Loss.SoftmaxCrossEntropy,
        ActivationKind.Sigmoid when classification => Loss.BinaryCrossEntropy,
        _ => Loss.MeanSquaredError,
    };

    /// <summary>The loss's precise name: the squared-error loss is half the mean squared error (docs/MATH.md).</summary>
    public static string Describe(Loss loss) => (loss.Kind, loss.Reduction) switch
    {
        (LossKind.SquaredError, Reduction.Mean) => "½·mean squared error",
        (LossKind.SquaredError, _) => "½·sum of squared errors",
        (LossKind.BinaryCrossEntropy, _) => "binary cross-entropy",
        _ => "softmax cross-entropy",
    };

    /// <summary>Evaluates <paramref name="network"/> on <paramref name="data"/> (features already standardised; regression
    /// targets in their own units) with <paramref name="loss"/>. With <paramref name="targetScaling"/> the network predicts
    /// standardised targets: the loss is measured on those, the regression errors on predictions mapped back.
    /// Class data need a softmax output with one unit per class or one sigmoid output for two classes. Stops with an
    /// <see cref="OperationCanceledException"/> between chunks of rows once <paramref name="interrupt"/> is cancelled.
    /// With <paramref name="quantized"/> (a quantized model's int8 network, whose shape <paramref name="network"/> gives) the
    /// outputs are its own; it keeps no logits, so the loss is not measured (<see cref="EvaluationResult.Loss"/> is NaN).</summary>
    public static EvaluationResult Evaluate(Network<float> network, Loss loss, Dataset<float> data, Standardizer<float>? targetScaling = null,
        CancellationToken interrupt = default, QuantizedNetwork? quantized = null)
    {
        QuantizedInferenceWorkspace? workspace = quantized?.CreateInferenceWorkspace(Math.Max(1, Math.Min(Chunk, data.Count)));
        int inputs = network.InputSize, outputs = network.OutputSize;
        int chunk = Math.Min(Chunk, data.Count);
        var y = new float[chunk * outputs];
        var targets = new float[chunk * outputs];
        bool classification = data.IsClassification;
        int classes = classification ? data.OutputCount : 0;
        long[,]? confusion = classification && classes <= EvaluationResult.MaxConfusionClasses ? new long[classes, classes] : null;
        double lossSum = 0, sse = 0, maxAbs = 0, sae = 0;
        // Per output: the sum of targets and of squared deviations from a running mean (Welford), for R².
        var targetMean = new double[outputs];
        var targetSquares = new double[outputs];
        var outputSse = new double[outputs];
        int correct = 0;
        bool mean = loss.Reduction == Reduction.Mean;

        for (int first = 0; first < data.Count; first += chunk)
        {
            interrupt.ThrowIfCancellationRequested();
            int count = Math.Min(chunk, data.Count - first);
            ReadOnlySpan<float> x = data.Features.AsSpan(first * inputs, count * inputs);
            Span<float> output = y.AsSpan(0, count * outputs);
            float value;
            if (classification)
            {
                ReadOnlySpan<int> truth = data.ClassIndices.AsSpan(first, count);
                if (outputs == 1)
                {
                    for (int j = 0; j < count; j++)
                        targets[j] = truth[j] == 1 ? 1f : 0f;
                    value = quantized is null ? network.ComputeLoss(x, targets.AsSpan(0, count), count, loss, output) : Unmeasured(quantized, x, count, output, workspace!);
                }
                else
                {
                    value = quantized is null ? network.ComputeLoss(x, truth, count, loss, output) : Unmeasured(quantized, x, count, output, workspace!);
                }
                RefuseNonFinite(network, output, count, first);
                for (int j = 0; j < count; j++)
                {
                    int predicted = outputs == 1 ? (output[j] > 0.5f ? 1 : 0) : TensorPrimitives.IndexOfMax<float>(output.Slice(j * outputs, outputs));
                    if (confusion is not null)
                        confusion[truth[j], predicted]++;
                    if (predicted == truth[j])
                        correct++;
                }
            }
            else
            {
                ReadOnlySpan<float> t = data.Targets.AsSpan(first * outputs, count * outputs);
                if (targetScaling is null)
                {
                    value = quantized is null ? network.ComputeLoss(x, t, count, loss, output) : Unmeasured(quantized, x, count, output, workspace!);
                }
                else
                {
                    Span<float> scaled = targets.AsSpan(0, count * outputs);
                    t.CopyTo(scaled);
                    targetScaling.Transform(scaled);
                    value = quantized is null ? network.ComputeLoss(x, scaled, count, loss, output) : Unmeasured(quantized, x, count, output, workspace!);
                    targetScaling.InverseTransform(output);
                }
                RefuseNonFinite(network, output, count, first);
                for (int k = 0; k < t.Length; k++)
                {
                    double err = (double)output[k] - t[k];
                    sse += err * err;
                    sae += Math.Abs(err);
                    maxAbs = Math.Max(maxAbs, Math.Abs(err));
                    int o = k % outputs;
                    outputSse[o] += err * err;
                    long seen = (long)first + k / outputs + 1;
                    double delta = t[k] - targetMean[o];
                    targetMean[o] += delta / seen;
                    targetSquares[o] += delta * (t[k] - targetMean[o]);
                }
            }
            lossSum += mean ? (double)value * count : value;
        }
        long values = Math.Max(1, (long)data.Count * outputs);
        return new EvaluationResult(lossSum / data.Count, correct, data.Count, confusion, sse / values, maxAbs, sae / values,
            classification ? 0 : RSquared(outputSse, targetSquares), classification);
    }

    /// <summary>The int8 network's outputs for a chunk; its loss is not measured (NaN).</summary>
    private static float Unmeasured(QuantizedNetwork quantized, ReadOnlySpan<float> x, int count, Span<float> output, QuantizedInferenceWorkspace workspace)
    {
        quantized.Predict(x, count, output, workspace);
        return float.NaN;
    }

    /// <summary>Throws a <see cref="NonFiniteOutputException"/> for the first row of a chunk whose outputs are not all finite,
    /// its <see cref="NonFiniteOutputException.Row"/> counted in the whole data set (the chunk starts at row <paramref name="first"/>):
    /// a NaN must not become a "loss: NaN" or a silently wrong accuracy.</summary>
    private static void RefuseNonFinite(Network<float> network, ReadOnlySpan<float> outputs, int count, int first)
    {
        int row = network.FirstNonFiniteRow(outputs, count);
        if (row < 0)
            return;
        ReadOnlySpan<float> values = outputs.Slice(row * network.OutputSize, network.OutputSize);
        int k = 0;
        while (float.IsFinite(values[k]))
            k++;
        throw new NonFiniteOutputException(first + row, k, values[k]);
    }

    /// <summary>The error for a row whose prediction is NaN or ±∞, at <paramref name="place"/> (the file and its data row).</summary>
    public static DataException NonFiniteOutput(string place, NonFiniteOutputException e)
        => new(string.Create(CultureInfo.InvariantCulture,
            $"{place}: the model's output {e.Output} is {e.Value}: its weights, each finite, overflow together on this row's features, so it has no prediction for it"));

    /// <summary>The error for a feature that the model's standardisation turns into ±∞, at <paramref name="place"/> (the
    /// file and its data row).</summary>
    public static DataException FeatureOverflow(string place, StandardizationOverflowException e, IReadOnlyList<string>? featureNames)
        => new(string.Create(CultureInfo.InvariantCulture,
            $"{place}, feature {e.Feature}{(featureNames is null ? "" : $" ('{Program.Printable(featureNames[e.Feature])}')")}: {(float)e.Value:R} is too far outside the training data for the model's standardisation (standardised, it overflows), so it has no prediction"));

    /// <summary>The coefficient of determination as scikit-learn's r2_score computes it: 1 − SSE/SST per output (SST about
    /// the evaluated targets' own mean), averaged over outputs; a constant target scores 1 when predicted exactly, else 0.</summary>
    internal static double RSquared(ReadOnlySpan<double> sse, ReadOnlySpan<double> sst)
    {
        double sum = 0;
        for (int o = 0; o < sse.Length; o++)
            sum += sst[o] > 0 ? 1 - sse[o] / sst[o] : sse[o] == 0 ? 1 : 0;
        return sum / sse.Length;
    }

    /// <summary>Writes the confusion matrix (rows: true class, columns: predicted class).</summary>
    public static void WriteConfusion(TextWriter output, long[,] confusion, IReadOnlyList<string> labels)
    {
        int k = confusion.GetLength(0);
        // Control characters escaped before shortening: the column widths are those of what is printed.
        string[] names = Enumerable.Range(0, k).Select(i => Shorten(Program.Printable(i < labels.Count ? labels[i] : i.ToString(CultureInfo.InvariantCulture)))).ToArray();
        long max = 1;
        foreach (long v in confusion)
            max = Math.Max(max, v);
        int width = Math.Max(names.Max(n => n.Length), max.ToString(CultureInfo.InvariantCulture).Length) + 1;
        int labelWidth = Math.Max(names.Max(n => n.Length), "true \\ predicted".Length);
        output.WriteLine("confusion matrix (rows: true class, columns: predicted class):");
        output.Write("true \\ predicted".PadRight(labelWidth));
        foreach (string n in names)
            output.Write(n.PadLeft(width));
        output.WriteLine();
        for (int i = 0; i < k; i++)
        {
            output.Write(names[i].PadRight(labelWidth));
            for (int j = 0; j < k; j++)
                output.Write(confusion[i, j].ToString(CultureInfo.InvariantCulture).PadLeft(width));
            output.WriteLine();
        }
    }

    private static string Shorten(string label) => label.Length <= 12 ? label : label[..11] + "~";
}
