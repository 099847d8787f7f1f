using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastBackprop;

/// <summary>Argument checks shared by every public entry point (networks, kernels, training options, optimizers, schedules):
/// each exception names the argument and the numbers. One exception type per kind of mistake: a value out of its range is
/// an <see cref="ArgumentOutOfRangeException"/>, a span of the wrong length or with non-finite values an
/// <see cref="ArgumentException"/>.</summary>
internal static class Guard
{
    public static void Positive(int value, string name)
    {
        if (value <= 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive (got {value}).");
    }

    /// <summary>The shape text is an interpolated string formatted only when the length is wrong, so a
    /// successful check allocates nothing (hot paths validate on every call).</summary>
    public static void Length<T>(ReadOnlySpan<T> span, long expected, string name,
        [InterpolatedStringHandlerArgument("span", "expected")] ref LengthMessage<T> shape)
    {
        if (span.Length != expected)
            throw new ArgumentException($"{name} has {span.Length} elements but {shape.ToStringAndClear()} needs {expected}.", name);
    }

    public static void Finite<T>(ReadOnlySpan<T> values, string name) where T : struct, IFloatingPointIeee754<T>
    {
        int index = FirstNonFinite(values);
        if (index >= 0)
            throw new ArgumentException($"{name} contains a non-finite value ({values[index]}) at index {index}.", name);
    }

    /// <summary>The index of the first NaN or ±∞ in <paramref name="values"/>, or −1: one vectorised pass when all are finite.</summary>
    public static int FirstNonFinite<T>(ReadOnlySpan<T> values) where T : struct, IFloatingPointIeee754<T>
        => AllFinite(values) ? -1 : IndexOfNonFinite(values);

    public static void NonNegative(int value, string name)
    {
        if (value < 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 0 (got {value}).");
    }

    public static void PositiveFinite<T>(T value, string name) where T : IFloatingPointIeee754<T>
    {
        if (!(value > T.Zero) || !T.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive and finite (got {value}).");
    }

    public static void NonNegativeFinite(double value, string name)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and at least 0 (got {value}).");
    }

    /// <summary>value ∈ [0, 1), the range of momentum and Adam's β.</summary>
    public static void UnitInterval(double value, string name)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1) (got {value}).");
    }

    /// <summary>x − x is 0 for finite x and NaN for ±∞ and NaN, so a register of differences equals zero exactly when all
    /// its lanes are finite. Our own loop rather than TensorPrimitives.IsFiniteAll so that it is compiled fully optimised
    /// on its first call: inputs are checked on every training step and prediction, and a generic method of another
    /// assembly stays at tier 0 for as long as tier-up stalls (one processor; see bench/RESULTS.md).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool AllFinite<T>(ReadOnlySpan<T> values) where T : struct, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && values.Length >= Vector<T>.Count)
        {
            ReadOnlySpan<Vector<T>> vectors = MemoryMarshal.Cast<T, Vector<T>>(values);
            Vector<T> accumulated = Vector<T>.Zero;
            foreach (Vector<T> v in vectors)
                accumulated |= v - v;
            if (accumulated != Vector<T>.Zero)
                return false;
            i = vectors.Length * Vector<T>.Count;
        }
        for (; i < values.Length; i++)
            if (!T.IsFinite(values[i]))
                return false;
        return true;
    }

    private static int IndexOfNonFinite<T>(ReadOnlySpan<T> values) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
            if (!T.IsFinite(values[i]))
                return i;
        return -1;
    }
}

/// <summary>Builds <see cref="Guard.Length{T}"/>'s shape text only when the check fails.</summary>
[InterpolatedStringHandler]
internal ref struct LengthMessage<T>
{
    private DefaultInterpolatedStringHandler inner;
    private readonly bool enabled;

    public LengthMessage(int literalLength, int formattedCount, ReadOnlySpan<T> span, long expected, out bool shouldAppend)
    {
        enabled = shouldAppend = span.Length != expected;
        inner = enabled ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
    }

    public void AppendLiteral(string value)
    {
        if (enabled)
            inner.AppendLiteral(value);
    }

    public void AppendFormatted<TValue>(TValue value)
    {
        if (enabled)
            inner.AppendFormatted(value);
    }

    public string ToStringAndClear() => enabled ? inner.ToStringAndClear() : "";
}
