namespace FastBackprop.Tests.Reference;

/// <summary>
/// MATH.md's loss table for one sample, in double. The batch cost is C = s·Σ_samples loss with
/// s = 1/n for the mean reduction and 1 for the sum; every derivative below carries the same s.
/// Targets are rows y (one-hot for softmax cross-entropy; class indices become one-hot rows first).
/// </summary>
public static class ReferenceLoss
{
    public static double Scale(Loss loss, int batch) => loss.Reduction == Reduction.Mean ? 1.0 / batch : 1.0;

    /// <summary>One sample's loss from its logits z and activations a = g(z).</summary>
    public static double Value(Loss loss, double[] z, double[] a, double[] y)
    {
        double sum = 0;
        switch (loss.Kind)
        {
            case LossKind.SquaredError:
                // ½‖a − y‖²
                for (int j = 0; j < a.Length; j++)
                    sum += 0.5 * (a[j] - y[j]) * (a[j] - y[j]);
                return sum;
            case LossKind.BinaryCrossEntropy:
                // −[y log a + (1 − y) log(1 − a)], with 0·log 0 = 0
                for (int j = 0; j < a.Length; j++)
                {
                    if (y[j] != 0) sum -= y[j] * Math.Log(a[j]);
                    if (y[j] != 1) sum -= (1 - y[j]) * Math.Log(1 - a[j]);
                }
                return sum;
            case LossKind.SoftmaxCrossEntropy:
                // −Σ_j y_j log softmax(z)_j
                double[] p = ReferenceActivation.Softmax(z);
                for (int j = 0; j < z.Length; j++)
                    if (y[j] != 0) sum -= y[j] * Math.Log(p[j]);
                return sum;
            default:
                throw new ArgumentException($"Unknown loss {loss}.");
        }
    }

    /// <summary>∂loss/∂a for the losses that have one (the middle column of the table, before the scale s).</summary>
    public static double[] GradientWithRespectToOutput(Loss loss, double[] a, double[] y) => loss.Kind switch
    {
        LossKind.SquaredError => a.Select((v, j) => v - y[j]).ToArray(),
        LossKind.BinaryCrossEntropy => a.Select((v, j) => -(y[j] / v - (1 - y[j]) / (1 - v))).ToArray(),
        _ => throw new ArgumentException("Softmax cross-entropy is only defined fused with softmax."),
    };

    /// <summary>
    /// BP1, Δ_L = ∂C/∂Z_L for one sample (scale s included): the general form ∂C/∂a ⊙ g'(z) for squared
    /// error, and MATH.md's fused forms s·(a − y) for sigmoid + binary cross-entropy and
    /// s·(softmax(z) − y) for softmax + cross-entropy.
    /// </summary>
    public static double[] OutputDelta(Loss loss, Activation g, double[] z, double[] a, double[] y, double s)
    {
        var delta = new double[z.Length];
        switch (loss.Kind)
        {
            case LossKind.SquaredError:
                double[] dCda = GradientWithRespectToOutput(loss, a, y);
                for (int j = 0; j < z.Length; j++)
                    delta[j] = s * dCda[j] * ReferenceActivation.Derivative(g, z[j]);
                break;
            case LossKind.BinaryCrossEntropy:
                for (int j = 0; j < z.Length; j++)
                    delta[j] = s * (a[j] - y[j]);
                break;
            default:
                double[] p = ReferenceActivation.Softmax(z);
                for (int j = 0; j < z.Length; j++)
                    delta[j] = s * (p[j] - y[j]);
                break;
        }
        return delta;
    }

    /// <summary>Class indices as one-hot rows, the definition the index form abbreviates.</summary>
    public static double[][] OneHot(int[] classes, int units)
        => classes.Select(c => Enumerable.Range(0, units).Select(j => j == c ? 1.0 : 0.0).ToArray()).ToArray();
}
