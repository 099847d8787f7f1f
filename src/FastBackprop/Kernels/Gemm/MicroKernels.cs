using System.Numerics;
using System.Runtime.CompilerServices;
using FastBackprop.Kernels.Simd;

namespace FastBackprop.Kernels.Gemm;

// Written out by hand, one local per accumulator: they must be named locals (not an array) so the JIT keeps them in
// registers. That is also why the 12-, 8- and 6-row kernels below repeat one loop at three heights: a generic row count
// would need an array of accumulators, which lives in memory. Each k step loads one row of the B micro-panel (two registers wide) and broadcasts MR
// values of the A micro-panel, issuing 2·MR independent FMAs. On the last K block the epilogue
// transforms each register of the finished tile before it is stored, so C is written once.
// The panels are usually packed (steps MR and NR), but the steps are arguments so a small product can
// read op(B) = B and op(A) = Aᵀ where they lie: a row of B, or MR adjacent elements of a row of A, is
// exactly one k step of a panel, with the leading dimension as the step.

/// <summary>A register-blocked GEMM micro-kernel: C[MR×NR] = α·Ã·B̃ + β·C over one K block, then the epilogue.</summary>
internal unsafe interface IMicroKernel<T> where T : unmanaged
{
    /// <summary>Rows of the C tile (broadcast values of packed A per k).</summary>
    static abstract int MR { get; }
    /// <summary>Columns of the C tile (two SIMD registers).</summary>
    static abstract int NR { get; }
    /// <summary>Step p reads a[r·aRowStride + p·aStep] for the MR rows r and the NR values b[p·bStep + 0..NR):
    /// a packed sliver has aRowStride 1 and aStep MR; op(A) = A read in place has aRowStride lda and aStep 1.
    /// β = 0 means C is written without being read (BLAS semantics: NaN in C does not survive).
    /// Only the first <paramref name="rows"/> rows of the tile (1..MR) are stored, so a ragged last sliver
    /// needs no aside buffer. <paramref name="row"/> and <paramref name="column"/> place the tile in C for
    /// the epilogue. <paramref name="seed"/> (rows lds apart) holds the running sums of the earlier K blocks, which the
    /// accumulators continue (null on the first K block: they start at zero), so every element is one chain of fused
    /// multiply-adds over k in order, however k is blocked; a K block that is not the last is stored raw (α = 1,
    /// β = 0, no epilogue) where the next one will seed from.</summary>
    static abstract void Run<TEpilogue>(int kc, T* a, nint aRowStride, nint aStep, T* b, nint bStep, T* seed, nint lds,
        T* c, nint ldc, T alpha, T beta, in TEpilogue epilogue, int row, int column, int rows) where TEpilogue : struct, IGemmEpilogue<T>;
}

/// <summary>Writing one two-register row of a finished tile, through the epilogue.</summary>
internal static unsafe class TileStore<T, TSimd, TVec>
    where T : unmanaged
    where TSimd : ISimd<T, TVec>
    where TVec : unmanaged
{
    /// <summary>Stores y = α·x (already scaled by the kernel) plus β·C, through the epilogue.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Row<TEpilogue>(T* c, nint count, TVec y0, TVec y1, TVec beta, bool overwrite,
        in TEpilogue epilogue, int row, int column)
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        if (!overwrite)
        {
            y0 = TSimd.MultiplyAdd(TSimd.Load(c), beta, y0);
            y1 = TSimd.MultiplyAdd(TSimd.Load(c + count), beta, y1);
        }
        if (TEpilogue.Active)
        {
            T* operand = epilogue.OperandRow(row) + column;
            y0 = epilogue.Transform<TSimd, TVec>(y0, TSimd.Load(operand));
            y1 = epilogue.Transform<TSimd, TVec>(y1, TSimd.Load(operand + count));
        }
        TSimd.Store(c, y0);
        TSimd.Store(c + count, y1);
    }
}

/// <summary>12 rows × 2 registers: 24 accumulators + 2 B registers + 1 broadcast fit AVX-512's 32 zmm registers.</summary>
internal unsafe struct MicroKernel12xTwoVectors<T, TSimd, TVec> : IMicroKernel<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TSimd : ISimd<T, TVec>
    where TVec : unmanaged
{
    public static int MR => 12;
    public static int NR => 2 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TEpilogue>(int kc, T* a, nint aRowStride, nint aStep, T* b, nint bStep, T* seed, nint lds,
        T* c, nint ldc, T alpha, T beta, in TEpilogue epilogue, int row, int column, int rows) where TEpilogue : struct, IGemmEpilogue<T>
    {
        TVec c00 = TSimd.Zero, c01 = TSimd.Zero, c10 = TSimd.Zero, c11 = TSimd.Zero, c20 = TSimd.Zero, c21 = TSimd.Zero, c30 = TSimd.Zero, c31 = TSimd.Zero, c40 = TSimd.Zero, c41 = TSimd.Zero, c50 = TSimd.Zero, c51 = TSimd.Zero, c60 = TSimd.Zero, c61 = TSimd.Zero, c70 = TSimd.Zero, c71 = TSimd.Zero, c80 = TSimd.Zero, c81 = TSimd.Zero, c90 = TSimd.Zero, c91 = TSimd.Zero, c100 = TSimd.Zero, c101 = TSimd.Zero, c110 = TSimd.Zero, c111 = TSimd.Zero;
        nint count = TSimd.Count;
        if (seed != null)
        {
            c00 = TSimd.Load(seed); c01 = TSimd.Load(seed + count);
            if (rows > 1) { c10 = TSimd.Load(seed + lds); c11 = TSimd.Load(seed + lds + count); }
            if (rows > 2) { c20 = TSimd.Load(seed + 2 * lds); c21 = TSimd.Load(seed + 2 * lds + count); }
            if (rows > 3) { c30 = TSimd.Load(seed + 3 * lds); c31 = TSimd.Load(seed + 3 * lds + count); }
            if (rows > 4) { c40 = TSimd.Load(seed + 4 * lds); c41 = TSimd.Load(seed + 4 * lds + count); }
            if (rows > 5) { c50 = TSimd.Load(seed + 5 * lds); c51 = TSimd.Load(seed + 5 * lds + count); }
            if (rows > 6) { c60 = TSimd.Load(seed + 6 * lds); c61 = TSimd.Load(seed + 6 * lds + count); }
            if (rows > 7) { c70 = TSimd.Load(seed + 7 * lds); c71 = TSimd.Load(seed + 7 * lds + count); }
            if (rows > 8) { c80 = TSimd.Load(seed + 8 * lds); c81 = TSimd.Load(seed + 8 * lds + count); }
            if (rows > 9) { c90 = TSimd.Load(seed + 9 * lds); c91 = TSimd.Load(seed + 9 * lds + count); }
            if (rows > 10) { c100 = TSimd.Load(seed + 10 * lds); c101 = TSimd.Load(seed + 10 * lds + count); }
            if (rows > 11) { c110 = TSimd.Load(seed + 11 * lds); c111 = TSimd.Load(seed + 11 * lds + count); }
        }
        if (aRowStride == 1)
        {
            for (int p = 0; p < kc; p++)
            {
                TVec b0 = TSimd.Load(b);
                TVec b1 = TSimd.Load(b + count);
                TVec x;
                x = TSimd.Broadcast(a[0]); c00 = TSimd.MultiplyAdd(x, b0, c00); c01 = TSimd.MultiplyAdd(x, b1, c01);
                x = TSimd.Broadcast(a[1]); c10 = TSimd.MultiplyAdd(x, b0, c10); c11 = TSimd.MultiplyAdd(x, b1, c11);
                x = TSimd.Broadcast(a[2]); c20 = TSimd.MultiplyAdd(x, b0, c20); c21 = TSimd.MultiplyAdd(x, b1, c21);
                x = TSimd.Broadcast(a[3]); c30 = TSimd.MultiplyAdd(x, b0, c30); c31 = TSimd.MultiplyAdd(x, b1, c31);
                x = TSimd.Broadcast(a[4]); c40 = TSimd.MultiplyAdd(x, b0, c40); c41 = TSimd.MultiplyAdd(x, b1, c41);
                x = TSimd.Broadcast(a[5]); c50 = TSimd.MultiplyAdd(x, b0, c50); c51 = TSimd.MultiplyAdd(x, b1, c51);
                x = TSimd.Broadcast(a[6]); c60 = TSimd.MultiplyAdd(x, b0, c60); c61 = TSimd.MultiplyAdd(x, b1, c61);
                x = TSimd.Broadcast(a[7]); c70 = TSimd.MultiplyAdd(x, b0, c70); c71 = TSimd.MultiplyAdd(x, b1, c71);
                x = TSimd.Broadcast(a[8]); c80 = TSimd.MultiplyAdd(x, b0, c80); c81 = TSimd.MultiplyAdd(x, b1, c81);
                x = TSimd.Broadcast(a[9]); c90 = TSimd.MultiplyAdd(x, b0, c90); c91 = TSimd.MultiplyAdd(x, b1, c91);
                x = TSimd.Broadcast(a[10]); c100 = TSimd.MultiplyAdd(x, b0, c100); c101 = TSimd.MultiplyAdd(x, b1, c101);
                x = TSimd.Broadcast(a[11]); c110 = TSimd.MultiplyAdd(x, b0, c110); c111 = TSimd.MultiplyAdd(x, b1, c111);
                a += aStep;
                b += bStep;
            }
        }
        else
        {
            // Rows of A read in place: MR broadcasts from MR rows. Byte offsets l, 2l, 3l from a base every
            // four rows keep each address one x86 addressing mode ([base + l·scale]) and the loop within the GPRs.
            nint l = aRowStride * sizeof(T), l3 = 3 * l, step = aStep * sizeof(T);
            byte* r0 = (byte*)a, r4 = (byte*)a + 4 * l, r8 = (byte*)a + 8 * l;
            for (int p = 0; p < kc; p++)
            {
                TVec b0 = TSimd.Load(b);
                TVec b1 = TSimd.Load(b + count);
                TVec x;
                x = TSimd.Broadcast(*(T*)(r0)); c00 = TSimd.MultiplyAdd(x, b0, c00); c01 = TSimd.MultiplyAdd(x, b1, c01);
                x = TSimd.Broadcast(*(T*)(r0 + l)); c10 = TSimd.MultiplyAdd(x, b0, c10); c11 = TSimd.MultiplyAdd(x, b1, c11);
                x = TSimd.Broadcast(*(T*)(r0 + 2 * l)); c20 = TSimd.MultiplyAdd(x, b0, c20); c21 = TSimd.MultiplyAdd(x, b1, c21);
                x = TSimd.Broadcast(*(T*)(r0 + l3)); c30 = TSimd.MultiplyAdd(x, b0, c30); c31 = TSimd.MultiplyAdd(x, b1, c31);
                x = TSimd.Broadcast(*(T*)(r4)); c40 = TSimd.MultiplyAdd(x, b0, c40); c41 = TSimd.MultiplyAdd(x, b1, c41);
                x = TSimd.Broadcast(*(T*)(r4 + l)); c50 = TSimd.MultiplyAdd(x, b0, c50); c51 = TSimd.MultiplyAdd(x, b1, c51);
                x = TSimd.Broadcast(*(T*)(r4 + 2 * l)); c60 = TSimd.MultiplyAdd(x, b0, c60); c61 = TSimd.MultiplyAdd(x, b1, c61);
                x = TSimd.Broadcast(*(T*)(r4 + l3)); c70 = TSimd.MultiplyAdd(x, b0, c70); c71 = TSimd.MultiplyAdd(x, b1, c71);
                x = TSimd.Broadcast(*(T*)(r8)); c80 = TSimd.MultiplyAdd(x, b0, c80); c81 = TSimd.MultiplyAdd(x, b1, c81);
                x = TSimd.Broadcast(*(T*)(r8 + l)); c90 = TSimd.MultiplyAdd(x, b0, c90); c91 = TSimd.MultiplyAdd(x, b1, c91);
                x = TSimd.Broadcast(*(T*)(r8 + 2 * l)); c100 = TSimd.MultiplyAdd(x, b0, c100); c101 = TSimd.MultiplyAdd(x, b1, c101);
                x = TSimd.Broadcast(*(T*)(r8 + l3)); c110 = TSimd.MultiplyAdd(x, b0, c110); c111 = TSimd.MultiplyAdd(x, b1, c111);
                r0 += step; r4 += step; r8 += step;
                b += bStep;
            }
        }
        // α = 1 (almost every call) skips the 2·MR multiplies, a tenth of the work of a tile when k is ~10.
        if (alpha != T.One)
        {
            TVec alphaV = TSimd.Broadcast(alpha);
            c00 = TSimd.Multiply(c00, alphaV); c01 = TSimd.Multiply(c01, alphaV); c10 = TSimd.Multiply(c10, alphaV); c11 = TSimd.Multiply(c11, alphaV);
            c20 = TSimd.Multiply(c20, alphaV); c21 = TSimd.Multiply(c21, alphaV); c30 = TSimd.Multiply(c30, alphaV); c31 = TSimd.Multiply(c31, alphaV);
            c40 = TSimd.Multiply(c40, alphaV); c41 = TSimd.Multiply(c41, alphaV); c50 = TSimd.Multiply(c50, alphaV); c51 = TSimd.Multiply(c51, alphaV);
            c60 = TSimd.Multiply(c60, alphaV); c61 = TSimd.Multiply(c61, alphaV); c70 = TSimd.Multiply(c70, alphaV); c71 = TSimd.Multiply(c71, alphaV);
            c80 = TSimd.Multiply(c80, alphaV); c81 = TSimd.Multiply(c81, alphaV); c90 = TSimd.Multiply(c90, alphaV); c91 = TSimd.Multiply(c91, alphaV);
            c100 = TSimd.Multiply(c100, alphaV); c101 = TSimd.Multiply(c101, alphaV); c110 = TSimd.Multiply(c110, alphaV); c111 = TSimd.Multiply(c111, alphaV);
        }
        TVec betaV = TSimd.Broadcast(beta);
        if (beta == T.Zero)
        {
            TileStore<T, TSimd, TVec>.Row(c + 0 * ldc, count, c00, c01, betaV, true, epilogue, row + 0, column);
            if (rows > 1) TileStore<T, TSimd, TVec>.Row(c + 1 * ldc, count, c10, c11, betaV, true, epilogue, row + 1, column);
            if (rows > 2) TileStore<T, TSimd, TVec>.Row(c + 2 * ldc, count, c20, c21, betaV, true, epilogue, row + 2, column);
            if (rows > 3) TileStore<T, TSimd, TVec>.Row(c + 3 * ldc, count, c30, c31, betaV, true, epilogue, row + 3, column);
            if (rows > 4) TileStore<T, TSimd, TVec>.Row(c + 4 * ldc, count, c40, c41, betaV, true, epilogue, row + 4, column);
            if (rows > 5) TileStore<T, TSimd, TVec>.Row(c + 5 * ldc, count, c50, c51, betaV, true, epilogue, row + 5, column);
            if (rows > 6) TileStore<T, TSimd, TVec>.Row(c + 6 * ldc, count, c60, c61, betaV, true, epilogue, row + 6, column);
            if (rows > 7) TileStore<T, TSimd, TVec>.Row(c + 7 * ldc, count, c70, c71, betaV, true, epilogue, row + 7, column);
            if (rows > 8) TileStore<T, TSimd, TVec>.Row(c + 8 * ldc, count, c80, c81, betaV, true, epilogue, row + 8, column);
            if (rows > 9) TileStore<T, TSimd, TVec>.Row(c + 9 * ldc, count, c90, c91, betaV, true, epilogue, row + 9, column);
            if (rows > 10) TileStore<T, TSimd, TVec>.Row(c + 10 * ldc, count, c100, c101, betaV, true, epilogue, row + 10, column);
            if (rows > 11) TileStore<T, TSimd, TVec>.Row(c + 11 * ldc, count, c110, c111, betaV, true, epilogue, row + 11, column);
        }
        else
        {
            TileStore<T, TSimd, TVec>.Row(c + 0 * ldc, count, c00, c01, betaV, false, epilogue, row + 0, column);
            if (rows > 1) TileStore<T, TSimd, TVec>.Row(c + 1 * ldc, count, c10, c11, betaV, false, epilogue, row + 1, column);
            if (rows > 2) TileStore<T, TSimd, TVec>.Row(c + 2 * ldc, count, c20, c21, betaV, false, epilogue, row + 2, column);
            if (rows > 3) TileStore<T, TSimd, TVec>.Row(c + 3 * ldc, count, c30, c31, betaV, false, epilogue, row + 3, column);
            if (rows > 4) TileStore<T, TSimd, TVec>.Row(c + 4 * ldc, count, c40, c41, betaV, false, epilogue, row + 4, column);
            if (rows > 5) TileStore<T, TSimd, TVec>.Row(c + 5 * ldc, count, c50, c51, betaV, false, epilogue, row + 5, column);
            if (rows > 6) TileStore<T, TSimd, TVec>.Row(c + 6 * ldc, count, c60, c61, betaV, false, epilogue, row + 6, column);
            if (rows > 7) TileStore<T, TSimd, TVec>.Row(c + 7 * ldc, count, c70, c71, betaV, false, epilogue, row + 7, column);
            if (rows > 8) TileStore<T, TSimd, TVec>.Row(c + 8 * ldc, count, c80, c81, betaV, false, epilogue, row + 8, column);
            if (rows > 9) TileStore<T, TSimd, TVec>.Row(c + 9 * ldc, count, c90, c91, betaV, false, epilogue, row + 9, column);
            if (rows > 10) TileStore<T, TSimd, TVec>.Row(c + 10 * ldc, count, c100, c101, betaV, false, epilogue, row + 10, column);
            if (rows > 11) TileStore<T, TSimd, TVec>.Row(c + 11 * ldc, count, c110, c111, betaV, false, epilogue, row + 11, column);
        }
    }
}

/// <summary>8 rows × 2 registers, for AVX-512 products whose m is a multiple of 8 but not of 12 (32, 64): 16 accumulators,
/// still enough independent FMAs to hide their latency, and no padded rows.</summary>
internal unsafe struct MicroKernel8xTwoVectors<T, TSimd, TVec> : IMicroKernel<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TSimd : ISimd<T, TVec>
    where TVec : unmanaged
{
    public static int MR => 8;
    public static int NR => 2 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TEpilogue>(int kc, T* a, nint aRowStride, nint aStep, T* b, nint bStep, T* seed, nint lds,
        T* c, nint ldc, T alpha, T beta, in TEpilogue epilogue, int row, int column, int rows) where TEpilogue : struct, IGemmEpilogue<T>
    {
        TVec c00 = TSimd.Zero, c01 = TSimd.Zero, c10 = TSimd.Zero, c11 = TSimd.Zero, c20 = TSimd.Zero, c21 = TSimd.Zero, c30 = TSimd.Zero, c31 = TSimd.Zero, c40 = TSimd.Zero, c41 = TSimd.Zero, c50 = TSimd.Zero, c51 = TSimd.Zero, c60 = TSimd.Zero, c61 = TSimd.Zero, c70 = TSimd.Zero, c71 = TSimd.Zero;
        nint count = TSimd.Count;
        if (seed != null)
        {
            c00 = TSimd.Load(seed); c01 = TSimd.Load(seed + count);
            if (rows > 1) { c10 = TSimd.Load(seed + lds); c11 = TSimd.Load(seed + lds + count); }
            if (rows > 2) { c20 = TSimd.Load(seed + 2 * lds); c21 = TSimd.Load(seed + 2 * lds + count); }
            if (rows > 3) { c30 = TSimd.Load(seed + 3 * lds); c31 = TSimd.Load(seed + 3 * lds + count); }
            if (rows > 4) { c40 = TSimd.Load(seed + 4 * lds); c41 = TSimd.Load(seed + 4 * lds + count); }
            if (rows > 5) { c50 = TSimd.Load(seed + 5 * lds); c51 = TSimd.Load(seed + 5 * lds + count); }
            if (rows > 6) { c60 = TSimd.Load(seed + 6 * lds); c61 = TSimd.Load(seed + 6 * lds + count); }
            if (rows > 7) { c70 = TSimd.Load(seed + 7 * lds); c71 = TSimd.Load(seed + 7 * lds + count); }
        }
        if (aRowStride == 1)
        {
            for (int p = 0; p < kc; p++)
            {
                TVec b0 = TSimd.Load(b);
                TVec b1 = TSimd.Load(b + count);
                TVec x;
                x = TSimd.Broadcast(a[0]); c00 = TSimd.MultiplyAdd(x, b0, c00); c01 = TSimd.MultiplyAdd(x, b1, c01);
                x = TSimd.Broadcast(a[1]); c10 = TSimd.MultiplyAdd(x, b0, c10); c11 = TSimd.MultiplyAdd(x, b1, c11);
                x = TSimd.Broadcast(a[2]); c20 = TSimd.MultiplyAdd(x, b0, c20); c21 = TSimd.MultiplyAdd(x, b1, c21);
                x = TSimd.Broadcast(a[3]); c30 = TSimd.MultiplyAdd(x, b0, c30); c31 = TSimd.MultiplyAdd(x, b1, c31);
                x = TSimd.Broadcast(a[4]); c40 = TSimd.MultiplyAdd(x, b0, c40); c41 = TSimd.MultiplyAdd(x, b1, c41);
                x = TSimd.Broadcast(a[5]); c50 = TSimd.MultiplyAdd(x, b0, c50); c51 = TSimd.MultiplyAdd(x, b1, c51);
                x = TSimd.Broadcast(a[6]); c60 = TSimd.MultiplyAdd(x, b0, c60); c61 = TSimd.MultiplyAdd(x, b1, c61);
                x = TSimd.Broadcast(a[7]); c70 = TSimd.MultiplyAdd(x, b0, c70); c71 = TSimd.MultiplyAdd(x, b1, c71);
                a += aStep;
                b += bStep;
            }
        }
        else
        {
            // Rows of A read in place: MR broadcasts from MR rows. Byte offsets l, 2l, 3l from a base every
            // four rows keep each address one x86 addressing mode ([base + l·scale]) and the loop within the GPRs.
            nint l = aRowStride * sizeof(T), l3 = 3 * l, step = aStep * sizeof(T);
            byte* r0 = (byte*)a, r4 = (byte*)a + 4 * l;
            for (int p = 0; p < kc; p++)
            {
                TVec b0 = TSimd.Load(b);
                TVec b1 = TSimd.Load(b + count);
                TVec x;
                x = TSimd.Broadcast(*(T*)(r0)); c00 = TSimd.MultiplyAdd(x, b0, c00); c01 = TSimd.MultiplyAdd(x, b1, c01);
                x = TSimd.Broadcast(*(T*)(r0 + l)); c10 = TSimd.MultiplyAdd(x, b0, c10); c11 = TSimd.MultiplyAdd(x, b1, c11);
                x = TSimd.Broadcast(*(T*)(r0 + 2 * l)); c20 = TSimd.MultiplyAdd(x, b0, c20); c21 = TSimd.MultiplyAdd(x, b1, c21);
                x = TSimd.Broadcast(*(T*)(r0 + l3)); c30 = TSimd.MultiplyAdd(x, b0, c30); c31 = TSimd.MultiplyAdd(x, b1, c31);
                x = TSimd.Broadcast(*(T*)(r4)); c40 = TSimd.MultiplyAdd(x, b0, c40); c41 = TSimd.MultiplyAdd(x, b1, c41);
                x = TSimd.Broadcast(*(T*)(r4 + l)); c50 = TSimd.MultiplyAdd(x, b0, c50); c51 = TSimd.MultiplyAdd(x, b1, c51);
                x = TSimd.Broadcast(*(T*)(r4 + 2 * l)); c60 = TSimd.MultiplyAdd(x, b0, c60); c61 = TSimd.MultiplyAdd(x, b1, c61);
                x = TSimd.Broadcast(*(T*)(r4 + l3)); c70 = TSimd.MultiplyAdd(x, b0, c70); c71 = TSimd.MultiplyAdd(x, b1, c71);
                r0 += step; r4 += step;
                b += bStep;
            }
        }
        // α = 1 (almost every call) skips the 2·MR multiplies, a tenth of the work of a tile when k is ~10.
        if (alpha != T.One)
        {
            TVec alphaV = TSimd.Broadcast(alpha);
            c00 = TSimd.Multiply(c00, alphaV); c01 = TSimd.Multiply(c01, alphaV); c10 = TSimd.Multiply(c10, alphaV); c11 = TSimd.Multiply(c11, alphaV);
            c20 = TSimd.Multiply(c20, alphaV); c21 = TSimd.Multiply(c21, alphaV); c30 = TSimd.Multiply(c30, alphaV); c31 = TSimd.Multiply(c31, alphaV);
            c40 = TSimd.Multiply(c40, alphaV); c41 = TSimd.Multiply(c41, alphaV); c50 = TSimd.Multiply(c50, alphaV); c51 = TSimd.Multiply(c51, alphaV);
            c60 = TSimd.Multiply(c60, alphaV); c61 = TSimd.Multiply(c61, alphaV); c70 = TSimd.Multiply(c70, alphaV); c71 = TSimd.Multiply(c71, alphaV);
        }
        TVec betaV = TSimd.Broadcast(beta);
        if (beta == T.Zero)
        {
            TileStore<T, TSimd, TVec>.Row(c + 0 * ldc, count, c00, c01, betaV, true, epilogue, row + 0, column);
            if (rows > 1) TileStore<T, TSimd, TVec>.Row(c + 1 * ldc, count, c10, c11, betaV, true, epilogue, row + 1, column);
            if (rows > 2) TileStore<T, TSimd, TVec>.Row(c + 2 * ldc, count, c20, c21, betaV, true, epilogue, row + 2, column);
            if (rows > 3) TileStore<T, TSimd, TVec>.Row(c + 3 * ldc, count, c30, c31, betaV, true, epilogue, row + 3, column);
            if (rows > 4) TileStore<T, TSimd, TVec>.Row(c + 4 * ldc, count, c40, c41, betaV, true, epilogue, row + 4, column);
            if (rows > 5) TileStore<T, TSimd, TVec>.Row(c + 5 * ldc, count, c50, c51, betaV, true, epilogue, row + 5, column);
            if (rows > 6) TileStore<T, TSimd, TVec>.Row(c + 6 * ldc, count, c60, c61, betaV, true, epilogue, row + 6, column);
            if (rows > 7) TileStore<T, TSimd, TVec>.Row(c + 7 * ldc, count, c70, c71, betaV, true, epilogue, row + 7, column);
        }
        else
        {
            TileStore<T, TSimd, TVec>.Row(c + 0 * ldc, count, c00, c01, betaV, false, epilogue, row + 0, column);
            if (rows > 1) TileStore<T, TSimd, TVec>.Row(c + 1 * ldc, count, c10, c11, betaV, false, epilogue, row + 1, column);
            if (rows > 2) TileStore<T, TSimd, TVec>.Row(c + 2 * ldc, count, c20, c21, betaV, false, epilogue, row + 2, column);
            if (rows > 3) TileStore<T, TSimd, TVec>.Row(c + 3 * ldc, count, c30, c31, betaV, false, epilogue, row + 3, column);
            if (rows > 4) TileStore<T, TSimd, TVec>.Row(c + 4 * ldc, count, c40, c41, betaV, false, epilogue, row + 4, column);
            if (rows > 5) TileStore<T, TSimd, TVec>.Row(c + 5 * ldc, count, c50, c51, betaV, false, epilogue, row + 5, column);
            if (rows > 6) TileStore<T, TSimd, TVec>.Row(c + 6 * ldc, count, c60, c61, betaV, false, epilogue, row + 6, column);
            if (rows > 7) TileStore<T, TSimd, TVec>.Row(c + 7 * ldc, count, c70, c71, betaV, false, epilogue, row + 7, column);
        }
    }
}

/// <summary>6 rows × 2 registers: 12 accumulators + 2 B registers + 1 broadcast fit the 16 ymm/xmm registers of AVX2 and SSE.</summary>
internal unsafe struct MicroKernel6xTwoVectors<T, TSimd, TVec> : IMicroKernel<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TSimd : ISimd<T, TVec>
    where TVec : unmanaged
{
    public static int MR => 6;
    public static int NR => 2 * TSimd.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TEpilogue>(int kc, T* a, nint aRowStride, nint aStep, T* b, nint bStep, T* seed, nint lds,
        T* c, nint ldc, T alpha, T beta, in TEpilogue epilogue, int row, int column, int rows) where TEpilogue : struct, IGemmEpilogue<T>
    {
        TVec c00 = TSimd.Zero, c01 = TSimd.Zero, c10 = TSimd.Zero, c11 = TSimd.Zero, c20 = TSimd.Zero, c21 = TSimd.Zero, c30 = TSimd.Zero, c31 = TSimd.Zero, c40 = TSimd.Zero, c41 = TSimd.Zero, c50 = TSimd.Zero, c51 = TSimd.Zero;
        nint count = TSimd.Count;
        if (seed != null)
        {
            c00 = TSimd.Load(seed); c01 = TSimd.Load(seed + count);
            if (rows > 1) { c10 = TSimd.Load(seed + lds); c11 = TSimd.Load(seed + lds + count); }
            if (rows > 2) { c20 = TSimd.Load(seed + 2 * lds); c21 = TSimd.Load(seed + 2 * lds + count); }
            if (rows > 3) { c30 = TSimd.Load(seed + 3 * lds); c31 = TSimd.Load(seed + 3 * lds + count); }
            if (rows > 4) { c40 = TSimd.Load(seed + 4 * lds); c41 = TSimd.Load(seed + 4 * lds + count); }
            if (rows > 5) { c50 = TSimd.Load(seed + 5 * lds); c51 = TSimd.Load(seed + 5 * lds + count); }
        }
        if (aRowStride == 1)
        {
            for (int p = 0; p < kc; p++)
            {
                TVec b0 = TSimd.Load(b);
                TVec b1 = TSimd.Load(b + count);
                TVec x;
                x = TSimd.Broadcast(a[0]); c00 = TSimd.MultiplyAdd(x, b0, c00); c01 = TSimd.MultiplyAdd(x, b1, c01);
                x = TSimd.Broadcast(a[1]); c10 = TSimd.MultiplyAdd(x, b0, c10); c11 = TSimd.MultiplyAdd(x, b1, c11);
                x = TSimd.Broadcast(a[2]); c20 = TSimd.MultiplyAdd(x, b0, c20); c21 = TSimd.MultiplyAdd(x, b1, c21);
                x = TSimd.Broadcast(a[3]); c30 = TSimd.MultiplyAdd(x, b0, c30); c31 = TSimd.MultiplyAdd(x, b1, c31);
                x = TSimd.Broadcast(a[4]); c40 = TSimd.MultiplyAdd(x, b0, c40); c41 = TSimd.MultiplyAdd(x, b1, c41);
                x = TSimd.Broadcast(a[5]); c50 = TSimd.MultiplyAdd(x, b0, c50); c51 = TSimd.MultiplyAdd(x, b1, c51);
                a += aStep;
                b += bStep;
            }
        }
        else
        {
            // Rows of A read in place: MR broadcasts from MR rows. Byte offsets l, 2l, 3l from a base every
            // four rows keep each address one x86 addressing mode ([base + l·scale]) and the loop within the GPRs.
            nint l = aRowStride * sizeof(T), l3 = 3 * l, step = aStep * sizeof(T);
            byte* r0 = (byte*)a, r4 = (byte*)a + 4 * l;
            for (int p = 0; p < kc; p++)
            {
                TVec b0 = TSimd.Load(b);
                TVec b1 = TSimd.Load(b + count);
                TVec x;
                x = TSimd.Broadcast(*(T*)(r0)); c00 = TSimd.MultiplyAdd(x, b0, c00); c01 = TSimd.MultiplyAdd(x, b1, c01);
                x = TSimd.Broadcast(*(T*)(r0 + l)); c10 = TSimd.MultiplyAdd(x, b0, c10); c11 = TSimd.MultiplyAdd(x, b1, c11);
                x = TSimd.Broadcast(*(T*)(r0 + 2 * l)); c20 = TSimd.MultiplyAdd(x, b0, c20); c21 = TSimd.MultiplyAdd(x, b1, c21);
                x = TSimd.Broadcast(*(T*)(r0 + l3)); c30 = TSimd.MultiplyAdd(x, b0, c30); c31 = TSimd.MultiplyAdd(x, b1, c31);
                x = TSimd.Broadcast(*(T*)(r4)); c40 = TSimd.MultiplyAdd(x, b0, c40); c41 = TSimd.MultiplyAdd(x, b1, c41);
                x = TSimd.Broadcast(*(T*)(r4 + l)); c50 = TSimd.MultiplyAdd(x, b0, c50); c51 = TSimd.MultiplyAdd(x, b1, c51);
                r0 += step; r4 += step;
                b += bStep;
            }
        }
        // α = 1 (almost every call) skips the 2·MR multiplies, a tenth of the work of a tile when k is ~10.
        if (alpha != T.One)
        {
            TVec alphaV = TSimd.Broadcast(alpha);
            c00 = TSimd.Multiply(c00, alphaV); c01 = TSimd.Multiply(c01, alphaV); c10 = TSimd.Multiply(c10, alphaV); c11 = TSimd.Multiply(c11, alphaV);
            c20 = TSimd.Multiply(c20, alphaV); c21 = TSimd.Multiply(c21, alphaV); c30 = TSimd.Multiply(c30, alphaV); c31 = TSimd.Multiply(c31, alphaV);
            c40 = TSimd.Multiply(c40, alphaV); c41 = TSimd.Multiply(c41, alphaV); c50 = TSimd.Multiply(c50, alphaV); c51 = TSimd.Multiply(c51, alphaV);
        }
        TVec betaV = TSimd.Broadcast(beta);
        if (beta == T.Zero)
        {
            TileStore<T, TSimd, TVec>.Row(c + 0 * ldc, count, c00, c01, betaV, true, epilogue, row + 0, column);
            if (rows > 1) TileStore<T, TSimd, TVec>.Row(c + 1 * ldc, count, c10, c11, betaV, true, epilogue, row + 1, column);
            if (rows > 2) TileStore<T, TSimd, TVec>.Row(c + 2 * ldc, count, c20, c21, betaV, true, epilogue, row + 2, column);
            if (rows > 3) TileStore<T, TSimd, TVec>.Row(c + 3 * ldc, count, c30, c31, betaV, true, epilogue, row + 3, column);
            if (rows > 4) TileStore<T, TSimd, TVec>.Row(c + 4 * ldc, count, c40, c41, betaV, true, epilogue, row + 4, column);
            if (rows > 5) TileStore<T, TSimd, TVec>.Row(c + 5 * ldc, count, c50, c51, betaV, true, epilogue, row + 5, column);
        }
        else
        {
            TileStore<T, TSimd, TVec>.Row(c + 0 * ldc, count, c00, c01, betaV, false, epilogue, row + 0, column);
            if (rows > 1) TileStore<T, TSimd, TVec>.Row(c + 1 * ldc, count, c10, c11, betaV, false, epilogue, row + 1, column);
            if (rows > 2) TileStore<T, TSimd, TVec>.Row(c + 2 * ldc, count, c20, c21, betaV, false, epilogue, row + 2, column);
            if (rows > 3) TileStore<T, TSimd, TVec>.Row(c + 3 * ldc, count, c30, c31, betaV, false, epilogue, row + 3, column);
            if (rows > 4) TileStore<T, TSimd, TVec>.Row(c + 4 * ldc, count, c40, c41, betaV, false, epilogue, row + 4, column);
            if (rows > 5) TileStore<T, TSimd, TVec>.Row(c + 5 * ldc, count, c50, c51, betaV, false, epilogue, row + 5, column);
        }
    }
}
