using System.Globalization;
using System.Numerics.Tensors;

namespace FastBackprop.Cli;

/// <summary>Loss and accuracy (or regression errors) of a network on a data set, with a confusion matrix for classes.</summary>
internal sealed record EvaluationResult(double Loss, int Correct, int Count, long[,]? Confusion, double MeanSquaredError, double MaxAbsError)
{
    public bool IsClassification => Confusion is not null;

    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;

    /// <summary>The line CI reads: <c>final held-out accuracy: NN.NN% (k/n)</c>, or the regression errors.</summary>
    public string FinalLine(string name) => IsClassification
        ? string.Create(CultureInfo.InvariantCulture, $"final {name} accuracy: {Accuracy * 100:0.00}% ({Correct}/{Count})")
        : string.Create(CultureInfo.InvariantCulture,
            $"final {name} MSE: {MeanSquaredError:0.000000} (RMSE {Math.Sqrt(MeanSquaredError):0.0000}, max |error| {MaxAbsError:0.0000}) on {Count} samples");
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

    /// <summary>Evaluates <paramref name="network"/> on <paramref name="data"/> (already standardised) with <paramref name="loss"/>.
    /// Class data need a softmax output with one unit per class or one sigmoid output for two classes.</summary>
    public static EvaluationResult Evaluate(Network<float> network, Loss loss, Dataset<float> data)
    {
        int inputs = network.InputSize, outputs = network.OutputSize;
        int chunk = Math.Min(Chunk, data.Count);
        var y = new float[chunk * outputs];
        var targets = new float[chunk * outputs];
        bool classification = data.IsClassification;
        int classes = classification ? data.OutputCount : 0;
        long[,]? confusion = classification ? new long[classes, classes] : null;
        double lossSum = 0, sse = 0, maxAbs = 0;
        int correct = 0;
        bool mean = loss.Reduction == Reduction.Mean;

        for (int first = 0; first < data.Count; first += chunk)
        {
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
                    value = network.ComputeLoss(x, targets.AsSpan(0, count), count, loss, output);
                }
                else
                {
                    value = network.ComputeLoss(x, truth, count, loss, output);
                }
                for (int j = 0; j < count; j++)
                {
                    int predicted = outputs == 1 ? (output[j] > 0.5f ? 1 : 0) : TensorPrimitives.IndexOfMax<float>(output.Slice(j * outputs, outputs));
                    confusion![truth[j], predicted]++;
                    if (predicted == truth[j])
                        correct++;
                }
            }
            else
            {
                ReadOnlySpan<float> t = data.Targets.AsSpan(first * outputs, count * outputs);
                value = network.ComputeLoss(x, t, count, loss, output);
                for (int k = 0; k < t.Length; k++)
                {
                    double err = (double)output[k] - t[k];
                    sse += err * err;
                    maxAbs = Math.Max(maxAbs, Math.Abs(err));
                }
            }
            lossSum += mean ? (double)value * count : value;
        }
        return new EvaluationResult(lossSum / data.Count, correct, data.Count, confusion,
            sse / Math.Max(1, (long)data.Count * outputs), maxAbs);
    }

    /// <summary>Writes the confusion matrix (rows: true class, columns: predicted class).</summary>
    public static void WriteConfusion(TextWriter output, long[,] confusion, IReadOnlyList<string> labels)
    {
        int k = confusion.GetLength(0);
        string[] names = Enumerable.Range(0, k).Select(i => Shorten(i < labels.Count ? labels[i] : i.ToString(CultureInfo.InvariantCulture))).ToArray();
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
