using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FastBackprop.Kernels.Simd;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// Work fused into GEMM on the last K block. For a full tile the micro-kernel calls
/// <see cref="Transform"/> on each register of finished values before storing it, so C is written once,
/// already transformed; edge tiles, transposed products and single-row products (whose tiles go through
/// memory) get the same <see cref="Transform"/> applied by <see cref="GemmEpilogue{T}.ApplyToStoredTile"/>.
/// Implemented by structs, so the driver and the kernels, generic over the epilogue, are specialised and
/// every call inlined (no virtual dispatch).
/// </summary>
internal unsafe interface IGemmEpilogue<T> where T : unmanaged
{
    /// <summary>False only for <see cref="NoEpilogue{T}"/>: the kernels then store the product untouched.</summary>
    static abstract bool Active { get; }

    /// <summary>Whether the micro-kernel applies the transform in registers; otherwise the driver applies it to each
    /// full tile right after the kernel stored it (still in L1), as it does for edge tiles.</summary>
    static abstract bool InRegisters { get; }

    /// <summary>The second input of the transform for row <paramref name="row"/> of C, at column 0
    /// (the bias vector, or the row of stored activations).</summary>
    T* OperandRow(int row);

    /// <summary>The finished value of C (a register) and the operand at the same positions.</summary>
    TVec Transform<TSimd, TVec>(TVec value, TVec operand) where TSimd : ISimd<T, TVec> where TVec : unmanaged;
}

/// <summary>Plain GEMM: nothing after the product.</summary>
internal unsafe struct NoEpilogue<T> : IGemmEpilogue<T> where T : unmanaged
{
    public static bool Active => false;
    public static bool InRegisters => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly T* OperandRow(int row) => null;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly TVec Transform<TSimd, TVec>(TVec value, TVec operand) where TSimd : ISimd<T, TVec> where TVec : unmanaged => value;
}

/// <summary>The epilogue over a tile already stored in C (row-major with stride ldc).</summary>
internal static unsafe class GemmEpilogue<T> where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
{
    public static void ApplyToStoredTile<TEpilogue>(in TEpilogue epilogue, T* c, nint ldc, int row, int column, int rows, int columns)
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        if (!TEpilogue.Active)
            return;
        var work = new StoredTile<TEpilogue>(epilogue, c, ldc, row, column, rows, columns);
        VectorDispatch<T>.Run(ref work);
    }

    private readonly struct StoredTile<TEpilogue>(TEpilogue epilogue, T* c, nint ldc, int row, int column, int rows, int columns)
        : IVectorWork<T> where TEpilogue : struct, IGemmEpilogue<T>
    {
        public void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged
            => Apply<TEpilogue, TSimd, TVec>(epilogue, c, ldc, row, column, rows, columns);
    }

    /// <summary>Row by row, a register at a time; the ragged end of a row goes through a zero-padded
    /// register so no byte outside C or the operand is touched.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Apply<TEpilogue, TSimd, TVec>(in TEpilogue epilogue, T* c, nint ldc, int row, int column, int rows, int columns)
        where TEpilogue : struct, IGemmEpilogue<T>
        where TSimd : ISimd<T, TVec>
        where TVec : unmanaged
    {
        int count = TSimd.Count;
        T* valueBuffer = stackalloc T[count];
        T* operandBuffer = stackalloc T[count];
        if (columns <= 2 && rows > 2)
        {
            ApplyByColumns<TEpilogue, TSimd, TVec>(epilogue, c, ldc, row, column, rows, columns, valueBuffer, operandBuffer);
            return;
        }
        for (int i = 0; i < rows; i++)
        {
            int r = row + i;
            T* cRow = c + i * ldc;
            T* operand = epilogue.OperandRow(r) + column;
            for (int j = 0; j < columns; j += count)
            {
                int width = Math.Min(count, columns - j);
                TVec y;
                if (width == count)
                {
                    y = epilogue.Transform<TSimd, TVec>(TSimd.Load(cRow + j), TSimd.Load(operand + j));
                    TSimd.Store(cRow + j, y);
                }
                else
                {
                    for (int t = 0; t < count; t++)
                    {
                        valueBuffer[t] = t < width ? cRow[j + t] : default;
                        operandBuffer[t] = t < width ? operand[j + t] : default;
                    }
                    y = epilogue.Transform<TSimd, TVec>(TSimd.Load(valueBuffer), TSimd.Load(operandBuffer));
                    TSimd.Store(valueBuffer, y);
                    for (int t = 0; t < width; t++)
                        cRow[j + t] = valueBuffer[t];
                }
            }
        }
    }

    /// <summary>A tile one or two columns wide (a single-output layer): a register of rows at a time, gathered
    /// down the column, instead of one padded register per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyByColumns<TEpilogue, TSimd, TVec>(in TEpilogue epilogue, T* c, nint ldc, int row, int column,
        int rows, int columns, T* valueBuffer, T* operandBuffer)
        where TEpilogue : struct, IGemmEpilogue<T>
        where TSimd : ISimd<T, TVec>
        where TVec : unmanaged
    {
        int count = TSimd.Count;
        for (int j = 0; j < columns; j++)
        {
            for (int i = 0; i < rows; i += count)
            {
                int height = Math.Min(count, rows - i);
                for (int t = 0; t < count; t++)
                {
                    valueBuffer[t] = t < height ? c[(i + t) * ldc + j] : default;
                    operandBuffer[t] = t < height ? epilogue.OperandRow(row + i + t)[column + j] : default;
                }
                TSimd.Store(valueBuffer, epilogue.Transform<TSimd, TVec>(TSimd.Load(valueBuffer), TSimd.Load(operandBuffer)));
                for (int t = 0; t < height; t++)
                    c[(i + t) * ldc + j] = valueBuffer[t];
            }
        }
    }
}
