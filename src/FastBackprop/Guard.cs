using System.Numerics;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace FastBackprop;

/// <summary>Argument checks shared by the public entry points: each exception names the argument and the numbers.</summary>
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

    public static void Finite<T>(ReadOnlySpan<T> values, string name) where T : IFloatingPointIeee754<T>
    {
        if (!TensorPrimitives.IsFiniteAll(values))
        {
            int index = IndexOfNonFinite(values);
            throw new ArgumentException($"{name} contains a non-finite value ({values[index]}) at index {index}.", name);
        }
    }

    public static void PositiveFinite<T>(T value, string name) where T : IFloatingPointIeee754<T>
    {
        if (!(value > T.Zero) || !T.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive and finite (got {value}).");
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
