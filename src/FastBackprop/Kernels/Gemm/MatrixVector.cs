using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using FastBackprop.Kernels.Simd;
using FastBackprop.Kernels.Threading;
using FastBackprop.Hardware;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// Matrix-vector products for one row of C (single-sample inference): bound by reading B once, so the
/// kernels stream B with several rows in flight and, when B is large enough to pay for a fork, split its
/// rows (or columns) between the worker team — on two cores the bandwidth of both is used. Every output
/// element is computed by the same arithmetic whatever the split, so results do not depend on the thread count.
/// </summary>
internal static unsafe class MatrixVector<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>y[j] = Σ_p x[p]·B[j, p] for j in [0, n): each output a dot product of x with a row of B.</summary>
    public static void DotRows(T* x, T* b, nint ldb, int n, int k, T* y)
    {
        var work = new DotWork(x, b, ldb, n, k, y, Parts(n, k));
        WorkerTeam.Run(ref work, work.Parts);
    }

    /// <summary>y[0..n) = Σ_p x[p]·B[p, 0..n): rows of B scaled and accumulated, split by columns.</summary>
    public static void AccumulateRows(T* x, T* b, nint ldb, int n, int k, T* y)
    {
        var work = new AxpyWork(x, b, ldb, n, k, y, Parts(n, k));
        WorkerTeam.Run(ref work, work.Parts);
    }

    private static int Parts(int n, int k)
    {
        long bytes = (long)n * k * sizeof(T);
        long byBytes = bytes / KernelConfiguration.Active.MatrixVectorBytesPerPart;
        return (int)Math.Max(1, Math.Min(Math.Min(GemmThreading.MaxDegreeOfParallelism, byBytes), n / 16));
    }

    private readonly struct DotWork(T* x, T* b, nint ldb, int n, int k, T* y, int parts) : IPartitionedWork
    {
        public int Parts => parts;

        public void Execute(int part)
        {
            var rows = new DotRange(x, b, ldb, (int)((long)part * n / parts), (int)((long)(part + 1) * n / parts), k, y);
            VectorDispatch<T>.Run(ref rows);
        }
    }

    private readonly struct DotRange(T* x, T* b, nint ldb, int first, int end, int k, T* y) : IVectorWork<T>
    {
        public void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged
            => Dots<TSimd, TVec>(x, b, ldb, first, end, k, y);
    }

    private readonly struct AxpyWork(T* x, T* b, nint ldb, int n, int k, T* y, int parts) : IPartitionedWork
    {
        public int Parts => parts;

        public void Execute(int part)
        {
            int first = (int)((long)part * n / parts), end = (int)((long)(part + 1) * n / parts);
            var target = new Span<T>(y + first, end - first);
            target.Clear();
            for (int p = 0; p < k; p++)
                TensorPrimitives.MultiplyAdd<T>(new ReadOnlySpan<T>(b + p * ldb + first, end - first), x[p], target, target);
        }
    }

    /// <summary>Four rows of B at a time share each register of x; each row keeps its own accumulator
    /// and its own scalar tail, so a row's result is the same in a group of four or alone.</summary>
    // Not AggressiveOptimization, unlike the other kernels: compiled that way (no tiered PGO) this loop made the two-thread
    // single-sample Predict about twice as slow (bench/RESULTS.md, "Summary by CPU"); the cause is not known yet.
    private static void Dots<TSimd, TVec>(T* x, T* b, nint ldb, int first, int end, int k, T* y)
        where TSimd : ISimd<T, TVec>
        where TVec : unmanaged
    {
        int count = TSimd.Count;
        int vectorEnd = k - k % count;
        int j = first;
        for (; j + 4 <= end; j += 4)
        {
            T* b0 = b + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
            TVec s0 = TSimd.Zero, s1 = TSimd.Zero, s2 = TSimd.Zero, s3 = TSimd.Zero;
            for (int p = 0; p < vectorEnd; p += count)
            {
                TVec xv = TSimd.Load(x + p);
                s0 = TSimd.MultiplyAdd(xv, TSimd.Load(b0 + p), s0);
                s1 = TSimd.MultiplyAdd(xv, TSimd.Load(b1 + p), s1);
                s2 = TSimd.MultiplyAdd(xv, TSimd.Load(b2 + p), s2);
                s3 = TSimd.MultiplyAdd(xv, TSimd.Load(b3 + p), s3);
            }
            y[j] = Tail(x, b0, vectorEnd, k, TSimd.Sum(s0));
            y[j + 1] = Tail(x, b1, vectorEnd, k, TSimd.Sum(s1));
            y[j + 2] = Tail(x, b2, vectorEnd, k, TSimd.Sum(s2));
            y[j + 3] = Tail(x, b3, vectorEnd, k, TSimd.Sum(s3));
        }
        for (; j < end; j++)
        {
            T* row = b + j * ldb;
            TVec s = TSimd.Zero;
            for (int p = 0; p < vectorEnd; p += count)
                s = TSimd.MultiplyAdd(TSimd.Load(x + p), TSimd.Load(row + p), s);
            y[j] = Tail(x, row, vectorEnd, k, TSimd.Sum(s));
        }
    }

    private static T Tail(T* x, T* row, int from, int k, T sum)
    {
        for (int p = from; p < k; p++)
            sum += x[p] * row[p];
        return sum;
    }
}
