using System.Runtime.CompilerServices;
using System.Numerics;

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
                Elementwise<T>.Map(new SigmoidOperator<T>(), values, values, values);
                break;
            case ActivationKind.Tanh:
                Elementwise<T>.Map(new TanhOperator<T>(), values, values, values);
                break;
            case ActivationKind.ReLU:
                Elementwise<T>.Map(new ReluOperator<T>(), values, values, values);
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

    /// <summary>Softmax of each row of a rows×columns block, in place, as e^{z − max} / Σ e^{z − max}
    /// so no exponential overflows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftmaxRowsInPlace(Span<T> values, int rows, int columns, int ld)
    {
        for (int i = 0; i < rows; i++)
        {
            Span<T> row = values.Slice(i * ld, columns);
            Elementwise<T>.Softmax(row, row);
        }
    }

    /// <summary>delta = delta ⊙ g'(·), the derivative written from the activations a = g(z).</summary>
    public static void MultiplyByDerivative(Activation activation, Span<T> delta, ReadOnlySpan<T> activations)
        => MultiplyByDerivative(activation, delta, activations, delta);

    /// <summary>delta = gradient ⊙ g'(·), the derivative written from the activations a = g(z).</summary>
    public static void MultiplyByDerivative(Activation activation, ReadOnlySpan<T> gradient, ReadOnlySpan<T> activations, Span<T> delta)
    {
        switch (activation.Kind)
        {
            case ActivationKind.Identity:
                if (!gradient.Overlaps(delta))
                    gradient.CopyTo(delta);
                break;
            case ActivationKind.Sigmoid:
                Elementwise<T>.Map(new SigmoidDerivativeOperator<T>(), gradient, activations, delta);
                break;
            case ActivationKind.Tanh:
                Elementwise<T>.Map(new TanhDerivativeOperator<T>(), gradient, activations, delta);
                break;
            case ActivationKind.ReLU:
                Elementwise<T>.Map(new ReluDerivativeOperator<T>(), gradient, activations, delta);
                break;
            case ActivationKind.LeakyReLU:
                Elementwise<T>.Map(new LeakyReluDerivativeOperator<T>(T.CreateChecked(activation.Alpha)), gradient, activations, delta);
                break;
            default:
                throw new InvalidOperationException($"{activation} has no elementwise derivative to train through.");
        }
    }
}
