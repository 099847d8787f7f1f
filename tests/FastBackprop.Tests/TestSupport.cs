using System.Numerics;
using System.Runtime.InteropServices;
using FastBackprop.Tests.Reference;
using FastBackprop.Primitives;

namespace FastBackprop.Tests;

/// <summary>Calls the non-generic public GEMM overloads from generic test code.</summary>
public static class GemmCall
{
    public static void Multiply<T>(Transpose transA, Transpose transB, int m, int n, int k,
        double alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, double beta, Span<T> c, int ldc)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            Gemm.Multiply(transA, transB, m, n, k, (float)alpha, MemoryMarshal.Cast<T, float>(a), lda,
                MemoryMarshal.Cast<T, float>(b), ldb, (float)beta, MemoryMarshal.Cast<T, float>(c), ldc);
        else if (typeof(T) == typeof(double))
            Gemm.Multiply(transA, transB, m, n, k, alpha, MemoryMarshal.Cast<T, double>(a), lda,
                MemoryMarshal.Cast<T, double>(b), ldb, beta, MemoryMarshal.Cast<T, double>(c), ldc);
        else
            throw new NotSupportedException(typeof(T).Name);
    }
}

/// <summary>A rows×columns matrix stored row-major with leading dimension ld inside a larger array,
/// with guard elements before and after: the span handed to the library is exactly the elements the shape needs.</summary>
public sealed class StridedMatrix<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public StridedMatrix(int rows, int columns, int ld, int guardBefore, int guardAfter, T fill)
    {
        Rows = rows;
        Columns = columns;
        Ld = ld;
        Offset = guardBefore;
        Needed = rows == 0 || columns == 0 ? 0 : (rows - 1) * ld + columns;
        Storage = new T[guardBefore + Needed + guardAfter];
        Storage.AsSpan().Fill(fill);
    }

    public int Rows { get; }
    public int Columns { get; }
    public int Ld { get; }
    public int Offset { get; }
    public int Needed { get; }
    public T[] Storage { get; }

    public Span<T> View => Storage.AsSpan(Offset, Needed);

    public ref T this[int i, int j] => ref Storage[Offset + i * Ld + j];

    /// <summary>Whether storage index <paramref name="index"/> is element (i, j) of the matrix.</summary>
    public bool IsElement(int index, out int i, out int j)
    {
        int relative = index - Offset;
        i = j = -1;
        if (relative < 0 || relative >= Needed)
            return false;
        i = relative / Ld;
        j = relative % Ld;
        return j < Columns;
    }

    public double[] ToDouble() => ReferenceNetwork.ToDouble<T>(Storage);
}

public static class Bits
{
    public static long Of<T>(T value) where T : unmanaged
        => typeof(T) == typeof(float) ? BitConverter.SingleToInt32Bits((float)(object)value)
            : BitConverter.DoubleToInt64Bits((double)(object)value);

    /// <summary>Asserts two arrays are identical bit for bit (NaN payloads and signed zeros included).</summary>
    public static void Equal<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string what) where T : unmanaged
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (!MemoryMarshal.AsBytes(expected.Slice(i, 1)).SequenceEqual(MemoryMarshal.AsBytes(actual.Slice(i, 1))))
                Assert.Fail($"{what}: element {i} changed from {expected[i]} to {actual[i]}.");
        }
    }
}

public static class Close
{
    /// <summary>|actual − expected| ≤ bound at every index; the message names the first index that is not and its error ratio.</summary>
    public static void Within<T>(ReadOnlySpan<T> actual, double[] expected, double[] bound, string what) where T : INumberBase<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Within(double.CreateChecked(actual[i]), expected[i], bound[i], $"{what}[{i}]");
    }

    public static void Within(double actual, double expected, double bound, string what)
    {
        double error = Math.Abs(actual - expected);
        if (!(error <= bound))
            Assert.Fail($"{what}: got {actual:R}, reference {expected:R}, |error| = {error:R} > tolerance {bound:R} (ratio {error / bound:G3}).");
    }

    /// <summary>PyTorch gradcheck's test: |a − e| ≤ atol + rtol·|e|.</summary>
    public static void Relative(double actual, double expected, double atol, double rtol, string what)
    {
        double error = Math.Abs(actual - expected);
        if (!(error <= atol + rtol * Math.Abs(expected)))
            Assert.Fail($"{what}: got {actual:R}, expected {expected:R}, |error| = {error:R} > {atol} + {rtol}·|expected|.");
    }
}

/// <summary>Measures what a piece of code allocates on the calling thread.</summary>
public static class Allocations
{
    /// <summary>
    /// The fewest bytes <paramref name="body"/> allocated over a few runs. The runtime itself now and then charges
    /// a few KB to whatever thread is running (seen once in CI: 3,208 and 5,488 bytes in two allocation-free tests
    /// of one run, none in reruns; dotnet/runtime#63487 reports the same of the API), so one clean run proves the
    /// code allocates nothing, while code that does allocate shows it in every run.
    /// </summary>
    public static long Fewest(Action body, int runs = 3)
    {
        long fewest = long.MaxValue;
        for (int run = 0; run < runs && fewest > 0; run++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            body();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
