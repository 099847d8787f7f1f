using System.Runtime.CompilerServices;
using System.Numerics;

namespace FastBackprop.Kernels.Elementwise;

/// <summary>Activations and their derivatives over contiguous runs of values.</summary>
internal static class ActivationKernels<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>values = g(values) for an elementwise activation (every kind but softmax).</summary>
    public static void ApplyInPlace(Activation activation, Span<T> values)
    {
        if (activation.Kind == ActivationKind.Identity)
            return;
        var apply = new ApplyVisitor(values);
        ActivationTable<T>.Visit(activation, ref apply);
    }

    private readonly ref struct ApplyVisitor(Span<T> values) : IActivationVisitor<T>
    {
        private readonly Span<T> values = values;

        public void Visit<TForward, TDerivative>(TForward forward, TDerivative derivative)
            where TForward : struct, IBinaryOperator<T> where TDerivative : struct, IBinaryOperator<T>
            => Elementwise<T>.Map(forward, values, values, values);
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

    /// <summary>delta = delta ⊙ g'(·), the derivative written from its operand: a = g(z), or z where
    /// <see cref="Activation.DerivativeNeedsPreActivation"/>.</summary>
    public static void MultiplyByDerivative(Activation activation, Span<T> delta, ReadOnlySpan<T> operand)
        => MultiplyByDerivative(activation, delta, operand, delta);

    /// <summary>delta = gradient ⊙ g'(·), the derivative written from its operand (a, or z).</summary>
    public static void MultiplyByDerivative(Activation activation, ReadOnlySpan<T> gradient, ReadOnlySpan<T> operand, Span<T> delta)
    {
        if (!activation.IsTrainable || activation.Kind == ActivationKind.Softmax)
            throw new InvalidOperationException($"{activation} has no elementwise derivative to train through.");
        var multiply = new DerivativeVisitor(gradient, operand, delta);
        ActivationTable<T>.Visit(activation, ref multiply);
    }

    private readonly ref struct DerivativeVisitor(ReadOnlySpan<T> gradient, ReadOnlySpan<T> operand, Span<T> delta) : IActivationVisitor<T>
    {
        private readonly ReadOnlySpan<T> gradient = gradient, operand = operand;
        private readonly Span<T> delta = delta;

        public void Visit<TForward, TDerivative>(TForward forward, TDerivative derivative)
            where TForward : struct, IBinaryOperator<T> where TDerivative : struct, IBinaryOperator<T>
            => Elementwise<T>.Map(derivative, gradient, operand, delta);
    }
}
