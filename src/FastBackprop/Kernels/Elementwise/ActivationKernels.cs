using System.Numerics;
using System.Numerics.Tensors;

namespace FastBackprop.Kernels.Elementwise;

/// <summary>Activations and their derivatives over contiguous runs of values.</summary>
internal static class ActivationKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>values = g(values) for an elementwise activation (every kind but softmax).</summary>
    public static void ApplyInPlace(Activation activation, Span<T> values)
    {
        switch (activation.Kind)
        {
            case ActivationKind.Identity:
                break;
            case ActivationKind.Sigmoid:
                // 1 / (1 + e^-z): e^-z overflows to ∞ for very negative z, giving exactly 0, never NaN.
                TensorPrimitives.Sigmoid<T>(values, values);
                break;
            case ActivationKind.Tanh:
                Tanh(values);
                break;
            case ActivationKind.ReLU:
                TensorPrimitives.Max<T>(values, T.Zero, values);
                break;
            case ActivationKind.LeakyReLU:
                Elementwise<T>.Map(new LeakyReluOperator<T>(T.CreateChecked(activation.Alpha)), values, values, values);
                break;
            case ActivationKind.Step:
                Elementwise<T>.Map(new StepOperator<T>(), values, values, values);
                break;
            default:
                throw new InvalidOperationException($"{activation} is not an elementwise activation.");
        }
    }

    /// <summary>Below this magnitude tanh comes from its Taylor series: TensorPrimitives.Tanh is accurate
    /// only to about one rounding unit of 1 there (tanh(1e-6) came out 4.6% low), not of the value.</summary>
    private const double SmallTanh = 0.125;

    /// <summary>tanh in chunks: the vector TensorPrimitives.Tanh, then the few small-|z| lanes recomputed
    /// from the series, so the result is accurate relative to its value everywhere.</summary>
    private static void Tanh(Span<T> values)
    {
        const int Chunk = 64;
        Span<T> saved = stackalloc T[Chunk];
        for (int start = 0; start < values.Length; start += Chunk)
        {
            Span<T> chunk = values.Slice(start, Math.Min(Chunk, values.Length - start));
            Span<T> z = saved[..chunk.Length];
            chunk.CopyTo(z);
            TensorPrimitives.Tanh<T>(chunk, chunk);
            if (double.CreateTruncating(T.Abs(TensorPrimitives.MinMagnitude<T>(z))) < SmallTanh)
            {
                for (int i = 0; i < z.Length; i++)
                {
                    double x = double.CreateTruncating(z[i]);
                    if (Math.Abs(x) < SmallTanh)
                        chunk[i] = T.CreateTruncating(TanhSeries(x));
                }
            }
        }
    }

    /// <summary>tanh x = x − x³/3 + 2x⁵/15 − …, nine terms: for |x| &lt; 1/8 the first omitted term is
    /// below 1e-19 of the value.</summary>
    private static double TanhSeries(double x)
    {
        double x2 = x * x;
        double series = 6404582.0 / 10854718875.0;
        series = series * x2 - 929569.0 / 638512875.0;
        series = series * x2 + 21844.0 / 6081075.0;
        series = series * x2 - 1382.0 / 155925.0;
        series = series * x2 + 62.0 / 2835.0;
        series = series * x2 - 17.0 / 315.0;
        series = series * x2 + 2.0 / 15.0;
        series = series * x2 - 1.0 / 3.0;
        return x + x * x2 * series;
    }

    /// <summary>Softmax of each row of a rows×columns block, in place, as e^{z − max} / Σ e^{z − max}
    /// so no exponential overflows.</summary>
    public static void SoftmaxRowsInPlace(Span<T> values, int rows, int columns, int ld)
    {
        for (int i = 0; i < rows; i++)
        {
            Span<T> row = values.Slice(i * ld, columns);
            T max = TensorPrimitives.Max<T>(row);
            TensorPrimitives.Subtract<T>(row, max, row);
            TensorPrimitives.Exp<T>(row, row);
            T sum = TensorPrimitives.Sum<T>(row);
            TensorPrimitives.Divide<T>(row, sum, row);
        }
    }

    /// <summary>delta = delta ⊙ g'(·), the derivative written from the activations a = g(z).</summary>
    public static void MultiplyByDerivative(Activation activation, Span<T> delta, ReadOnlySpan<T> activations)
    {
        switch (activation.Kind)
        {
            case ActivationKind.Identity:
                break;
            case ActivationKind.Sigmoid:
                Elementwise<T>.Map(new SigmoidDerivativeOperator<T>(), delta, activations, delta);
                break;
            case ActivationKind.Tanh:
                Elementwise<T>.Map(new TanhDerivativeOperator<T>(), delta, activations, delta);
                break;
            case ActivationKind.ReLU:
                Elementwise<T>.Map(new ReluDerivativeOperator<T>(), delta, activations, delta);
                break;
            case ActivationKind.LeakyReLU:
                Elementwise<T>.Map(new LeakyReluDerivativeOperator<T>(T.CreateChecked(activation.Alpha)), delta, activations, delta);
                break;
            default:
                throw new InvalidOperationException($"{activation} has no elementwise derivative to train through.");
        }
    }
}
