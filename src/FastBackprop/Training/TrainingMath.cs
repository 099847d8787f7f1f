using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace FastBackprop;

/// <summary>Small reductions for the training metrics.</summary>
internal static class TrainingMath
{
    /// <summary>Σ x², accumulated in double (float values are widened first).</summary>
    public static double SumOfSquares<T>(ReadOnlySpan<T> x)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            return SumOfSquares(MemoryMarshal.Cast<T, float>(x));
        if (typeof(T) == typeof(double))
            return TensorPrimitives.SumOfSquares(MemoryMarshal.Cast<T, double>(x));
        double sum = 0;
        foreach (T value in x)
        {
            double d = double.CreateChecked(value);
            sum += d * d;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SumOfSquares(ReadOnlySpan<float> x)
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            Vector<double> low = Vector<double>.Zero, high = Vector<double>.Zero;
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(x.Slice(i)), out Vector<double> a, out Vector<double> b);
                low += a * a;
                high += b * b;
            }
            sum = Vector.Sum(low + high);
        }
        for (; i < x.Length; i++)
        {
            double d = x[i];
            sum += d * d;
        }
        return sum;
    }

    /// <summary>The index of the largest value (the first on ties).</summary>
    public static int ArgMax<T>(ReadOnlySpan<T> row)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++)
        {
            if (row[i] > row[best])
                best = i;
        }
        return best;
    }
}
