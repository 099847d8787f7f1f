using System.Numerics;
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

    public static void Length<T>(ReadOnlySpan<T> span, long expected, string name, string shape)
    {
        if (span.Length != expected)
            throw new ArgumentException($"{name} has {span.Length} elements but {shape} needs {expected}.", name);
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
