using System.Runtime.CompilerServices;
using FastBackprop.Hardware;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// The blocking policy: every decision a tiled product's shape and the <see cref="KernelConfiguration"/> fix before a
/// loop runs — the tile height and orientation (<see cref="ChooseTile{T}"/>), the cache blocks, whether an operand is
/// read in place (<see cref="ReadsInPlace{T}"/>), how many threads and how they divide the work
/// (<see cref="BlockingPlan.For{T}"/>). <see cref="BlockedGemm{T}"/> only carries them out.
/// The cache blocks mirror BLIS applied to Cᵀ (our wide micro-panel is B's): an MR×KC sliver of packed A stays in L1
/// while the jr loop streams the KC×NC packed B block from L2; the MC×KC packed A block lives in L3.
/// </summary>
internal static class GemmBlocking
{
    /// <summary>Up to this many rows (or columns) of C, packing does not pay (a 12-row tile would be mostly padding):
    /// each row is a matrix-vector product over unpacked B (<see cref="SmallShapeGemm{T}"/>). Single-sample inference
    /// lands here.</summary>
    public const int SmallRowsThreshold = 2;

    /// <summary>For experiments and tests: 0 always packs, 1 (the default) reads small products in place,
    /// 2 reads in place whatever the size.</summary>
    internal static int InPlaceMode = 1;

    public static int KC<T>(KernelConfiguration configuration) where T : unmanaged => configuration.KcBytes / Unsafe.SizeOf<T>();

    /// <summary>The K block for a product of depth k: as many blocks as KC requires, of equal size
    /// (rounded up to 16), so k = 784 runs as 2×392 rather than 384 + 384 + 16 — a thin last block
    /// would pay a full pass of packing and of reading and writing C for little work.</summary>
    public static int BalancedKC<T>(KernelConfiguration configuration, int k) where T : unmanaged
    {
        int kc = KC<T>(configuration);
        int blocks = (k + kc - 1) / kc;
        return Math.Min(k, (k + blocks - 1) / blocks + 15 & ~15);
    }

    /// <summary>Register-tile width of the configured path: two registers.</summary>
    public static int TileColumns<T>(KernelConfiguration configuration) where T : unmanaged
        => 2 * configuration.VectorBits / 8 / Unsafe.SizeOf<T>();

    /// <summary>
    /// The tile height and orientation for an m×n product: whichever wastes least of the MR×NR tiles on padding,
    /// with a handicap on the alternatives to the 12-row kernel on C. Computing Cᵀ = op(B)ᵀ·op(A)ᵀ merges
    /// every tile through the aside buffer, so it must save a quarter of the padded work (128×10: 64% saved;
    /// 128×512 would save 2% and lose 40% to merging). The 8-row AVX-512 kernel (m = 32, 64) reuses each B
    /// load for 8 rows instead of 12, so it must save 5% (m = 128 stays on 12 rows: 3% padding).
    /// </summary>
    public static (int MR, bool Transposed) ChooseTile<T>(KernelConfiguration configuration, int m, int n) where T : unmanaged
    {
        int nr = TileColumns<T>(configuration);
        if (configuration.TileRows.Length == 1)
        {
            int rows = configuration.TileRows[0];
            return (rows, Cost(n, m, rows, nr) * 4 < Cost(m, n, rows, nr) * 3);
        }
        // Padded areas weighted in sixtieths (integer arithmetic: this runs on every call): 60 for the 12-row kernel
        // on C, ×4/3 = 80 transposed, ×1.05 = 63 for 8 rows, 84 for 8 rows transposed.
        (int, bool) best = (12, false);
        long bestCost = 60 * Cost(m, n, 12, nr);
        long cost = 80 * Cost(n, m, 12, nr);
        if (cost < bestCost)
            (best, bestCost) = ((12, true), cost);
        cost = 63 * Cost(m, n, 8, nr);
        if (cost < bestCost)
            (best, bestCost) = ((8, false), cost);
        cost = 84 * Cost(n, m, 8, nr);
        if (cost < bestCost)
            best = (8, true);
        return best;
    }

    private static long Cost(int rows, int columns, int mr, int nr) => (long)RoundUp(rows, mr) * RoundUp(columns, nr);

    /// <summary>
    /// Whether a product reads an operand in place rather than packing it (BLIS's "sup" idea): the kernel
    /// streams op(B) = B row by row and op(A) either way (<see cref="IMicroKernel{T}.Run"/>), so packing only
    /// pays for its copy when the operand is reused from a block too big for the caches. Hence: up to
    /// <see cref="KernelConfiguration.InPlaceMaxVolume"/> (512³ with Zen 5's 1 MiB L2), and never with a row stride that
    /// is a multiple of 4 KiB, which puts a sliver's rows in the same L1 sets (the measurements: bench/RESULTS.md,
    /// "Small and skinny products without packing").
    /// </summary>
    public static bool ReadsInPlace<T>(KernelConfiguration configuration, int m, int n, int k, nint ld) where T : unmanaged
        => InPlaceMode switch
        {
            0 => false,
            1 => (long)m * n * k <= configuration.InPlaceMaxVolume && ld * Unsafe.SizeOf<T>() % 4096 != 0,
            _ => true,
        };

    public static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}

/// <summary>How the threads of a tiled product share each (ic, pc, jc) block. Threads split C's rows or columns, never
/// K, so every tile sees the same arithmetic whatever the thread count: results are bit-identical.</summary>
internal enum WorkDivision
{
    /// <summary>Each part packs its own B panels into its own region and runs them over all rows; no part reads
    /// another's panels, so no barrier is needed. One part is the single-threaded product.</summary>
    Columns,

    /// <summary>B is placed once for the block, then each part runs its share of the A slivers over all of it.</summary>
    Rows,
}

/// <summary>The blocks of one tiled product on MR×NR tiles (the product as the kernels see it: m, n are the caller's
/// n, m when it runs transposed), fixed before its loops run. MC, NC are the block steps; <see cref="McMax"/>,
/// <see cref="NcMax"/> the largest blocks this product has, rounded up to whole tiles.</summary>
internal readonly record struct BlockingPlan(int MR, int NR, int KcMax, int MC, int NC, int McMax, int NcMax, int Threads,
    int PanelsPerThread, bool ReadAInPlace, bool ReadBInPlace, WorkDivision Division)
{
    /// <summary>The regions of the calling thread's pack buffer: the packed A block, the packed B regions (one per
    /// column-split part) and one edge tile per part, each rounded to a cache line.</summary>
    public nint AElements<T>() where T : unmanaged => PackBuffers<T>.RoundToCacheLine((nint)McMax * KcMax);

    public nint BElements<T>() where T : unmanaged
        => PackBuffers<T>.RoundToCacheLine((nint)Math.Max(NcMax, Threads * PanelsPerThread * NR) * KcMax);

    public nint TileElements<T>() where T : unmanaged => PackBuffers<T>.RoundToCacheLine(MR * NR);

    /// <summary>The most elements of running sums an update keeps aside between K blocks (8 MiB of floats).</summary>
    public const int RunningAsideBudget = 1 << 21;

    public static BlockingPlan For<T>(KernelConfiguration configuration, int mr, int nr, bool transB, int m, int n, int k,
        nint lda, nint ldb, bool updatesC) where T : unmanaged
    {
        int kcMax = GemmBlocking.BalancedKC<T>(configuration, k);
        int mc = configuration.MC;
        // An update (β ≠ 0) over several K blocks keeps its running sums in an aside block of MC rows × n (BlockedGemm),
        // so that the last K block can still read the old C: fewer rows per block where n is wide, so it stays bounded.
        if (updatesC && k > kcMax)
            mc = Math.Clamp(RunningAsideBudget / Math.Max(n, 1) / mr * mr, mr, mc);
        int mcMax = GemmBlocking.RoundUp(Math.Min(m, mc), mr);
        int ncMax = GemmBlocking.RoundUp(Math.Min(n, configuration.NC), nr);
        int threads = GemmThreading.ThreadsFor(m, n, k, Math.Max(mcMax / mr, ncMax / nr));
        // Column-split threads each own a fixed region of packed B for the whole K block (a thread
        // must never overwrite panels another thread may still be reading): up to one extra panel each.
        int panelsPerThread = (ncMax / nr + threads - 1) / threads;
        // Small products skip packing where the kernel can stream the operand in place (see ReadsInPlace).
        bool readAInPlace = GemmBlocking.ReadsInPlace<T>(configuration, m, n, k, lda);
        bool readBInPlace = !transB && GemmBlocking.ReadsInPlace<T>(configuration, m, n, k, ldb);
        // Many column panels: split the columns, each thread packing its own B panels. Except an update
        // (β ≠ 0) whose B is read in place: split its rows instead, so each core writes the rows of C it read
        // before. In a training step C is a weight matrix (W += −η·ΔᵀA), and the forward pass's column split
        // left each core holding its half of W's rows; a column split here has both cores writing lines the
        // other one holds (the measurements: bench/RESULTS.md, "Summary by CPU", the two-thread step).
        // Few column panels: place B once per N block and split the rows.
        int totalPanels = (n + nr - 1) / nr;
        WorkDivision division = threads == 1 || (totalPanels >= 2 * threads && (!updatesC || !readBInPlace))
            ? WorkDivision.Columns
            : WorkDivision.Rows;
        return new BlockingPlan(mr, nr, kcMax, mc, configuration.NC, mcMax, ncMax, threads, panelsPerThread,
            readAInPlace, readBInPlace, division);
    }
}
