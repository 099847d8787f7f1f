using System.Numerics;
using FastBackprop.Kernels.Elementwise;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FastBackprop.Kernels.Simd;
using FastBackprop.Kernels.Threading;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// Cache-block sizes, from the <see cref="KernelConfiguration"/> (which derives them from the caches). The loop nest
/// mirrors BLIS applied to Cᵀ (our wide micro-panel is B's): an MR×KC sliver of packed A stays in L1 while the jr loop
/// streams the KC×NC packed B block from L2; the MC×KC packed A block lives in L3.
/// </summary>
internal static class GemmBlocking
{
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
}

/// <summary>
/// The GotoBLAS/BLIS five-loop GEMM over a register-blocked micro-kernel of the instruction set the
/// <see cref="KernelConfiguration"/> chose (read once per product, with its cache blocks).
/// Shapes where tiles do not pay go elsewhere first: one or two rows or columns of C are matrix-vector
/// products (<see cref="MatrixVector{T}"/>), C = A·Bᵀ with at most 16 columns is dot products of rows
/// (<see cref="RowDots{T}"/>). The rest runs on 12- or 8-row tiles (<see cref="Plan"/>), packing its operands
/// or, up to 512³, reading them in place (<see cref="ReadsInPlace"/>).
/// Pointers are assumed valid for the shapes: the public API has already checked them.
/// </summary>
internal static unsafe class GemmDriver<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Names the micro-kernels this process uses (for benchmarks and diagnostics).</summary>
    public static string KernelName
    {
        get
        {
            KernelConfiguration configuration = KernelConfiguration.Active;
            int nr = TileColumns(configuration);
            string rows = string.Join(" and ", configuration.TileRows.Select(mr => $"{mr}x{nr}"));
            return $"{typeof(T).Name} {rows} {CpuInfo.Describe(configuration.InstructionSet)}";
        }
    }

    /// <summary>C[m×n] = α·op(A)·op(B) + β·C, then <paramref name="epilogue"/> on every finished tile. <paramref name="packedB"/>,
    /// when given, is op(B) packed in advance (constant weights, <see cref="PackedOperand{T}"/>): used where it matches what
    /// this product would pack, ignored otherwise.</summary>
    public static void Run<TEpilogue>(bool transA, bool transB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, in TEpilogue epilogue, PackedOperand<T>? packedB = null)
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        if (m == 0 || n == 0)
            return;
        if (k == 0 || alpha == T.Zero)
        {
            // Nothing to multiply: BLAS leaves C = β·C without touching A or B (NaN there stays out).
            ScaleRows(c, ldc, m, n, beta);
            GemmEpilogue<T>.ApplyToStoredTile(epilogue, c, ldc, 0, 0, m, n);
            return;
        }

        if (m <= SmallRowsThreshold)
        {
            SmallRows(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
            return;
        }
        if (n <= SmallRowsThreshold)
        {
            SmallColumns(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
            return;
        }

        if (RowDots<T>.Applies(transA, transB, n, k))
        {
            RowDots<T>.Run(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
            return;
        }

        KernelConfiguration configuration = KernelConfiguration.Active;
        (int mr, bool transposed) = Plan(configuration, m, n);
        switch (configuration.InstructionSet)
        {
            case InstructionSet.Avx512 when mr == 8:
                Oriented<MicroKernel8xTwoVectors<T, Simd512<T>, Vector512<T>>, TEpilogue>(configuration, transposed, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, packedB);
                break;
            case InstructionSet.Avx512:
                Oriented<MicroKernel12xTwoVectors<T, Simd512<T>, Vector512<T>>, TEpilogue>(configuration, transposed, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, packedB);
                break;
            case InstructionSet.Avx2:
                Oriented<MicroKernel6xTwoVectors<T, Simd256<T>, Vector256<T>>, TEpilogue>(configuration, transposed, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, packedB);
                break;
            default:
                Oriented<MicroKernel6xTwoVectors<T, Simd128<T>, Vector128<T>>, TEpilogue>(configuration, transposed, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, packedB);
                break;
        }
    }

    /// <summary>Register-tile width of the path: two registers.</summary>
    private static int TileColumns(KernelConfiguration configuration) => 2 * configuration.VectorBits / 8 / sizeof(T);

    /// <summary>
    /// The tile height and orientation for an m×n product: whichever wastes least of the MR×NR tiles on padding,
    /// with a handicap on the alternatives to the 12-row kernel on C. Computing Cᵀ = op(B)ᵀ·op(A)ᵀ merges
    /// every tile through the aside buffer, so it must save a quarter of the padded work (128×10: 64% saved;
    /// 128×512 would save 2% and lose 40% to merging). The 8-row AVX-512 kernel (m = 32, 64) reuses each B
    /// load for 8 rows instead of 12, so it must save 5% (m = 128 stays on 12 rows: 3% padding).
    /// </summary>
    private static (int MR, bool Transposed) Plan(KernelConfiguration configuration, int m, int n)
    {
        int nr = TileColumns(configuration);
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
    /// The row group an epilogue that sums columns must use for this product (see
    /// <see cref="IGemmEpilogue{T}.RowGroup"/>): the rows one tile covers — MR, or NR when the product runs
    /// transposed, or <see cref="RowDots{T}.RowGroup"/> for dot-product runs — or all rows when they are handled one
    /// at a time. At most ⌈m/6⌉ groups unless m ≤ 2.
    /// </summary>
    public static int RowGroup(bool transA, bool transB, int m, int n, int k, T alpha)
    {
        if (k == 0 || alpha == T.Zero || m <= SmallRowsThreshold)
            return Math.Max(m, 1);
        if (n > SmallRowsThreshold && RowDots<T>.Applies(transA, transB, n, k))
            return RowDots<T>.RowGroup;
        KernelConfiguration configuration = KernelConfiguration.Active;
        (int mr, bool transposed) = Plan(configuration, m, n);
        return transposed ? TileColumns(configuration) : mr;
    }

    /// <summary>
    /// Whether a product reads an operand in place rather than packing it (BLIS's "sup" idea): the kernel
    /// streams op(B) = B row by row and op(A) either way (<see cref="IMicroKernel{T}.Run"/>), so packing only
    /// pays for its copy when the operand is reused from a block too big for the caches. Measured on Zen 5
    /// (against packing both; one thread): 64³ 0.66 → 0.83 of OpenBLAS, 128³ 1.06 → 1.17, 10×256×128 TN
    /// 0.69 → 1.21, 512³ 1.01 → 1.04; 1024³ and 2048³ lost 2–8%, their 4 KiB row strides putting a sliver's rows
    /// in the same L1 sets. Two threads gain more (neither packs its own copy of B): 512³ 0.89 → 1.07–1.19.
    /// Hence: up to <see cref="KernelConfiguration.InPlaceMaxVolume"/> (512³ with Zen 5's 1 MiB L2), and never with a
    /// 4 KiB-multiple stride.
    /// </summary>
    private static bool ReadsInPlace(KernelConfiguration configuration, int m, int n, int k, nint ld)
        => InPlaceMode switch
        {
            0 => false,
            1 => (long)m * n * k <= configuration.InPlaceMaxVolume && ld * sizeof(T) % 4096 != 0,
            _ => true,
        };

    /// <summary>For experiments and tests: 0 always packs, 1 (the default) reads small products in place,
    /// 2 reads in place whatever the size.</summary>
    internal static int InPlaceMode = 1;

    /// <summary>Up to this many rows of C, packing does not pay (a 12-row tile would be mostly padding):
    /// each row is a matrix-vector product over unpacked B. Single-sample inference lands here.</summary>
    private const int SmallRowsThreshold = 2;

    /// <summary>
    /// Runs on C or on Cᵀ = op(B)ᵀ·op(A)ᵀ (see <see cref="Plan"/>): a skinny C (e.g. 128×10, an output layer)
    /// wastes two thirds of a 32-wide tile, while its transpose fills it.
    /// </summary>
    private static void Oriented<TKernel, TEpilogue>(KernelConfiguration configuration, bool transposed, bool transA, bool transB,
        int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, in TEpilogue epilogue, PackedOperand<T>? packedB)
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        if (transposed)
            Blocked<TKernel, TEpilogue>(configuration, !transB, !transA, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc, transposedC: true, epilogue, null);
        else
            Blocked<TKernel, TEpilogue>(configuration, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, transposedC: false, epilogue,
                transB && packedB is not null && packedB.Matches(configuration, n, k, TKernel.NR, GemmBlocking.BalancedKC<T>(configuration, k)) ? packedB : null);
    }

    /// <summary>The five loops. With <paramref name="transposedC"/> the product computed is the transpose
    /// of the caller's C (m, n here are the caller's n, m): every tile goes through the aside buffer
    /// and is merged transposed, and the epilogue sees the tile in the caller's coordinates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocked<TKernel, TEpilogue>(KernelConfiguration configuration, bool transA, bool transB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, bool transposedC, in TEpilogue epilogue, PackedOperand<T>? prepackedB)
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int mcBlock = configuration.MC, ncBlock = configuration.NC;
        int kcMax = GemmBlocking.BalancedKC<T>(configuration, k);
        int mcMax = RoundUp(Math.Min(m, mcBlock), mr);
        int ncMax = RoundUp(Math.Min(n, ncBlock), nr);
        int threads = GemmThreading.ThreadsFor(m, n, k, Math.Max(mcMax / mr, ncMax / nr));

        nint aElements = PackBuffers<T>.RoundToCacheLine((nint)mcMax * kcMax);
        // Column-split threads each own a fixed region of packed B for the whole K block (a thread
        // must never overwrite panels another thread may still be reading): up to one extra panel each.
        int panelsPerThread = (ncMax / nr + threads - 1) / threads;
        nint bElements = PackBuffers<T>.RoundToCacheLine((nint)Math.Max(ncMax, threads * panelsPerThread * nr) * kcMax);
        nint tileElements = PackBuffers<T>.RoundToCacheLine(mr * nr);
        T* packedA = PackBuffers<T>.Get(aElements + bElements + threads * tileElements);
        T* packedB = packedA + aElements;
        T* edgeTiles = packedB + bElements;

        var block = new Block(transposedC, c, ldc, alpha, packedA, packedB, edgeTiles, tileElements, lda, ldb);
        // Small products skip packing where the kernel can stream the operand in place (see ReadsInPlace).
        bool readAInPlace = ReadsInPlace(configuration, m, n, k, lda);
        bool readBInPlace = !transB && ReadsInPlace(configuration, m, n, k, ldb);
        int totalPanels = (n + nr - 1) / nr;
        for (int ic = 0; ic < m; ic += mcBlock)
        {
            int mc = Math.Min(mcBlock, m - ic);
            int slivers = (mc + mr - 1) / mr;
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                T* aBlock = transA ? a + pc * lda + ic : a + ic * lda + pc;
                // Only the first K block applies the caller's β; later blocks add onto it.
                T blockBeta = pc == 0 ? beta : T.One;
                bool lastK = pc + kc == k;

                if (threads <= 1)
                {
                    PlaceA(ref block, readAInPlace, transA, aBlock, lda, mc, kc, mr, packedA);
                    for (int jc = 0; jc < n; jc += ncBlock)
                    {
                        int nc = Math.Min(ncBlock, n - jc);
                        T* bBlock = transB ? b + jc * ldb + pc : b + pc * ldb + jc;
                        if (prepackedB is not null)
                            block.PackedB = prepackedB.Block(pc, kc, jc);
                        else
                            PlaceB(ref block, readBInPlace, transB, bBlock, ldb, kc, 0, nc, nr, packedB);
                        block.Set(ic, jc, mc, nc, kc, blockBeta, lastK);
                        Slivers<TKernel, TEpilogue>(block, 0, slivers, 0, (nc + nr - 1) / nr, 0, epilogue);
                    }
                    continue;
                }

                // Threads split C's rows or columns, never K, so every tile sees the same arithmetic
                // whatever the thread count: results are bit-identical. Packing is split too.
                block.Set(ic, 0, mc, 0, kc, blockBeta, lastK);
                if (readAInPlace)
                {
                    PlaceA(ref block, true, transA, aBlock, lda, mc, kc, mr, packedA);
                }
                else
                {
                    var packA = new PackAWork(transA, aBlock, lda, mc, kc, mr, slivers, Math.Min(threads, slivers), packedA);
                    WorkerTeam.Run(ref packA, packA.Parts);
                }

                // Many column panels: split the columns, each thread packing its own B panels. Except an update
                // (β ≠ 0) whose B is read in place: split its rows instead, so each core writes the rows of C it read
                // before. In a training step C is a weight matrix (W += −η·ΔᵀA), and the forward pass's column split
                // left each core holding its half of W's rows; a column split here has both cores writing lines the
                // other one holds (the measurements: bench/RESULTS.md, "Summary by CPU", the two-thread step).
                if (totalPanels >= 2 * threads && (beta == T.Zero || !readBInPlace))
                {
                    var columns = new ColumnSplitWork<TKernel, TEpilogue>(block, epilogue, transB, readBInPlace, b, ldb, pc, n, ncBlock, threads, panelsPerThread, slivers, prepackedB);
                    WorkerTeam.Run(ref columns, threads);
                }
                else
                {
                    // Few column panels: pack B once per N block, split the rows.
                    for (int jc = 0; jc < n; jc += ncBlock)
                    {
                        int nc = Math.Min(ncBlock, n - jc);
                        T* bBlock = transB ? b + jc * ldb + pc : b + pc * ldb + jc;
                        if (prepackedB is not null)
                            block.PackedB = prepackedB.Block(pc, kc, jc);
                        else
                            PlaceB(ref block, readBInPlace, transB, bBlock, ldb, kc, 0, nc, nr, packedB);
                        block.Set(ic, jc, mc, nc, kc, blockBeta, lastK);
                        var rows = new RowSplitWork<TKernel, TEpilogue>(block, epilogue, slivers, Math.Min(threads, slivers), (nc + nr - 1) / nr);
                        WorkerTeam.Run(ref rows, rows.Parts);
                    }
                }
            }
        }
    }

    /// <summary>Makes an mc×kc block of op(A) available to the kernels: read where it lies (only a ragged last sliver
    /// is packed, zero-padded) or packed whole.</summary>
    private static void PlaceA(ref Block block, bool inPlace, bool transA, T* aBlock, nint lda, int mc, int kc, int mr, T* packedA)
    {
        if (!inPlace)
        {
            Packing<T>.PackA(transA, aBlock, lda, mc, kc, mr, packedA);
            return;
        }
        block.AInPlace = aBlock;
        block.ATransposed = transA;
        int ragged = mc - mc % mr;
        if (ragged < mc)
            Packing<T>.PackA(transA, aBlock + (transA ? ragged : ragged * lda), lda, mc - ragged, kc, mr, packedA + (nint)ragged * kc);
    }

    /// <summary>Makes columns [first, first + columns) of a kc×nc block of op(B) (starting at op(B)(pc, jc) =
    /// <paramref name="bBlock"/>) available to the kernels at <paramref name="region"/>: read where they lie (only a
    /// ragged last panel of the block is packed, zero-padded) or packed.</summary>
    private static void PlaceB(ref Block block, bool inPlace, bool transB, T* bBlock, nint ldb, int kc, int first, int columns, int nr, T* region)
    {
        T* source = transB ? bBlock + first * ldb : bBlock + first;
        if (!inPlace)
        {
            Packing<T>.PackB(transB, source, ldb, kc, columns, nr, region);
            return;
        }
        block.BInPlace = bBlock;
        int ragged = columns - columns % nr;
        if (ragged < columns)
            Packing<T>.PackB(transB, transB ? source + ragged * ldb : source + ragged, ldb, kc, columns - ragged, nr, region + (nint)ragged * kc);
    }

    /// <summary>Packs the slivers of one A block, split evenly between the parts.</summary>
    private readonly struct PackAWork(bool transA, T* source, nint lda, int mc, int kc, int mr, int slivers, int parts, T* packedA) : IPartitionedWork
    {
        public int Parts => parts;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int part)
        {
            int first = part * slivers / parts * mr, end = Math.Min(mc, (part + 1) * slivers / parts * mr);
            T* from = source + (transA ? first : first * lda);
            Packing<T>.PackA(transA, from, lda, end - first, kc, mr, packedA + (nint)first * kc);
        }
    }

    /// <summary>Splits the columns of every N block: each part packs its own B panels into its own region
    /// and runs them over all rows; no part reads another's panels, so no barrier is needed.</summary>
    private readonly struct ColumnSplitWork<TKernel, TEpilogue>(Block shared, TEpilogue epilogue, bool transB, bool readBInPlace,
        T* b, nint ldb, int pc, int n, int ncBlock, int threads, int panelsPerThread, int slivers, PackedOperand<T>? prepackedB) : IPartitionedWork
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int part)
        {
            Block local = shared;
            int nr = TKernel.NR;
            T* region = shared.PackedB + (nint)part * panelsPerThread * nr * local.Kc;
            for (int jc = 0; jc < n; jc += ncBlock)
            {
                int nc = Math.Min(ncBlock, n - jc);
                int panels = (nc + nr - 1) / nr;
                int first = part * panels / threads, end = (part + 1) * panels / threads;
                if (first == end)
                    continue;
                int firstColumn = first * nr, columns = Math.Min(nc, end * nr) - firstColumn;
                T* bBlock = transB ? b + jc * ldb + pc : b + pc * ldb + jc;
                local.Set(local.Ic, jc, local.Mc, nc, local.Kc, local.Beta, local.LastK);
                if (prepackedB is not null)
                {
                    local.PackedB = prepackedB.Block(pc, local.Kc, jc) + (nint)firstColumn * local.Kc;
                }
                else
                {
                    PlaceB(ref local, readBInPlace, transB, bBlock, ldb, local.Kc, firstColumn, columns, nr, region);
                    local.PackedB = region;
                }
                Slivers<TKernel, TEpilogue>(local, 0, slivers, first, end, part, epilogue);
            }
        }
    }

    /// <summary>Splits the slivers of A between the parts over one shared packed B block.</summary>
    private readonly struct RowSplitWork<TKernel, TEpilogue>(Block rows, TEpilogue epilogue, int slivers, int parts, int panels) : IPartitionedWork
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        public int Parts => parts;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int part)
            => Slivers<TKernel, TEpilogue>(rows, part * slivers / parts, (part + 1) * slivers / parts, 0, panels, part, epilogue);
    }

    /// <summary>What one (ic, pc, jc) block's micro-loops need; a struct so it can be handed to workers.</summary>
    private struct Block(bool transposedC, T* c, nint ldc, T alpha, T* packedA, T* packedB, T* edgeTiles, nint tileElements,
        nint lda, nint ldb)
    {
        public readonly bool TransposedC = transposedC;
        public readonly T* C = c;
        public readonly nint Ldc = ldc;
        public readonly T Alpha = alpha;
        public readonly T* PackedA = packedA;
        /// <summary>Packed B, starting at the first panel of the range a worker runs.</summary>
        public T* PackedB = packedB;
        public readonly T* EdgeTiles = edgeTiles;
        public readonly nint TileElements = tileElements;
        public readonly nint Lda = lda, Ldb = ldb;
        /// <summary>op(A)(ic, pc) when full slivers are read in place, else null.</summary>
        public T* AInPlace;
        /// <summary>op(A) = Aᵀ: a sliver step is MR adjacent elements of a row of A, the next step lda further.
        /// Otherwise a sliver is MR rows of A, lda apart, read one element further per step.</summary>
        public bool ATransposed;
        /// <summary>op(B)(pc, jc) when full panels are read in place (op(B) = B: a panel step is NR adjacent
        /// elements of a row of B, the next step ldb further), else null.</summary>
        public T* BInPlace;
        public int Ic, Jc, Mc, Nc, Kc;
        public T Beta;
        public bool LastK;

        public void Set(int ic, int jc, int mc, int nc, int kc, T beta, bool lastK)
        {
            Ic = ic; Jc = jc; Mc = mc; Nc = nc; Kc = kc; Beta = beta; LastK = lastK;
        }
    }

    /// <summary>The ir and jr loops over micro-panels [firstSliver, endSliver) of the packed A block and
    /// [firstPanel, endPanel) of the packed B block.
    /// An MR×KC sliver of A stays in L1 while the jr loop streams packed B from L2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Slivers<TKernel, TEpilogue>(in Block block, int firstSliver, int endSliver,
        int firstPanel, int endPanel, int worker, in TEpilogue epilogue)
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        int mr = TKernel.MR, nr = TKernel.NR, kc = block.Kc;
        T* edgeTile = block.EdgeTiles + worker * block.TileElements;
        nint ldc = block.Ldc;
        var none = new NoEpilogue<T>();
        for (int sliver = firstSliver; sliver < endSliver; sliver++)
        {
            int ir = sliver * mr;
            int rows = Math.Min(mr, block.Mc - ir);
            // A sliver is read in place (op(A) = Aᵀ: MR adjacent lanes per step; op(A) = A: MR rows, a step
            // apart by one element) or from its packed copy; a ragged last sliver is always packed.
            T* aSliver = block.PackedA + (nint)ir * kc;
            nint aRowStride = 1, aStep = mr;
            if (block.AInPlace != null && rows == mr)
            {
                aSliver = block.AInPlace + (block.ATransposed ? ir : ir * block.Lda);
                (aRowStride, aStep) = block.ATransposed ? ((nint)1, block.Lda) : (block.Lda, (nint)1);
            }
            int firstColumn = firstPanel * nr, endColumn = Math.Min(block.Nc, endPanel * nr);
            for (int jr = firstColumn; jr < endColumn; jr += nr)
            {
                int columns = Math.Min(nr, block.Nc - jr);
                bool bInPlace = block.BInPlace != null && columns == nr;
                T* bSliver = bInPlace ? block.BInPlace + jr : block.PackedB + (nint)(jr - firstColumn) * kc;
                nint bStep = bInPlace ? block.Ldb : nr;
                int row = block.Ic + ir, column = block.Jc + jr;
                if (block.TransposedC)
                {
                    T* cTile = block.C + column * ldc + row;
                    TKernel.Run(kc, aSliver, aRowStride, aStep, bSliver, bStep, edgeTile, nr, T.One, T.Zero, none, 0, 0, mr);
                    MergeTile(edgeTile, nr, cTile, 1, ldc, rows, columns, block.Alpha, block.Beta);
                    if (block.LastK)
                        GemmEpilogue<T>.ApplyToStoredTile(epilogue, cTile, ldc, column, row, columns, rows);
                }
                else if (columns == nr)
                {
                    // A full-width tile (all MR rows, or the rows left in a ragged last sliver): stored straight
                    // into C, the epilogue in registers on the last K block (or below, from L1, when it is too
                    // big to inline into the kernel).
                    T* cTile = block.C + row * ldc + column;
                    if (block.LastK && TEpilogue.InRegisters)
                        TKernel.Run(kc, aSliver, aRowStride, aStep, bSliver, bStep, cTile, ldc, block.Alpha, block.Beta, epilogue, row, column, rows);
                    else
                        TKernel.Run(kc, aSliver, aRowStride, aStep, bSliver, bStep, cTile, ldc, block.Alpha, block.Beta, none, row, column, rows);
                }
                else
                {
                    // Ragged last panel: compute the full padded tile aside, merge only the valid part.
                    T* cTile = block.C + row * ldc + column;
                    TKernel.Run(kc, aSliver, aRowStride, aStep, bSliver, bStep, edgeTile, nr, T.One, T.Zero, none, 0, 0, mr);
                    MergeTile(edgeTile, nr, cTile, ldc, 1, rows, columns, block.Alpha, block.Beta);
                }
            }
            if (block.TransposedC || !block.LastK || !TEpilogue.Active)
                continue;
            // What the kernel did not transform in registers, in one call per sliver while its rows are
            // still in L1 (one call per tile cost more than the transform on small tiles): the whole sliver
            // for sigmoid/tanh, otherwise only a ragged last panel.
            int from = TEpilogue.InRegisters ? endColumn - (endColumn - firstColumn) % nr : firstColumn;
            if (from < endColumn)
            {
                int row0 = block.Ic + ir, column0 = block.Jc + from;
                GemmEpilogue<T>.ApplyToStoredTile(epilogue, block.C + row0 * ldc + column0, ldc, row0, column0, rows, endColumn - from);
            }
        }
    }

    /// <summary>C(i, j) = α·tile(i, j) + β·C(i, j) over the valid part of a tile, C addressed with
    /// separate row and column strides so the same code writes a tile or its transpose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeTile(T* tile, nint ldt, T* c, nint rowStride, nint columnStride,
        int rows, int columns, T alpha, T beta)
    {
        if (columnStride == 1)
        {
            // Rows of C are contiguous (an edge tile of the untransposed product): vector rows, with
            // the same arithmetic as the scalar loop below (α·t, β·c, then their sum).
            for (int i = 0; i < rows; i++)
            {
                var source = new ReadOnlySpan<T>(tile + i * ldt, columns);
                var target = new Span<T>(c + i * rowStride, columns);
                if (beta == T.Zero)
                {
                    if (alpha == T.One)
                        source.CopyTo(target);
                    else
                        Elementwise<T>.Scale(source, alpha, target);
                }
                else
                    Elementwise<T>.Map(new LinearCombinationOperator<T>(alpha, beta), source, target, target);
            }
            return;
        }
        for (int i = 0; i < rows; i++)
        {
            T* source = tile + i * ldt;
            T* target = c + i * rowStride;
            if (beta == T.Zero)
            {
                for (int j = 0; j < columns; j++)
                    target[j * columnStride] = alpha * source[j];
            }
            else
            {
                for (int j = 0; j < columns; j++)
                    target[j * columnStride] = alpha * source[j] + beta * target[j * columnStride];
            }
        }
    }

    /// <summary>
    /// C rows one at a time as matrix-vector products (<see cref="MatrixVector{T}"/>), reading B in place:
    /// with op(B) = Bᵀ each element is a dot product of two contiguous rows; with op(B) = B each row of C
    /// accumulates a_ip times row p of B. Memory-bound on B, which is what a single sample costs anyway.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SmallRows<TEpilogue>(bool transA, bool transB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, in TEpilogue epilogue)
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        nint rowElements = PackBuffers<T>.RoundToCacheLine(k);
        T* scratch = PackBuffers<T>.Get(rowElements + n);
        var aRow = new Span<T>(scratch, k);
        var accumulator = new Span<T>(scratch + rowElements, n);
        for (int i = 0; i < m; i++)
        {
            // Row i of op(A), contiguous (gathered when A is stored transposed).
            if (transA)
            {
                for (int p = 0; p < k; p++)
                    aRow[p] = a[p * lda + i];
            }
            else
            {
                new ReadOnlySpan<T>(a + i * lda, k).CopyTo(aRow);
            }

            if (transB)
                MatrixVector<T>.DotRows(scratch, b, ldb, n, k, scratch + rowElements);
            else
                MatrixVector<T>.AccumulateRows(scratch, b, ldb, n, k, scratch + rowElements);

            var row = new Span<T>(c + i * ldc, n);
            if (beta == T.Zero)
                Elementwise<T>.Scale(accumulator, alpha, row);
            else
                Elementwise<T>.Map(new LinearCombinationOperator<T>(alpha, beta), accumulator, row, row);
            GemmEpilogue<T>.ApplyToStoredTile(epilogue, c + i * ldc, ldc, i, 0, 1, n);
        }
    }

    /// <summary>
    /// C with one or two columns (a single-output layer: 32×1 = X·wᵀ) one column at a time: column j of
    /// op(B) is gathered, then each element of the column is a dot product with a row of op(A) — a packed
    /// 12×32 tile would be 97% padding. The column is stored with stride ldc and the epilogue sees it as an
    /// m×1 tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SmallColumns<TEpilogue>(bool transA, bool transB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, in TEpilogue epilogue)
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        nint columnElements = PackBuffers<T>.RoundToCacheLine(k);
        T* scratch = PackBuffers<T>.Get(columnElements + m);
        T* accumulator = scratch + columnElements;
        for (int j = 0; j < n; j++)
        {
            for (int p = 0; p < k; p++)
                scratch[p] = transB ? b[j * ldb + p] : b[p * ldb + j];
            // Rows of op(A) are rows of A (dot products) or columns of A (accumulated rows of A).
            if (transA)
                MatrixVector<T>.AccumulateRows(scratch, a, lda, m, k, accumulator);
            else
                MatrixVector<T>.DotRows(scratch, a, lda, m, k, accumulator);
            for (int i = 0; i < m; i++)
            {
                T* target = c + i * ldc + j;
                *target = beta == T.Zero ? alpha * accumulator[i] : alpha * accumulator[i] + beta * *target;
            }
            GemmEpilogue<T>.ApplyToStoredTile(epilogue, c + j, ldc, 0, j, m, 1);
        }
    }

    /// <summary>C = β·C; β = 0 clears without reading, so NaN/∞ in C do not survive.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleRows(T* c, nint ldc, int m, int n, T beta)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<T>(c + i * ldc, n);
            if (beta == T.Zero)
                row.Clear();
            else if (beta != T.One)
                Elementwise<T>.Scale(row, beta, row);
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
