using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FastBackprop.Hardware;
using FastBackprop.Kernels.Gemm;
using FastBackprop.Kernels.Threading;

namespace FastBackprop.Kernels.Int8;

/// <summary>Finishes one row of a quantized product while it is in L1: dequantisation, bias, activation and, where the
/// next layer is int8, that layer's row quantization (<see cref="Int8Scheme"/>).</summary>
internal unsafe interface IInt8RowEpilogue
{
    /// <summary>Row <paramref name="row"/>'s int32 accumulators, one per output column (padded to whole panels);
    /// <paramref name="part"/> names the thread's share of the workspace's scratch.</summary>
    void Finish(int row, int* accumulators, int part);
}

/// <summary>
/// acc = U·Qᵀ in exact int32 arithmetic, U the m×K activation codes (rows of <c>ldx</c> bytes, K padded to a multiple of
/// four) and Q a layer's packed weight codes (<see cref="PackedInt8Weights"/>), finished row by row by an
/// <see cref="IInt8RowEpilogue"/>. Rows go in chunks of at most the instruction's <see cref="IInt8Dot{TAcc, TReg}.MaxRows"/>
/// (a small batch of 1–4 rows is one chunk: the matrix-vector case, where reading the weights once decides the time),
/// and chunks in blocks that share each panel while it is in L1; a block's rows meet every panel before their epilogue
/// runs. The instruction is chosen
/// once per product from the packed operand's <see cref="Int8Path"/>; every path gives the same integers, so results do
/// not depend on it, on the thread count (threads split the chunks) or on the batch around a row.
/// </summary>
internal static unsafe class Int8Gemm
{
    /// <summary>Registers of output columns per panel: four independent accumulator chains even for one row.</summary>
    public const int RegistersPerPanel = 4;

    /// <summary>The most rows any path's tile has.</summary>
    public const int MaxTileRows = 4;

    /// <summary>Register tiles of rows that meet a panel of weights while it is in L1.</summary>
    public const int ChunksPerBlock = 16;

    /// <summary>The most rows whose accumulators a thread keeps at once (its scratch).</summary>
    public const int MaxBlockRows = MaxTileRows * ChunksPerBlock;

    /// <summary>int32 accumulators per register of the path.</summary>
    public static int Columns(Int8Path path) => path switch
    {
        Int8Path.Avx512BW => Avx512Dot.Columns,
        Int8Path.Avx2 => Avx2Dot.Columns,
        Int8Path.AvxVnni => VnniDot.Columns,
        Int8Path.ArmDot => ArmDot.Columns,
        _ => PortableDot.Columns,
    };

    /// <summary>Output columns per packed panel (NR).</summary>
    public static int PanelWidth(Int8Path path) => RegistersPerPanel * Columns(path);

    /// <summary>Runs the product for rows [0, m) and the epilogue on each, splitting the row chunks between threads when
    /// each thread gets enough work (<paramref name="maxParts"/>: the scratch parts available).</summary>
    public static void Run<TEpilogue>(PackedInt8Weights weights, byte* x, nint ldx, int m, in TEpilogue epilogue, int* accumulators,
        nint accumulatorsPerPart, int maxParts) where TEpilogue : struct, IInt8RowEpilogue
    {
        switch (weights.Path)
        {
            case Int8Path.AvxVnni:
                Split<VnniDot, Vector256<int>, Vector256<byte>, TEpilogue>(weights, x, ldx, m, epilogue, accumulators, accumulatorsPerPart, maxParts);
                break;
            case Int8Path.Avx512BW:
                Split<Avx512Dot, Vector512<int>, Vector512<byte>, TEpilogue>(weights, x, ldx, m, epilogue, accumulators, accumulatorsPerPart, maxParts);
                break;
            case Int8Path.Avx2:
                Split<Avx2Dot, Vector256<int>, Vector256<byte>, TEpilogue>(weights, x, ldx, m, epilogue, accumulators, accumulatorsPerPart, maxParts);
                break;
            case Int8Path.ArmDot:
                Split<ArmDot, Vector128<int>, Vector128<byte>, TEpilogue>(weights, x, ldx, m, epilogue, accumulators, accumulatorsPerPart, maxParts);
                break;
            default:
                Split<PortableDot, PairSums, Vector128<byte>, TEpilogue>(weights, x, ldx, m, epilogue, accumulators, accumulatorsPerPart, maxParts);
                break;
        }
    }

    /// <summary>Threads for an m-row product: each must get at least the configuration's minimum work, an int8
    /// multiply-add counted as two operations as an FMA counts two flops. Each part also runs its rows' epilogue (scales,
    /// activation, the next layer's row quantization), so this splits earlier than the fp32 rule in time: counting one
    /// operation per multiply-add left a batch of 16 of 784-512-256-10 on one thread (60.5 µs on two threads against
    /// 58.2 on one, Zen 5); counting two splits its first layer and takes 45.5 µs.</summary>
    private static int Parts(int chunks, long multiplyAdds, int maxParts)
    {
        long byWork = (long)(2 * multiplyAdds / KernelConfiguration.Active.MinimumFlopsPerThread);
        return (int)Math.Max(1, Math.Min(Math.Min(GemmThreading.MaxDegreeOfParallelism, maxParts), Math.Min(chunks, byWork)));
    }

    private static void Split<TDot, TAcc, TReg, TEpilogue>(PackedInt8Weights weights, byte* x, nint ldx, int m, in TEpilogue epilogue,
        int* accumulators, nint accumulatorsPerPart, int maxParts)
        where TDot : IInt8Dot<TAcc, TReg> where TAcc : unmanaged where TReg : unmanaged where TEpilogue : struct, IInt8RowEpilogue
    {
        int chunks = (m + TDot.MaxRows - 1) / TDot.MaxRows;
        int parts = Parts(chunks, (long)m * weights.Units * weights.Inputs, maxParts);
        var work = new Work<TDot, TAcc, TReg, TEpilogue>(weights, x, ldx, m, epilogue, accumulators, accumulatorsPerPart, chunks, parts);
        WorkerTeam.Run(ref work, parts);
    }

    private readonly struct Work<TDot, TAcc, TReg, TEpilogue>(PackedInt8Weights weights, byte* x, nint ldx, int m, TEpilogue epilogue,
        int* accumulators, nint accumulatorsPerPart, int chunks, int parts) : IPartitionedWork
        where TDot : IInt8Dot<TAcc, TReg> where TAcc : unmanaged where TReg : unmanaged where TEpilogue : struct, IInt8RowEpilogue
    {
        public void Execute(int part)
        {
            int first = part * chunks / parts * TDot.MaxRows, end = Math.Min(m, (part + 1) * chunks / parts * TDot.MaxRows);
            Rows<TDot, TAcc, TReg, TEpilogue>(weights, x, ldx, first, end, epilogue, accumulators + part * accumulatorsPerPart, part);
        }
    }

    /// <summary>Rows [first, end) in blocks of up to <see cref="ChunksPerBlock"/> register tiles: each panel of weights
    /// (NR columns × K, 25 KiB for 784 inputs at NR = 32) meets every chunk of the block while it is in L1, then the
    /// epilogue finishes the block's rows. A small batch (1–4 rows) is one chunk: the weights stream once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TDot, TAcc, TReg, TEpilogue>(PackedInt8Weights weights, byte* x, nint ldx, int first, int end,
        in TEpilogue epilogue, int* accumulators, int part)
        where TDot : IInt8Dot<TAcc, TReg> where TAcc : unmanaged where TReg : unmanaged where TEpilogue : struct, IInt8RowEpilogue
    {
        nint ldc = (nint)weights.Panels * weights.PanelWidth;
        int blockRows = TDot.MaxRows * ChunksPerBlock;
        for (int block = first; block < end; block += blockRows)
        {
            int blockEnd = Math.Min(end, block + blockRows);
            for (int p = 0; p < weights.Panels; p++)
            {
                sbyte* panel = weights.Panel(p);
                for (int i = block; i < blockEnd; i += TDot.MaxRows)
                {
                    byte* chunk = x + i * ldx;
                    int* c = accumulators + (i - block) * ldc + p * weights.PanelWidth;
                    switch (Math.Min(TDot.MaxRows, blockEnd - i))
                    {
                        case 1: Tile<TDot, TAcc, TReg, One>(chunk, ldx, panel, weights.Groups, c, ldc); break;
                        case 2: Tile<TDot, TAcc, TReg, Two>(chunk, ldx, panel, weights.Groups, c, ldc); break;
                        case 3: Tile<TDot, TAcc, TReg, Three>(chunk, ldx, panel, weights.Groups, c, ldc); break;
                        default: Tile<TDot, TAcc, TReg, Four>(chunk, ldx, panel, weights.Groups, c, ldc); break;
                    }
                }
            }
            for (int r = block; r < blockEnd; r++)
                epilogue.Finish(r, accumulators + (r - block) * ldc, part);
        }
    }

    /// <summary>
    /// The register tile: <typeparamref name="TRows"/> rows × one panel (four registers of columns), over every group of
    /// four inputs. Per group: one broadcast of four codes per row, four weight loads shared by the rows, 4·rows
    /// multiply-accumulates into independent registers. Unused rows are removed by the JIT (the row count is a constant of
    /// the instantiation).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TDot, TAcc, TReg, TRows>(byte* x, nint ldx, sbyte* w, int groups, int* c, nint ldc)
        where TDot : IInt8Dot<TAcc, TReg> where TAcc : unmanaged where TReg : unmanaged where TRows : IRowCount
    {
        int rows = TRows.Count;
        nint step = 4 * TDot.Columns;
        TAcc a00 = TDot.Zero, a01 = TDot.Zero, a02 = TDot.Zero, a03 = TDot.Zero;
        TAcc a10 = TDot.Zero, a11 = TDot.Zero, a12 = TDot.Zero, a13 = TDot.Zero;
        TAcc a20 = TDot.Zero, a21 = TDot.Zero, a22 = TDot.Zero, a23 = TDot.Zero;
        TAcc a30 = TDot.Zero, a31 = TDot.Zero, a32 = TDot.Zero, a33 = TDot.Zero;
        byte* x0 = x, x1 = x + ldx, x2 = x + 2 * ldx, x3 = x + 3 * ldx;
        int g = 0;
        if (rows == 1)
        {
            // One row (a single request) has only four accumulator chains, too few to hide the multiply's latency:
            // odd groups of inputs go to the second row's idle accumulators, added in at the end (integers: exact).
            for (; g + 2 <= groups; g += 2)
            {
                TReg even = TDot.Broadcast(x0), odd = TDot.Broadcast(x0 + 4);
                a00 = TDot.Accumulate(a00, even, TDot.LoadWeights(w));
                a01 = TDot.Accumulate(a01, even, TDot.LoadWeights(w + step));
                a02 = TDot.Accumulate(a02, even, TDot.LoadWeights(w + 2 * step));
                a03 = TDot.Accumulate(a03, even, TDot.LoadWeights(w + 3 * step));
                a10 = TDot.Accumulate(a10, odd, TDot.LoadWeights(w + 4 * step));
                a11 = TDot.Accumulate(a11, odd, TDot.LoadWeights(w + 5 * step));
                a12 = TDot.Accumulate(a12, odd, TDot.LoadWeights(w + 6 * step));
                a13 = TDot.Accumulate(a13, odd, TDot.LoadWeights(w + 7 * step));
                w += 8 * step;
                x0 += 8;
            }
            a00 = TDot.Add(a00, a10);
            a01 = TDot.Add(a01, a11);
            a02 = TDot.Add(a02, a12);
            a03 = TDot.Add(a03, a13);
        }
        for (; g < groups; g++)
        {
            TReg b0 = TDot.Broadcast(x0), b1 = default, b2 = default, b3 = default;
            if (rows > 1) b1 = TDot.Broadcast(x1);
            if (rows > 2) b2 = TDot.Broadcast(x2);
            if (rows > 3) b3 = TDot.Broadcast(x3);

            TReg v = TDot.LoadWeights(w);
            a00 = TDot.Accumulate(a00, b0, v);
            if (rows > 1) a10 = TDot.Accumulate(a10, b1, v);
            if (rows > 2) a20 = TDot.Accumulate(a20, b2, v);
            if (rows > 3) a30 = TDot.Accumulate(a30, b3, v);

            v = TDot.LoadWeights(w + step);
            a01 = TDot.Accumulate(a01, b0, v);
            if (rows > 1) a11 = TDot.Accumulate(a11, b1, v);
            if (rows > 2) a21 = TDot.Accumulate(a21, b2, v);
            if (rows > 3) a31 = TDot.Accumulate(a31, b3, v);

            v = TDot.LoadWeights(w + 2 * step);
            a02 = TDot.Accumulate(a02, b0, v);
            if (rows > 1) a12 = TDot.Accumulate(a12, b1, v);
            if (rows > 2) a22 = TDot.Accumulate(a22, b2, v);
            if (rows > 3) a32 = TDot.Accumulate(a32, b3, v);

            v = TDot.LoadWeights(w + 3 * step);
            a03 = TDot.Accumulate(a03, b0, v);
            if (rows > 1) a13 = TDot.Accumulate(a13, b1, v);
            if (rows > 2) a23 = TDot.Accumulate(a23, b2, v);
            if (rows > 3) a33 = TDot.Accumulate(a33, b3, v);

            w += 4 * step;
            x0 += 4; x1 += 4; x2 += 4; x3 += 4;
        }
        int columns = TDot.Columns;
        StoreRow<TDot, TAcc, TReg>(c, columns, a00, a01, a02, a03);
        if (rows > 1) StoreRow<TDot, TAcc, TReg>(c + ldc, columns, a10, a11, a12, a13);
        if (rows > 2) StoreRow<TDot, TAcc, TReg>(c + 2 * ldc, columns, a20, a21, a22, a23);
        if (rows > 3) StoreRow<TDot, TAcc, TReg>(c + 3 * ldc, columns, a30, a31, a32, a33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TDot, TAcc, TReg>(int* c, int columns, TAcc s0, TAcc s1, TAcc s2, TAcc s3)
        where TDot : IInt8Dot<TAcc, TReg> where TAcc : unmanaged where TReg : unmanaged
    {
        TDot.Store(s0, c);
        TDot.Store(s1, c + columns);
        TDot.Store(s2, c + 2 * columns);
        TDot.Store(s3, c + 3 * columns);
    }
}

/// <summary>A tile's row count as a constant of the generic instantiation.</summary>
internal interface IRowCount
{
    static abstract int Count { get; }
}

internal readonly struct One : IRowCount { public static int Count => 1; }
internal readonly struct Two : IRowCount { public static int Count => 2; }
internal readonly struct Three : IRowCount { public static int Count => 3; }
internal readonly struct Four : IRowCount { public static int Count => 4; }
