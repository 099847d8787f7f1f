using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FastBackprop.Kernels.Simd;
using FastBackprop.Kernels.Threading;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// C = α·A·Bᵀ + β·C when C has few columns (an output layer's X·Wᵀ with 10 classes): every element is the dot
/// product of a row of A with a row of B, both contiguous, so nothing is packed. The tiled path would either pad a
/// 10-column C to 32 columns or transpose A into packed panels (128×256: two thirds of its time); here each pair of
/// rows of A meets four rows of B at a time (eight accumulators, six loads per eight FMAs), and the epilogue runs on
/// each pair of rows while it is in L1.
/// </summary>
internal static unsafe class RowDots<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Up to this many columns of C. Past it the tiled path fills its 32-wide panels.</summary>
    public const int MaxColumns = 16;

    /// <summary>Below this depth the dot products would be mostly scalar tails.</summary>
    public const int MinimumDepth = 32;

    /// <summary>Rows per partial column sum of an epilogue (see <see cref="IGemmEpilogue{T}.RowGroup"/>); threads
    /// split the rows at multiples of it, so no two threads write one group's sums.</summary>
    public const int RowGroup = 16;

    public static bool Applies(bool transA, bool transB, int n, int k) => !transA && transB && n <= MaxColumns && k >= MinimumDepth;

    public static void Run<TEpilogue>(int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc,
        in TEpilogue epilogue) where TEpilogue : struct, IGemmEpilogue<T>
    {
        int groups = (m + RowGroup - 1) / RowGroup;
        int parts = GemmThreading.ThreadsFor(m, n, k, groups);
        var work = new Work<TEpilogue>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, groups, parts);
        WorkerTeam.Run(ref work, parts);
    }

    private readonly struct Work<TEpilogue>(int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc,
        TEpilogue epilogue, int groups, int parts) : IPartitionedWork
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        public int Parts => parts;

        public void Execute(int part)
        {
            int first = part * groups / parts * RowGroup, end = Math.Min(m, (part + 1) * groups / parts * RowGroup);
            var rows = new RowRange<TEpilogue>(first, end, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
            VectorDispatch<T>.Run(ref rows);
        }
    }

    private readonly struct RowRange<TEpilogue>(int first, int end, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb,
        T beta, T* c, nint ldc, TEpilogue epilogue) : IVectorWork<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        public void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged
            => Rows<TSimd, TVec, TEpilogue>(first, end, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
    }

    /// <summary>Rows [first, end) of C, two at a time. An odd last row is paired with itself and stored once,
    /// so every element is computed by the same instructions (a row's result does not depend on its neighbour).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TSimd, TVec, TEpilogue>(int first, int end, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb,
        T beta, T* c, nint ldc, in TEpilogue epilogue)
        where TSimd : ISimd<T, TVec>
        where TVec : unmanaged
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        int count = TSimd.Count;
        int vectorEnd = k - k % count;
        for (int i = first; i < end; i += 2)
        {
            bool pair = i + 1 < end;
            T* a0 = a + i * lda, a1 = pair ? a0 + lda : a0;
            T* c0 = c + i * ldc, c1 = c0 + ldc;
            for (int j = 0; j < n; j += 4)
            {
                // A last group of fewer than four rows of B repeats its first row in the missing places and stores
                // only the real ones: one code path, and never a latency-bound loop of one or two accumulators.
                int columns = Math.Min(4, n - j);
                T* b0 = b + j * ldb;
                T* b1 = columns > 1 ? b0 + ldb : b0, b2 = columns > 2 ? b0 + 2 * ldb : b0, b3 = columns > 3 ? b0 + 3 * ldb : b0;
                TVec s00 = TSimd.Zero, s01 = TSimd.Zero, s02 = TSimd.Zero, s03 = TSimd.Zero;
                TVec s10 = TSimd.Zero, s11 = TSimd.Zero, s12 = TSimd.Zero, s13 = TSimd.Zero;
                for (int p = 0; p < vectorEnd; p += count)
                {
                    TVec x0 = TSimd.Load(a0 + p), x1 = TSimd.Load(a1 + p);
                    TVec w = TSimd.Load(b0 + p);
                    s00 = TSimd.MultiplyAdd(x0, w, s00); s10 = TSimd.MultiplyAdd(x1, w, s10);
                    w = TSimd.Load(b1 + p);
                    s01 = TSimd.MultiplyAdd(x0, w, s01); s11 = TSimd.MultiplyAdd(x1, w, s11);
                    w = TSimd.Load(b2 + p);
                    s02 = TSimd.MultiplyAdd(x0, w, s02); s12 = TSimd.MultiplyAdd(x1, w, s12);
                    w = TSimd.Load(b3 + p);
                    s03 = TSimd.MultiplyAdd(x0, w, s03); s13 = TSimd.MultiplyAdd(x1, w, s13);
                }
                // Four dot products of a row finish together (a 4×4 transpose-add on x86), not one reduction each.
                (T r00, T r01, T r02, T r03) = Reduce4(TSimd.FoldTo128(s00), TSimd.FoldTo128(s01), TSimd.FoldTo128(s02), TSimd.FoldTo128(s03));
                StoreRow(c0 + j, columns, alpha, beta, Tail(a0, b0, vectorEnd, k, r00), Tail(a0, b1, vectorEnd, k, r01),
                    Tail(a0, b2, vectorEnd, k, r02), Tail(a0, b3, vectorEnd, k, r03));
                if (pair)
                {
                    (T r10, T r11, T r12, T r13) = Reduce4(TSimd.FoldTo128(s10), TSimd.FoldTo128(s11), TSimd.FoldTo128(s12), TSimd.FoldTo128(s13));
                    StoreRow(c1 + j, columns, alpha, beta, Tail(a1, b0, vectorEnd, k, r10), Tail(a1, b1, vectorEnd, k, r11),
                        Tail(a1, b2, vectorEnd, k, r12), Tail(a1, b3, vectorEnd, k, r13));
                }
            }
            GemmEpilogue<T>.ApplyToStoredTile(epilogue, c0, ldc, i, 0, pair ? 2 : 1, n);
        }
    }

    /// <summary>The lane sums of four registers: for float on x86 a 4×4 transpose-add (lanes (0+2)+(1+3), as
    /// <see cref="Reduce"/> adds them), else one register at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (T, T, T, T) Reduce4(Vector128<T> a, Vector128<T> b, Vector128<T> c, Vector128<T> d)
    {
        if (typeof(T) == typeof(float) && Sse.IsSupported)
        {
            Vector128<float> fa = a.AsSingle(), fb = b.AsSingle(), fc = c.AsSingle(), fd = d.AsSingle();
            Vector128<float> ab = Sse.Add(Sse.UnpackLow(fa, fb), Sse.UnpackHigh(fa, fb));   // a0+a2, b0+b2, a1+a3, b1+b3
            Vector128<float> cd = Sse.Add(Sse.UnpackLow(fc, fd), Sse.UnpackHigh(fc, fd));
            Vector128<T> sums = Sse.Add(Sse.MoveLowToHigh(ab, cd), Sse.MoveHighToLow(cd, ab)).As<float, T>();
            return (sums.GetElement(0), sums.GetElement(1), sums.GetElement(2), sums.GetElement(3));
        }
        return (Reduce(a), Reduce(b), Reduce(c), Reduce(d));
    }

    /// <summary>The lane sum of one register: (0+2)+(1+3) for four lanes, 0+1 for two.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Reduce(Vector128<T> v)
        => Vector128<T>.Count == 4 ? (v.GetElement(0) + v.GetElement(2)) + (v.GetElement(1) + v.GetElement(3))
            : v.GetElement(0) + v.GetElement(1);

    /// <summary>The first <paramref name="columns"/> of four results into a row of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(T* c, int columns, T alpha, T beta, T y0, T y1, T y2, T y3)
    {
        Store(c, alpha, beta, y0);
        if (columns > 1)
            Store(c + 1, alpha, beta, y1);
        if (columns > 2)
            Store(c + 2, alpha, beta, y2);
        if (columns > 3)
            Store(c + 3, alpha, beta, y3);
    }

    /// <summary>C = α·y + β·C, with β = 0 never reading C (BLAS: NaN there does not survive).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(T* c, T alpha, T beta, T y) => *c = beta == T.Zero ? alpha * y : alpha * y + beta * *c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Tail(T* x, T* row, int from, int k, T sum)
    {
        for (int p = from; p < k; p++)
            sum += x[p] * row[p];
        return sum;
    }
}
