using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FastBackprop.Kernels.Simd;

namespace FastBackprop.Kernels.Elementwise;

/// <summary>An elementwise operation written once for every register width (TensorPrimitives' pattern).
/// Instance methods on a struct, so an operation can carry a parameter such as leaky ReLU's α.</summary>
internal interface IBinaryOperator<T> where T : unmanaged
{
    /// <summary>False for operators built on a vector exponential (sigmoid, tanh): inlined 24 times into a
    /// micro-kernel they exhaust the JIT's inlining budget and push the accumulators onto the stack, so the
    /// GEMM applies them to each stored tile while it is in L1 instead of in registers.</summary>
    static virtual bool FitsInRegisters => true;

    /// <summary>The operation on a register. There is no scalar form: ragged ends go through a zero-padded register, so every
    /// element gets the bits the fused GEMM epilogues compute for it.</summary>
    TVec Invoke<TSimd, TVec>(TVec x, TVec y) where TSimd : ISimd<T, TVec> where TVec : unmanaged;
}

/// <summary>The one loop that runs any <see cref="IBinaryOperator{T}"/> over spans: the widest
/// accelerated register width, the remainder in one padded register. In-place use (destination == x) is fine.</summary>
internal static unsafe class Elementwise<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TOperator>(TOperator op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination)
        where TOperator : struct, IBinaryOperator<T>
    {
        int length = destination.Length;
        if (x.Length < length || y.Length < length)
            throw new ArgumentException($"Elementwise inputs have {x.Length} and {y.Length} elements, destination {length}.");
        fixed (T* px = &MemoryMarshal.GetReference(x))
        fixed (T* py = &MemoryMarshal.GetReference(y))
        fixed (T* pd = &MemoryMarshal.GetReference(destination))
        {
            var work = new MapWork<TOperator>(op, px, py, pd, length);
            VectorDispatch<T>.Run(ref work);
        }
    }

    /// <summary>destination = x + y.</summary>
    public static void Add(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination) => Map(new AddOperator<T>(), x, y, destination);

    /// <summary>destination = Σ_r rows[r] over <paramref name="count"/> consecutive rows of destination's length, added in
    /// row order (a fixed order, so a column sum does not depend on how the rows were produced).</summary>
    public static void SumRows(ReadOnlySpan<T> rows, int count, Span<T> destination)
    {
        int width = destination.Length;
        rows[..width].CopyTo(destination);
        for (int r = 1; r < count; r++)
            Add(destination, rows.Slice(r * width, width), destination);
    }

    /// <summary>destination = x·s.</summary>
    public static void Scale(ReadOnlySpan<T> x, T s, Span<T> destination) => Map(new ScaleOperator<T>(s), x, x, destination);

    /// <summary>Softmax of one row as e^{z − max} / Σ e^{z − max}, so no exponential overflows; returns
    /// log Σ e^z = max + log Σ e^{z − max} in double (the cross-entropy's log-partition). In place is fine.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Softmax(ReadOnlySpan<T> z, Span<T> probabilities)
    {
        T max = z[0];
        for (int j = 1; j < z.Length; j++)
            max = T.Max(max, z[j]);
        Map(new ShiftedExpOperator<T>(max), z, z, probabilities);
        T total = T.Zero;
        for (int j = 0; j < z.Length; j++)
            total += probabilities[j];
        Map(new DivideOperator<T>(total), probabilities, probabilities, probabilities);
        return double.CreateTruncating(max) + Math.Log(double.CreateTruncating(total));
    }

    private readonly struct MapWork<TOperator>(TOperator op, T* x, T* y, T* destination, int length) : IVectorWork<T>
        where TOperator : struct, IBinaryOperator<T>
    {
        public void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged
            => Loop<TOperator, TSimd, TVec>(op, x, y, destination, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Loop<TOperator, TSimd, TVec>(TOperator op, T* x, T* y, T* destination, int length)
        where TOperator : struct, IBinaryOperator<T>
        where TSimd : ISimd<T, TVec>
        where TVec : unmanaged
    {
        int i = 0;
        for (; i <= length - TSimd.Count; i += TSimd.Count)
            TSimd.Store(destination + i, op.Invoke<TSimd, TVec>(TSimd.Load(x + i), TSimd.Load(y + i)));
        if (i == length)
            return;
        // The remainder also goes through the vector form (in a zero-padded register), so every element
        // gets bit-for-bit what the fused GEMM epilogues compute for it, whatever its position.
        int rest = length - i;
        T* bufferX = stackalloc T[TSimd.Count];
        T* bufferY = stackalloc T[TSimd.Count];
        for (int j = 0; j < TSimd.Count; j++)
        {
            bufferX[j] = j < rest ? x[i + j] : default;
            bufferY[j] = j < rest ? y[i + j] : default;
        }
        TSimd.Store(bufferX, op.Invoke<TSimd, TVec>(TSimd.Load(bufferX), TSimd.Load(bufferY)));
        new ReadOnlySpan<T>(bufferX, rest).CopyTo(new Span<T>(destination + i, rest));
    }
}
