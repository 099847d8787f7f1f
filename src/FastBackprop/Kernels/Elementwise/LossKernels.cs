using System.Numerics;

namespace FastBackprop.Kernels.Elementwise;

/// <summary>
/// The output layer's error Δ_L = ∂C/∂Z_L together with the loss value, for the pairs MATH.md
/// allows. Cross-entropies are computed from the logits (log-sum-exp, softplus), never through
/// log(a), so saturated outputs give a finite loss and no NaN. The loss is accumulated in double.
/// Inputs are n×m, rows contiguous; arguments were validated by the caller.
/// Softmax cross-entropy is written twice on purpose, once per target form: one-hot rows must visit every element
/// (and may carry soft targets), class indices touch one element per row and update Δ with a vector scale.
/// </summary>
internal static class LossKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>C = scale·½Σ(a − y)², Δ = scale·(a − y) ⊙ g'(a).</summary>
    public static double SquaredError(Span<T> delta, ReadOnlySpan<T> outputs, ReadOnlySpan<T> targets,
        Activation activation, int count, double scale)
    {
        double sum = 0;
        T s = T.CreateChecked(scale);
        for (int i = 0; i < count; i++)
        {
            T difference = outputs[i] - targets[i];
            double d = double.CreateChecked(difference);
            sum += d * d;
            delta[i] = difference * s;
        }
        ActivationKernels<T>.MultiplyByDerivative(activation, delta[..count], outputs[..count]);
        return 0.5 * scale * sum;
    }

    /// <summary>Sigmoid output: C = scale·Σ [max(z, 0) − z·y + log(1 + e^−|z|)], Δ = scale·(σ(z) − y).</summary>
    public static double BinaryCrossEntropy(Span<T> delta, ReadOnlySpan<T> logits, ReadOnlySpan<T> outputs,
        ReadOnlySpan<T> targets, int count, double scale)
    {
        double sum = 0;
        T s = T.CreateChecked(scale);
        for (int i = 0; i < count; i++)
        {
            double z = double.CreateChecked(logits[i]);
            double y = double.CreateChecked(targets[i]);
            sum += Math.Max(z, 0) - z * y + Math.Log(1 + Math.Exp(-Math.Abs(z)));
            delta[i] = (outputs[i] - targets[i]) * s;
        }
        return scale * sum;
    }

    /// <summary>Softmax output with target distributions (one-hot rows):
    /// C = scale·Σ_i Σ_j y_ij (logsumexp(z_i) − z_ij), Δ = scale·(softmax(z) − y).</summary>
    public static double SoftmaxCrossEntropy(Span<T> delta, ReadOnlySpan<T> logits, ReadOnlySpan<T> outputs,
        ReadOnlySpan<T> targets, int rows, int columns, double scale)
    {
        double sum = 0;
        T s = T.CreateChecked(scale);
        for (int i = 0; i < rows; i++)
        {
            int start = i * columns;
            double logSumExp = LogSumExp(logits.Slice(start, columns));
            for (int j = start; j < start + columns; j++)
            {
                double y = double.CreateChecked(targets[j]);
                if (y != 0)
                    sum += y * (logSumExp - double.CreateChecked(logits[j]));
                delta[j] = (outputs[j] - targets[j]) * s;
            }
        }
        return scale * sum;
    }

    /// <summary>Softmax output with class indices: C = scale·Σ_i (logsumexp(z_i) − z_{i,c_i}),
    /// Δ = scale·(softmax(z) − onehot(c)).</summary>
    public static double SoftmaxCrossEntropy(Span<T> delta, ReadOnlySpan<T> logits, ReadOnlySpan<T> outputs,
        ReadOnlySpan<int> classIndices, int rows, int columns, double scale)
    {
        double sum = 0;
        T s = T.CreateChecked(scale);
        for (int i = 0; i < rows; i++)
        {
            int start = i * columns;
            int target = start + classIndices[i];
            sum += LogSumExp(logits.Slice(start, columns)) - double.CreateChecked(logits[target]);
            Elementwise<T>.Scale(outputs.Slice(start, columns), s, delta.Slice(start, columns));
            delta[target] -= s;
        }
        return scale * sum;
    }

    private static double LogSumExp(ReadOnlySpan<T> z)
    {
        T largest = z[0];
        foreach (T value in z)
            largest = T.Max(largest, value);
        double max = double.CreateChecked(largest);
        double sum = 0;
        foreach (T value in z)
            sum += Math.Exp(double.CreateChecked(value) - max);
        return max + Math.Log(sum);
    }
}
