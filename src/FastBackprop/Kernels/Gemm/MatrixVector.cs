using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using FastBackprop.Hardware;
using FastBackprop.Kernels.Simd;
using FastBackprop.Kernels.Threading;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// Matrix-vector products for one row (or column) of C — single-sample inference, a single-output layer — computed in
/// the order every GEMM path uses: each output is one chain of fused multiply-adds over k in order, vectorised across
/// outputs, never across k. So a sample predicted alone gets the bits it gets inside a batch, on every instruction set.
/// Three operand layouts:
/// <list type="bullet">
/// <item><see cref="AccumulateRows"/>: the outputs are contiguous in each row of the matrix (y = x·B): registers of
/// outputs accumulate x[p]·B[p, ·] row after row.</item>
/// <item><see cref="Panels"/>: the matrix packed in NR-wide panels (<see cref="PackedOperand{T}"/>, a frozen network's
/// weights): the same, streaming the panels.</item>
/// <item><see cref="DotRows"/>: each output is a row of the matrix (y = M·x, k contiguous): blocks of 8×8 (AVX) or 4×4
/// (Vector128) values are transposed in registers so a register again holds one k step of 8 or 4 outputs; where no
/// such transpose is written (double, the scalar path, ragged edges) a register is gathered element by element.</item>
/// </list>
/// Bound by reading the matrix once; when it is large enough to pay for a fork its outputs are split between the
/// worker team (on two cores the bandwidth of both is used). The split never changes an output's arithmetic.
/// </summary>
internal static unsafe class MatrixVector<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Outputs per register group of the dot-product path's parts: a multiple of every transpose height.</summary>
    private const int DotGroup = 32;

    /// <summary>y[j] = Σ_p x[p]·M[j, p] for j in [0, n): each output a dot product of x with a row of M.</summary>
    public static void DotRows(T* x, T* m, nint ldm, int n, int k, T* y)
    {
        var work = new DotWork(x, m, ldm, n, k, y, Parts(n, k, DotGroup));
        WorkerTeam.Run(ref work, work.Parts);
    }

    /// <summary>y[0..n) = Σ_p x[p]·B[p, 0..n): rows of B scaled and accumulated, split by columns.</summary>
    public static void AccumulateRows(T* x, T* b, nint ldb, int n, int k, T* y)
    {
        var work = new AxpyWork(x, b, ldb, n, k, y, Parts(n, k, 64));
        WorkerTeam.Run(ref work, work.Parts);
    }

    /// <summary>y[0..N) = x·op(B) with op(B) packed (the packing's own NR and K blocks), split by panels. The packing must
    /// be for the active configuration (its NR is two of that configuration's registers).</summary>
    public static void Panels(T* x, PackedOperand<T> packed, T* y)
    {
        int panels = (packed.N + packed.NR - 1) / packed.NR;
        var work = new PanelWork(x, packed, y, panels, Parts(packed.N, packed.K, 4 * packed.NR));
        WorkerTeam.Run(ref work, work.Parts);
    }

    private static int Parts(int n, int k, int outputsPerPart)
    {
        long bytes = (long)n * k * sizeof(T);
        long byBytes = bytes / KernelConfiguration.Active.MatrixVectorBytesPerPart;
        return (int)Math.Max(1, Math.Min(Math.Min(GemmThreading.MaxDegreeOfParallelism, byBytes), n / outputsPerPart));
    }

    /// <summary>Part p's share of [0, count) in whole units of <paramref name="unit"/>.</summary>
    private static (int First, int End) Share(int part, int parts, int count, int unit)
    {
        int units = (count + unit - 1) / unit;
        return (part * units / parts * unit, Math.Min(count, (part + 1) * units / parts * unit));
    }

    // ---------------------------------------------------------------- y = x·B, outputs contiguous in B's rows

    private readonly struct AxpyWork(T* x, T* b, nint ldb, int n, int k, T* y, int parts) : IPartitionedWork
    {
        public int Parts => parts;

        public void Execute(int part)
        {
            (int first, int end) = Share(part, parts, n, 64);
            var range = new AxpyRange(x, b, ldb, first, end, k, y);
            VectorDispatch<T>.Run(ref range);
        }
    }

    private readonly struct AxpyRange(T* x, T* b, nint ldb, int first, int end, int k, T* y) : IVectorWork<T>
    {
        public void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged
            => Accumulate<TSimd, TVec>(x, b, ldb, first, end, k, y);
    }

    /// <summary>Four registers of outputs at a time (four chains in flight), then single registers, then the ragged
    /// end through a zero-padded register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accumulate<TSimd, TVec>(T* x, T* b, nint ldb, int first, int end, int k, T* y)
        where TSimd : ISimd<T, TVec>
        where TVec : unmanaged
    {
        int count = TSimd.Count;
        int j = first;
        for (; j + 4 * count <= end; j += 4 * count)
        {
            TVec s0 = TSimd.Zero, s1 = TSimd.Zero, s2 = TSimd.Zero, s3 = TSimd.Zero;
            T* row = b + j;
            for (int p = 0; p < k; p++, row += ldb)
            {
                TVec xp = TSimd.Broadcast(x[p]);
                s0 = TSimd.MultiplyAdd(xp, TSimd.Load(row), s0);
                s1 = TSimd.MultiplyAdd(xp, TSimd.Load(row + count), s1);
                s2 = TSimd.MultiplyAdd(xp, TSimd.Load(row + 2 * count), s2);
                s3 = TSimd.MultiplyAdd(xp, TSimd.Load(row + 3 * count), s3);
            }
            TSimd.Store(y + j, s0);
            TSimd.Store(y + j + count, s1);
            TSimd.Store(y + j + 2 * count, s2);
            TSimd.Store(y + j + 3 * count, s3);
        }
        for (; j + count <= end; j += count)
        {
            TVec s = TSimd.Zero;
            T* row = b + j;
            for (int p = 0; p < k; p++, row += ldb)
                s = TSimd.MultiplyAdd(TSimd.Broadcast(x[p]), TSimd.Load(row), s);
            TSimd.Store(y + j, s);
        }
        if (j < end)
            GatheredDots<TSimd, TVec>(x, b + j, 1, ldb, end - j, k, y + j);
    }

    /// <summary>
    /// y[0..rows) where output r is Σ_p x[p]·M(r, p) with M(r, p) = m[r·rowStride + p·step]: one register of outputs
    /// at a time, each k step gathered element by element into a zero-padded register. The slow, general form of the
    /// same chains, for the edges and the types the register transposes do not cover.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GatheredDots<TSimd, TVec>(T* x, T* m, nint rowStride, nint step, int rows, int k, T* y)
        where TSimd : ISimd<T, TVec>
        where TVec : unmanaged
    {
        int count = TSimd.Count;
        T* lanes = stackalloc T[count];
        for (int r0 = 0; r0 < rows; r0 += count)
        {
            int height = Math.Min(count, rows - r0);
            for (int t = height; t < count; t++)
                lanes[t] = T.Zero;
            TVec s = TSimd.Zero;
            for (int p = 0; p < k; p++)
            {
                T* column = m + r0 * rowStride + p * step;
                for (int t = 0; t < height; t++)
                    lanes[t] = column[t * rowStride];
                s = TSimd.MultiplyAdd(TSimd.Broadcast(x[p]), TSimd.Load(lanes), s);
            }
            TSimd.Store(lanes, s);
            for (int t = 0; t < height; t++)
                y[r0 + t] = lanes[t];
        }
    }

    // ---------------------------------------------------------------- y = x·op(B), op(B) packed in panels

    private readonly struct PanelWork(T* x, PackedOperand<T> packed, T* y, int panels, int parts) : IPartitionedWork
    {
        public int Parts => parts;

        public void Execute(int part)
        {
            (int first, int end) = Share(part, parts, panels, 4);
            var range = new PanelRange(x, packed, y, first, end);
            VectorDispatch<T>.Run(ref range);
        }
    }

    private readonly struct PanelRange(T* x, PackedOperand<T> packed, T* y, int firstPanel, int endPanel) : IVectorWork<T>
    {
        public void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged
        {
            if (packed.NR != 2 * TSimd.Count)
                throw new InvalidOperationException($"Panels of {packed.NR} columns do not fit registers of {TSimd.Count}.");
            AccumulatePanels<TSimd, TVec>(x, packed, y, firstPanel, endPanel);
        }
    }

    /// <summary>Four panels (eight registers, eight chains in flight) at a time, each K block of the packing in turn;
    /// a ragged last panel is computed whole (its padding is zero) and stored through a buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AccumulatePanels<TSimd, TVec>(T* x, PackedOperand<T> packed, T* y, int firstPanel, int endPanel)
        where TSimd : ISimd<T, TVec>
        where TVec : unmanaged
    {
        int count = TSimd.Count, nr = packed.NR, n = packed.N, k = packed.K;
        T* tail = stackalloc T[8 * count];
        for (int panel = firstPanel; panel < endPanel; panel += 4)
        {
            int group = Math.Min(4, endPanel - panel);
            TVec s0 = TSimd.Zero, s1 = TSimd.Zero, s2 = TSimd.Zero, s3 = TSimd.Zero;
            TVec s4 = TSimd.Zero, s5 = TSimd.Zero, s6 = TSimd.Zero, s7 = TSimd.Zero;
            for (int pc = 0; pc < k; pc += packed.KcMax)
            {
                int kc = Math.Min(packed.KcMax, k - pc);
                T* p0 = packed.Panel(pc, kc, panel);
                // Missing panels of a short group repeat the first; their sums are never stored.
                T* p1 = group > 1 ? packed.Panel(pc, kc, panel + 1) : p0;
                T* p2 = group > 2 ? packed.Panel(pc, kc, panel + 2) : p0;
                T* p3 = group > 3 ? packed.Panel(pc, kc, panel + 3) : p0;
                T* xs = x + pc;
                for (int p = 0; p < kc; p++)
                {
                    TVec xp = TSimd.Broadcast(xs[p]);
                    nint at = (nint)p * nr;
                    s0 = TSimd.MultiplyAdd(xp, TSimd.Load(p0 + at), s0);
                    s1 = TSimd.MultiplyAdd(xp, TSimd.Load(p0 + at + count), s1);
                    s2 = TSimd.MultiplyAdd(xp, TSimd.Load(p1 + at), s2);
                    s3 = TSimd.MultiplyAdd(xp, TSimd.Load(p1 + at + count), s3);
                    s4 = TSimd.MultiplyAdd(xp, TSimd.Load(p2 + at), s4);
                    s5 = TSimd.MultiplyAdd(xp, TSimd.Load(p2 + at + count), s5);
                    s6 = TSimd.MultiplyAdd(xp, TSimd.Load(p3 + at), s6);
                    s7 = TSimd.MultiplyAdd(xp, TSimd.Load(p3 + at + count), s7);
                }
            }
            int column = panel * nr, columns = Math.Min(group * nr, n - column);
            T* target = columns == 4 * nr ? y + column : tail;
            TSimd.Store(target, s0);
            TSimd.Store(target + count, s1);
            TSimd.Store(target + 2 * count, s2);
            TSimd.Store(target + 3 * count, s3);
            TSimd.Store(target + 4 * count, s4);
            TSimd.Store(target + 5 * count, s5);
            TSimd.Store(target + 6 * count, s6);
            TSimd.Store(target + 7 * count, s7);
            if (target == tail)
                new ReadOnlySpan<T>(tail, columns).CopyTo(new Span<T>(y + column, columns));
        }
    }

    // ---------------------------------------------------------------- y = M·x, each output a row of M

    private readonly struct DotWork(T* x, T* m, nint ldm, int n, int k, T* y, int parts) : IPartitionedWork
    {
        public int Parts => parts;

        public void Execute(int part)
        {
            (int first, int end) = Share(part, parts, n, DotGroup);
            DotRange(x, m + first * ldm, ldm, end - first, k, y + first);
        }
    }

    /// <summary>The register-transposing kernels for float: 8-row blocks, then 4-row blocks (which finish every row);
    /// other types gather into 128-bit registers (a wider register would gather mostly padding where rows are few).</summary>
    private static void DotRange(T* x, T* m, nint ldm, int rows, int k, T* y)
    {
        InstructionSet set = KernelConfiguration.Active.InstructionSet;
        int done = 0;
        if (typeof(T) == typeof(float) && set != InstructionSet.Vector128 && Avx.IsSupported && Fma.IsSupported)
            done = Transposed8.Dots((float*)x, (float*)m, ldm, rows, k, (float*)y);
        if (typeof(T) == typeof(float) && Vector128.IsHardwareAccelerated && (Sse.IsSupported || AdvSimd.Arm64.IsSupported))
            done += Transposed4.Dots((float*)x, (float*)m + done * ldm, ldm, rows - done, k, (float*)y + done);
        if (done == rows)
            return;
        if (Vector128<T>.IsSupported)
            GatheredDots<Simd128<T>, Vector128<T>>(x, m + done * ldm, ldm, 1, rows - done, k, y + done);
        else
            GatheredDots<SimdScalar<T>, T>(x, m + done * ldm, ldm, 1, rows - done, k, y + done);
    }
}

/// <summary>
/// Dot products of x with rows of a float matrix, eight rows at a time (the rest: <see cref="Transposed4"/>): each 8×8 block (8 rows × 8 steps of k) is
/// transposed in registers (unpack, shuffle, swap 128-bit halves: 24 shuffles), so each of its 8 registers holds one
/// k step of the 8 outputs and joins their chains with one FMA. Four blocks of rows go together so four chains are in
/// flight (one chain alone waits an FMA latency per step). A k tail of fewer than 8 steps is gathered.
/// </summary>
internal static unsafe class Transposed8
{
    /// <summary>Returns how many rows it computed (a multiple of 8); the caller finishes the rest.</summary>
    // Compiled fully optimised on its first call, like the other kernels. Left to tiered PGO it ran 15-20% faster once
    // warm in BenchmarkDotNet (1×512×784: 30 against 35 µs, Zen 5), but a fresh process on one processor never got there:
    // Network.Predict of one 784-512-256-10 sample stayed at 206–231 µs for 3,000 calls (Zen 5, DOTNET_PROCESSOR_COUNT=1).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Dots(float* x, float* m, nint ldm, int rows, int k, float* y)
    {
        int r = 0;
        for (; r + 32 <= rows; r += 32)
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            float* m0 = m + r * ldm, m1 = m0 + 8 * ldm, m2 = m1 + 8 * ldm, m3 = m2 + 8 * ldm;
            int p = 0;
            for (; p + 8 <= k; p += 8)
            {
                s0 = Block(x + p, m0 + p, ldm, s0);
                s1 = Block(x + p, m1 + p, ldm, s1);
                s2 = Block(x + p, m2 + p, ldm, s2);
                s3 = Block(x + p, m3 + p, ldm, s3);
            }
            for (; p < k; p++)
            {
                Vector256<float> xp = Vector256.Create(x[p]);
                s0 = Fma.MultiplyAdd(xp, Column(m0 + p, ldm), s0);
                s1 = Fma.MultiplyAdd(xp, Column(m1 + p, ldm), s1);
                s2 = Fma.MultiplyAdd(xp, Column(m2 + p, ldm), s2);
                s3 = Fma.MultiplyAdd(xp, Column(m3 + p, ldm), s3);
            }
            s0.Store(y + r);
            s1.Store(y + r + 8);
            s2.Store(y + r + 16);
            s3.Store(y + r + 24);
        }
        for (; r + 8 <= rows; r += 8)
        {
            Vector256<float> s = Vector256<float>.Zero;
            float* m0 = m + r * ldm;
            int p = 0;
            for (; p + 8 <= k; p += 8)
                s = Block(x + p, m0 + p, ldm, s);
            for (; p < k; p++)
                s = Fma.MultiplyAdd(Vector256.Create(x[p]), Column(m0 + p, ldm), s);
            s.Store(y + r);
        }
        return r;
    }

    /// <summary>s continued by the 8 k steps of an 8×8 block (rows ldm apart), in k order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block(float* x, float* m, nint ldm, Vector256<float> s)
    {
        Vector256<float> r0 = Avx.LoadVector256(m), r1 = Avx.LoadVector256(m + ldm);
        Vector256<float> r2 = Avx.LoadVector256(m + 2 * ldm), r3 = Avx.LoadVector256(m + 3 * ldm);
        Vector256<float> r4 = Avx.LoadVector256(m + 4 * ldm), r5 = Avx.LoadVector256(m + 5 * ldm);
        Vector256<float> r6 = Avx.LoadVector256(m + 6 * ldm), r7 = Avx.LoadVector256(m + 7 * ldm);
        // Row i of the block is a_i0..a_i7. After the unpacks and shuffles, u_t holds step t of rows 0..3 in its low
        // half and step t + 4 of rows 0..3 in its high half (v_t likewise for rows 4..7); the 128-bit swaps finish it.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> v0 = Avx.Shuffle(t4, t6, 0x44), v1 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> v2 = Avx.Shuffle(t5, t7, 0x44), v3 = Avx.Shuffle(t5, t7, 0xEE);
        s = Fma.MultiplyAdd(Vector256.Create(x[0]), Avx.Permute2x128(u0, v0, 0x20), s);
        s = Fma.MultiplyAdd(Vector256.Create(x[1]), Avx.Permute2x128(u1, v1, 0x20), s);
        s = Fma.MultiplyAdd(Vector256.Create(x[2]), Avx.Permute2x128(u2, v2, 0x20), s);
        s = Fma.MultiplyAdd(Vector256.Create(x[3]), Avx.Permute2x128(u3, v3, 0x20), s);
        s = Fma.MultiplyAdd(Vector256.Create(x[4]), Avx.Permute2x128(u0, v0, 0x31), s);
        s = Fma.MultiplyAdd(Vector256.Create(x[5]), Avx.Permute2x128(u1, v1, 0x31), s);
        s = Fma.MultiplyAdd(Vector256.Create(x[6]), Avx.Permute2x128(u2, v2, 0x31), s);
        s = Fma.MultiplyAdd(Vector256.Create(x[7]), Avx.Permute2x128(u3, v3, 0x31), s);
        return s;
    }

    /// <summary>One k step of 8 rows, gathered.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Column(float* m, nint ldm)
        => Vector256.Create(m[0], m[ldm], m[2 * ldm], m[3 * ldm], m[4 * ldm], m[5 * ldm], m[6 * ldm], m[7 * ldm]);
}

/// <summary>
/// <see cref="Transposed8"/> on 128-bit registers (x86 SSE, ARM64 AdvSimd), for the Vector128 path and the rows the
/// 8-row blocks leave: 4×4 blocks transposed with two rounds of interleaves, four blocks of rows in flight. A last group
/// of one to three rows reads its first row in the missing places and stores only the real outputs.
/// </summary>
internal static unsafe class Transposed4
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Dots(float* x, float* m, nint ldm, int rows, int k, float* y)
    {
        int r = 0;
        for (; r + 16 <= rows; r += 16)
        {
            Vector128<float> s0 = Vector128<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            float* m0 = m + r * ldm, m1 = m0 + 4 * ldm, m2 = m1 + 4 * ldm, m3 = m2 + 4 * ldm;
            int p = 0;
            for (; p + 4 <= k; p += 4)
            {
                s0 = Block(x + p, m0 + p, m0 + ldm + p, m0 + 2 * ldm + p, m0 + 3 * ldm + p, s0);
                s1 = Block(x + p, m1 + p, m1 + ldm + p, m1 + 2 * ldm + p, m1 + 3 * ldm + p, s1);
                s2 = Block(x + p, m2 + p, m2 + ldm + p, m2 + 2 * ldm + p, m2 + 3 * ldm + p, s2);
                s3 = Block(x + p, m3 + p, m3 + ldm + p, m3 + 2 * ldm + p, m3 + 3 * ldm + p, s3);
            }
            for (; p < k; p++)
            {
                Vector128<float> xp = Vector128.Create(x[p]);
                s0 = Vector128.MultiplyAddEstimate(xp, Column(m0 + p, m0 + ldm + p, m0 + 2 * ldm + p, m0 + 3 * ldm + p), s0);
                s1 = Vector128.MultiplyAddEstimate(xp, Column(m1 + p, m1 + ldm + p, m1 + 2 * ldm + p, m1 + 3 * ldm + p), s1);
                s2 = Vector128.MultiplyAddEstimate(xp, Column(m2 + p, m2 + ldm + p, m2 + 2 * ldm + p, m2 + 3 * ldm + p), s2);
                s3 = Vector128.MultiplyAddEstimate(xp, Column(m3 + p, m3 + ldm + p, m3 + 2 * ldm + p, m3 + 3 * ldm + p), s3);
            }
            s0.Store(y + r);
            s1.Store(y + r + 4);
            s2.Store(y + r + 8);
            s3.Store(y + r + 12);
        }
        for (; r < rows; r += 4)
        {
            int height = Math.Min(4, rows - r);
            float* a = m + r * ldm;
            float* b = height > 1 ? a + ldm : a, c = height > 2 ? a + 2 * ldm : a, d = height > 3 ? a + 3 * ldm : a;
            Vector128<float> s = Vector128<float>.Zero;
            int p = 0;
            for (; p + 4 <= k; p += 4)
                s = Block(x + p, a + p, b + p, c + p, d + p, s);
            for (; p < k; p++)
                s = Vector128.MultiplyAddEstimate(Vector128.Create(x[p]), Column(a + p, b + p, c + p, d + p), s);
            for (int t = 0; t < height; t++)
                y[r + t] = s.GetElement(t);
        }
        return rows;
    }

    /// <summary>s continued by the 4 k steps of the rows at a, b, c, d, in k order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Block(float* x, float* a, float* b, float* c, float* d, Vector128<float> s)
    {
        Vector128<float> r0 = Vector128.Load(a), r1 = Vector128.Load(b), r2 = Vector128.Load(c), r3 = Vector128.Load(d);
        Vector128<float> t0 = ZipLow(r0, r1), t1 = ZipLow(r2, r3);    // a0 b0 a1 b1, c0 d0 c1 d1
        Vector128<float> t2 = ZipHigh(r0, r1), t3 = ZipHigh(r2, r3);  // a2 b2 a3 b3, c2 d2 c3 d3
        s = Vector128.MultiplyAddEstimate(Vector128.Create(x[0]), ZipLow64(t0, t1), s);
        s = Vector128.MultiplyAddEstimate(Vector128.Create(x[1]), ZipHigh64(t0, t1), s);
        s = Vector128.MultiplyAddEstimate(Vector128.Create(x[2]), ZipLow64(t2, t3), s);
        s = Vector128.MultiplyAddEstimate(Vector128.Create(x[3]), ZipHigh64(t2, t3), s);
        return s;
    }

    /// <summary>a0 b0 a1 b1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> ZipLow(Vector128<float> a, Vector128<float> b)
        => Sse.IsSupported ? Sse.UnpackLow(a, b) : AdvSimd.Arm64.ZipLow(a, b);

    /// <summary>a2 b2 a3 b3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> ZipHigh(Vector128<float> a, Vector128<float> b)
        => Sse.IsSupported ? Sse.UnpackHigh(a, b) : AdvSimd.Arm64.ZipHigh(a, b);

    /// <summary>The low halves of a and b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> ZipLow64(Vector128<float> a, Vector128<float> b)
        => Sse.IsSupported ? Sse.MoveLowToHigh(a, b) : AdvSimd.Arm64.ZipLow(a.AsDouble(), b.AsDouble()).AsSingle();

    /// <summary>The high halves of a and b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> ZipHigh64(Vector128<float> a, Vector128<float> b)
        => Sse.IsSupported ? Sse.MoveHighToLow(b, a) : AdvSimd.Arm64.ZipHigh(a.AsDouble(), b.AsDouble()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Column(float* a, float* b, float* c, float* d) => Vector128.Create(*a, *b, *c, *d);
}
