using System.Runtime.CompilerServices;
using System.Numerics;
using FastBackprop.Kernels.Elementwise;

namespace FastBackprop.Kernels.Fused;

/// <summary>
/// The output layer's training step fused into one pass over the logits Z_L, row by row while the row
/// is in L1: the activation (never stored), the error Δ_L = ∂C/∂Z_L, the loss, and the bias gradient
/// (column sums of Δ_L in row order). The unfused path computes A_L in the forward pass, then the loss
/// and Δ from Z and A, then the bias gradient in a third pass. Losses are accumulated in double.
/// </summary>
internal static class OutputLayerKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Whether <see cref="Run(Span{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, int, int, Activation, Loss)"/>
    /// covers this pairing (the three of MATH.md whose Δ is simply a − y).</summary>
    public static bool Fuses(Activation activation, Loss loss) => (activation.Kind, loss.Kind) switch
    {
        (ActivationKind.Softmax, LossKind.SoftmaxCrossEntropy) => true,
        (ActivationKind.Sigmoid, LossKind.BinaryCrossEntropy) => true,
        (ActivationKind.Identity, LossKind.SquaredError) => true,
        _ => false,
    };

    /// <summary>Δ, the loss and the bias gradient for targets given as values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Run(Span<T> delta, ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> biasGradient,
        int rows, int columns, Activation activation, Loss loss)
    {
        T s = T.CreateChecked(Scale(loss, rows));
        double sum = 0;
        for (int i = 0; i < rows; i++)
        {
            int start = i * columns;
            ReadOnlySpan<T> z = logits.Slice(start, columns), y = targets.Slice(start, columns);
            Span<T> d = delta.Slice(start, columns);
            switch (activation.Kind)
            {
                case ActivationKind.Softmax:
                    {
                        double logSumExp = Elementwise<T>.Softmax(z, d);
                        for (int j = 0; j < columns; j++)
                        {
                            if (y[j] != T.Zero)
                                sum += double.CreateTruncating(y[j]) * (logSumExp - double.CreateTruncating(z[j]));
                        }
                        // Δ = s·(softmax − y)
                        Elementwise<T>.Map(new ScaledDifferenceOperator<T>(s), d, y, d);
                        break;
                    }
                case ActivationKind.Sigmoid:
                    for (int j = 0; j < columns; j++)
                    {
                        // ℓ = max(z, 0) − z·y + log(1 + e^−|z|), the softplus form (finite for any z).
                        double zj = double.CreateTruncating(z[j]), yj = double.CreateTruncating(y[j]);
                        sum += Math.Max(zj, 0) - zj * yj + Math.Log(1 + Math.Exp(-Math.Abs(zj)));
                        T a = T.One / (T.One + T.Exp(-z[j]));
                        d[j] = (a - y[j]) * s;
                    }
                    break;
                default:
                    for (int j = 0; j < columns; j++)
                    {
                        T difference = z[j] - y[j];
                        double e = double.CreateTruncating(difference);
                        sum += 0.5 * e * e;
                        d[j] = difference * s;
                    }
                    break;
            }
            AddToBiasGradient(biasGradient, d, i);
        }
        return T.CreateChecked(double.CreateTruncating(s) * sum);
    }

    /// <summary>Softmax cross-entropy with one class index per sample.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Run(Span<T> delta, ReadOnlySpan<T> logits, ReadOnlySpan<int> classIndices, Span<T> biasGradient,
        int rows, int columns, Loss loss)
    {
        T s = T.CreateChecked(Scale(loss, rows));
        double sum = 0;
        for (int i = 0; i < rows; i++)
        {
            int start = i * columns, target = classIndices[i];
            ReadOnlySpan<T> z = logits.Slice(start, columns);
            Span<T> d = delta.Slice(start, columns);
            sum += Elementwise<T>.Softmax(z, d) - double.CreateTruncating(z[target]);
            Elementwise<T>.Scale(d, s, d);
            d[target] -= s;
            AddToBiasGradient(biasGradient, d, i);
        }
        return T.CreateChecked(double.CreateTruncating(s) * sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddToBiasGradient(Span<T> biasGradient, ReadOnlySpan<T> deltaRow, int row)
    {
        if (row == 0)
            deltaRow.CopyTo(biasGradient);
        else
            Elementwise<T>.Add(biasGradient, deltaRow, biasGradient);
    }

    private static double Scale(Loss loss, int rows) => loss.Reduction == Reduction.Mean ? 1.0 / rows : 1.0;
}
