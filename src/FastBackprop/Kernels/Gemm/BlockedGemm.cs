using System.Numerics;
using System.Runtime.CompilerServices;
using FastBackprop.Kernels.Elementwise;
using FastBackprop.Kernels.Threading;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// The GotoBLAS/BLIS loops of one tiled product, carrying out its <see cref="BlockingPlan"/>: ic over MC rows of C; pc
/// over K blocks, where op(A)'s block is placed (packed, or read where it lies); one jc loop over NC columns, each block
/// shared between the threads as the plan's <see cref="WorkDivision"/> says; and in each block the ir/jr loops over A
/// slivers and B panels (<see cref="Slivers"/>) that call the micro-kernel. Every block is described by immutable values
/// (<see cref="TileOutput"/>, <see cref="RowBlock"/>, <see cref="Block"/>) built where the loops decide them, so the same
/// description can be handed to any worker.
/// With transposedC the product computed is the transpose of the caller's C (m, n here are the caller's n, m): every tile
/// goes through an edge tile and is merged transposed, and the epilogue sees the tile in the caller's coordinates.
/// </summary>
internal static unsafe class BlockedGemm<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TKernel, TEpilogue>(in BlockingPlan plan, bool transA, bool transB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, bool transposedC, in TEpilogue epilogue, PackedOperand<T>? prepackedB)
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        int mr = plan.MR;
        nint aElements = plan.AElements<T>(), bElements = plan.BElements<T>(), tileElements = plan.TileElements<T>();
        // The running sums between K blocks live in C itself, except when the last block must still read the caller's
        // C (β ≠ 0): then in a scratch block of mc rows of the product, n apart.
        bool runningAside = beta != T.Zero && k > plan.KcMax;
        nint runningElements = runningAside ? PackBuffers<T>.RoundToCacheLine((nint)plan.McMax * n) : 0;
        T* packedA = PackBuffers<T>.Get(aElements + bElements + plan.Threads * tileElements + runningElements);
        T* packedB = packedA + aElements;
        T* edgeTiles = packedB + bElements;
        var output = new TileOutput(transposedC, c, ldc, alpha, beta, edgeTiles, tileElements,
            runningAside ? edgeTiles + plan.Threads * tileElements : null, n);
        for (int ic = 0; ic < m; ic += plan.MC)
        {
            int mc = Math.Min(plan.MC, m - ic);
            int slivers = (mc + mr - 1) / mr;
            for (int pc = 0; pc < k; pc += plan.KcMax)
            {
                int kc = Math.Min(plan.KcMax, k - pc);
                T* aBlock = transA ? a + pc * lda + ic : a + ic * lda + pc;
                var rows = new RowBlock(ic, mc, kc, pc == 0, pc + kc == k,
                    PlaceA(plan, transA, aBlock, lda, mc, kc, slivers, packedA));
                for (int jc = 0; jc < n; jc += plan.NC)
                {
                    int nc = Math.Min(plan.NC, n - jc);
                    T* bBlock = transB ? b + jc * ldb + pc : b + pc * ldb + jc;
                    T* prepacked = prepackedB is null ? null : prepackedB.Block(pc, kc, jc);
                    if (plan.Division == WorkDivision.Columns)
                    {
                        var work = new ColumnSplit<TKernel, TEpilogue>(plan, output, rows, jc, nc, slivers, transB, bBlock, ldb,
                            prepacked, packedB, epilogue);
                        WorkerTeam.Run(ref work, plan.Threads);
                    }
                    else
                    {
                        BSource panels = prepacked is not null
                            ? new BSource(prepacked, 0, null, ldb)
                            : PlaceB(plan.ReadBInPlace, transB, bBlock, ldb, kc, 0, nc, plan.NR, packedB);
                        var work = new RowSplit<TKernel, TEpilogue>(new Block(output, rows, jc, nc, panels), epilogue, slivers,
                            Math.Min(plan.Threads, slivers), (nc + plan.NR - 1) / plan.NR);
                        WorkerTeam.Run(ref work, work.Parts);
                    }
                }
            }
        }
    }

    /// <summary>Makes an mc×kc block of op(A) available to the kernels: read where it lies (only a ragged last sliver
    /// is packed, zero-padded) or packed whole, the slivers split between the plan's threads.</summary>
    private static ASource PlaceA(in BlockingPlan plan, bool transA, T* aBlock, nint lda, int mc, int kc, int slivers, T* packedA)
    {
        int mr = plan.MR;
        if (plan.ReadAInPlace)
        {
            int ragged = mc - mc % mr;
            if (ragged < mc)
                Packing<T>.PackA(transA, aBlock + (transA ? ragged : ragged * lda), lda, mc - ragged, kc, mr, packedA + (nint)ragged * kc);
            return new ASource(packedA, aBlock, transA, lda);
        }
        var pack = new PackAWork(transA, aBlock, lda, mc, kc, mr, slivers, Math.Min(plan.Threads, slivers), packedA);
        WorkerTeam.Run(ref pack, pack.Parts);
        return new ASource(packedA, null, transA, lda);
    }

    /// <summary>Makes columns [first, first + columns) of a kc×nc block of op(B) (starting at op(B)(pc, jc) =
    /// <paramref name="bBlock"/>) available to the kernels at <paramref name="region"/>: read where they lie (only a
    /// ragged last panel of the block is packed, zero-padded) or packed.</summary>
    private static BSource PlaceB(bool inPlace, bool transB, T* bBlock, nint ldb, int kc, int first, int columns, int nr, T* region)
    {
        T* source = transB ? bBlock + first * ldb : bBlock + first;
        if (!inPlace)
        {
            Packing<T>.PackB(transB, source, ldb, kc, columns, nr, region);
            return new BSource(region, first, null, ldb);
        }
        int ragged = columns - columns % nr;
        if (ragged < columns)
            Packing<T>.PackB(transB, transB ? source + ragged * ldb : source + ragged, ldb, kc, columns - ragged, nr, region + (nint)ragged * kc);
        return new BSource(region, first, bBlock, ldb);
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

    /// <summary><see cref="WorkDivision.Columns"/>: part p places its share of the block's B panels in its own region of
    /// packed B (or finds them in the pre-packed operand) and runs them over every sliver of A.</summary>
    private readonly struct ColumnSplit<TKernel, TEpilogue>(BlockingPlan plan, TileOutput output, RowBlock rows, int jc, int nc,
        int slivers, bool transB, T* bBlock, nint ldb, T* prepacked, T* packedB, TEpilogue epilogue) : IPartitionedWork
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int part)
        {
            int nr = plan.NR, kc = rows.Kc;
            int panels = (nc + nr - 1) / nr;
            int first = part * panels / plan.Threads, end = (part + 1) * panels / plan.Threads;
            if (first == end)
                return;
            int firstColumn = first * nr, columns = Math.Min(nc, end * nr) - firstColumn;
            BSource source = prepacked is not null
                ? new BSource(prepacked + (nint)firstColumn * kc, firstColumn, null, ldb)
                : PlaceB(plan.ReadBInPlace, transB, bBlock, ldb, kc, firstColumn, columns, nr, packedB + (nint)part * plan.PanelsPerThread * nr * kc);
            Slivers<TKernel, TEpilogue>(new Block(output, rows, jc, nc, source), 0, slivers, first, end, part, epilogue);
        }
    }

    /// <summary><see cref="WorkDivision.Rows"/>: part p runs its share of the slivers of A over the whole placed B block.</summary>
    private readonly struct RowSplit<TKernel, TEpilogue>(Block block, TEpilogue epilogue, int slivers, int parts, int panels) : IPartitionedWork
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        public int Parts => parts;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int part)
            => Slivers<TKernel, TEpilogue>(block, part * slivers / parts, (part + 1) * slivers / parts, 0, panels, part, epilogue);
    }

    /// <summary>Where every tile of one product goes: C (or, transposed, the caller's C seen as Cᵀ), α and β (applied on
    /// the last K block), the per-part edge tiles that ragged or transposed tiles are computed in before merging, and
    /// where the running sums wait between K blocks when not in C (<see cref="Running"/>, rows of the current row
    /// block <see cref="Ldr"/> apart, in the product's coordinates; null: in C).</summary>
    private readonly struct TileOutput(bool transposedC, T* c, nint ldc, T alpha, T beta, T* edgeTiles, nint tileElements, T* running, nint ldr)
    {
        public readonly bool TransposedC = transposedC;
        public readonly T* C = c;
        public readonly nint Ldc = ldc;
        public readonly T Alpha = alpha, Beta = beta;
        public readonly T* EdgeTiles = edgeTiles;
        public readonly nint TileElements = tileElements;
        public readonly T* Running = running;
        public readonly nint Ldr = ldr;

        /// <summary>Where the running sum of product element (row, column) is kept, with its row and column strides.</summary>
        public T* RunningSums(int ic, int row, int column, out nint rowStride, out nint columnStride)
        {
            if (Running != null)
            {
                (rowStride, columnStride) = (Ldr, 1);
                return Running + (row - ic) * Ldr + column;
            }
            if (TransposedC)
            {
                (rowStride, columnStride) = (1, Ldc);
                return C + column * Ldc + row;
            }
            (rowStride, columnStride) = (Ldc, 1);
            return C + row * Ldc + column;
        }
    }

    /// <summary>One placed block of op(A): packed slivers (MR·kc elements apart; a ragged last sliver is always packed)
    /// and, when full slivers are read where they lie, op(A)(ic, pc). In place with op(A) = Aᵀ a sliver step is MR
    /// adjacent elements of a row of A, the next step lda further; with op(A) = A a sliver is MR rows of A, lda apart,
    /// read one element further per step.</summary>
    private readonly struct ASource(T* packed, T* inPlace, bool transposed, nint lda)
    {
        public readonly T* Packed = packed;
        public readonly T* InPlace = inPlace;
        public readonly bool Transposed = transposed;
        public readonly nint Lda = lda;
    }

    /// <summary>One placed range of a block of op(B), from column <see cref="FirstColumn"/> of the block: packed panels
    /// (NR·kc elements apart, the first at <see cref="Packed"/>) and, when full panels are read where they lie
    /// (op(B) = B: a panel step is NR adjacent elements of a row of B, the next step ldb further), op(B)(pc, jc).</summary>
    private readonly struct BSource(T* packed, int firstColumn, T* inPlace, nint ldb)
    {
        public readonly T* Packed = packed;
        public readonly int FirstColumn = firstColumn;
        public readonly T* InPlace = inPlace;
        public readonly nint Ldb = ldb;
    }

    /// <summary>Rows [ic, ic + mc) of C at K block [pc, pc + kc): whether it is the first K block (the sums start at
    /// zero) and the last (α, β and the epilogue are applied then), and its placed op(A).</summary>
    private readonly struct RowBlock(int ic, int mc, int kc, bool firstK, bool lastK, ASource a)
    {
        public readonly int Ic = ic, Mc = mc, Kc = kc;
        public readonly bool FirstK = firstK, LastK = lastK;
        public readonly ASource A = a;
    }

    /// <summary>What one (ic, pc, jc) block's micro-loops need: the row block, columns [jc, jc + nc) and their placed
    /// op(B).</summary>
    private readonly struct Block(TileOutput output, RowBlock rows, int jc, int nc, BSource b)
    {
        public readonly TileOutput Output = output;
        public readonly RowBlock Rows = rows;
        public readonly int Jc = jc, Nc = nc;
        public readonly BSource B = b;
    }

    /// <summary>The ir and jr loops over micro-panels [firstSliver, endSliver) of the A block and [firstPanel, endPanel)
    /// of the B block. An MR×KC sliver of A stays in L1 while the jr loop streams B's panels from L2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Slivers<TKernel, TEpilogue>(in Block block, int firstSliver, int endSliver,
        int firstPanel, int endPanel, int worker, in TEpilogue epilogue)
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        int mr = TKernel.MR, nr = TKernel.NR, kc = block.Rows.Kc;
        ref readonly TileOutput output = ref block.Output;
        ref readonly ASource a = ref block.Rows.A;
        ref readonly BSource b = ref block.B;
        T* edgeTile = output.EdgeTiles + worker * output.TileElements;
        nint ldc = output.Ldc;
        T alpha = output.Alpha, beta = output.Beta;
        bool firstK = block.Rows.FirstK, lastK = block.Rows.LastK;
        int ic = block.Rows.Ic, jc = block.Jc, mc = block.Rows.Mc, nc = block.Nc;
        var none = new NoEpilogue<T>();
        for (int sliver = firstSliver; sliver < endSliver; sliver++)
        {
            int ir = sliver * mr;
            int rows = Math.Min(mr, mc - ir);
            // A sliver is read in place or from its packed copy; a ragged last sliver is always packed.
            T* aSliver = a.Packed + (nint)ir * kc;
            nint aRowStride = 1, aStep = mr;
            if (a.InPlace != null && rows == mr)
            {
                aSliver = a.InPlace + (a.Transposed ? ir : ir * a.Lda);
                (aRowStride, aStep) = a.Transposed ? ((nint)1, a.Lda) : (a.Lda, (nint)1);
            }
            int firstColumn = firstPanel * nr, endColumn = Math.Min(nc, endPanel * nr);
            for (int jr = firstColumn; jr < endColumn; jr += nr)
            {
                int columns = Math.Min(nr, nc - jr);
                bool bInPlace = b.InPlace != null && columns == nr;
                T* bSliver = bInPlace ? b.InPlace + jr : b.Packed + (nint)(jr - b.FirstColumn) * kc;
                nint bStep = bInPlace ? b.Ldb : nr;
                int row = ic + ir, column = jc + jr;
                T* running = output.RunningSums(ic, row, column, out nint runningRowStride, out nint runningColumnStride);
                if (!output.TransposedC && columns == nr)
                {
                    // A full-width tile (all MR rows, or the rows left in a ragged last sliver): continues the running
                    // sums where they wait and is stored straight into C on the last K block, the epilogue in registers
                    // (or below, from L1, when it is too big to inline into the kernel).
                    T* cTile = output.C + row * ldc + column;
                    T* seed = firstK ? null : running;
                    if (!lastK)
                        TKernel.Run(kc, aSliver, aRowStride, aStep, bSliver, bStep, seed, runningRowStride, running, runningRowStride, T.One, T.Zero, none, row, column, rows);
                    else if (TEpilogue.InRegisters)
                        TKernel.Run(kc, aSliver, aRowStride, aStep, bSliver, bStep, seed, runningRowStride, cTile, ldc, alpha, beta, epilogue, row, column, rows);
                    else
                        TKernel.Run(kc, aSliver, aRowStride, aStep, bSliver, bStep, seed, runningRowStride, cTile, ldc, alpha, beta, none, row, column, rows);
                    continue;
                }
                // A ragged last panel, or any tile of a transposed product: computed in the aside tile (seeded with the
                // running sums), then only its valid part merged, or kept as the running sums.
                if (!firstK)
                    CopyTile(running, runningRowStride, runningColumnStride, edgeTile, nr, rows, columns, nr);
                TKernel.Run(kc, aSliver, aRowStride, aStep, bSliver, bStep, firstK ? null : edgeTile, nr, edgeTile, nr, T.One, T.Zero, none, 0, 0, rows);
                if (!lastK)
                {
                    StoreTile(edgeTile, nr, running, runningRowStride, runningColumnStride, rows, columns);
                    continue;
                }
                if (output.TransposedC)
                {
                    T* cTile = output.C + column * ldc + row;
                    MergeTile(edgeTile, nr, cTile, 1, ldc, rows, columns, alpha, beta);
                    GemmEpilogue<T>.ApplyToStoredTile(epilogue, cTile, ldc, column, row, columns, rows);
                }
                else
                {
                    MergeTile(edgeTile, nr, output.C + row * ldc + column, ldc, 1, rows, columns, alpha, beta);
                }
            }
            if (output.TransposedC || !lastK || !TEpilogue.Active)
                continue;
            // What the kernel did not transform in registers, in one call per sliver while its rows are
            // still in L1 (one call per tile cost more than the transform on small tiles): the whole sliver
            // for sigmoid/tanh, otherwise only a ragged last panel.
            int from = TEpilogue.InRegisters ? endColumn - (endColumn - firstColumn) % nr : firstColumn;
            if (from < endColumn)
            {
                int row0 = ic + ir, column0 = jc + from;
                GemmEpilogue<T>.ApplyToStoredTile(epilogue, output.C + row0 * ldc + column0, ldc, row0, column0, rows, endColumn - from);
            }
        }
    }

    /// <summary>C(i, j) = α·tile(i, j) + β·C(i, j) over the valid part of a tile, with the micro-kernel's arithmetic
    /// (<see cref="GemmFinish{T}"/>), C addressed with separate row and column strides so the same code writes a tile or
    /// its transpose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeTile(T* tile, nint ldt, T* c, nint rowStride, nint columnStride,
        int rows, int columns, T alpha, T beta)
    {
        if (columnStride == 1)
        {
            for (int i = 0; i < rows; i++)
                GemmFinish<T>.Row(tile + i * ldt, c + i * rowStride, columns, alpha, beta);
            return;
        }
        for (int i = 0; i < rows; i++)
        {
            T* source = tile + i * ldt;
            T* target = c + i * rowStride;
            for (int j = 0; j < columns; j++)
                target[j * columnStride] = GemmFinish<T>.Scalar(source[j], alpha, beta, target[j * columnStride]);
        }
    }

    /// <summary>Copies the valid rows×columns of a tile between the aside tile and where running sums wait (either may
    /// be strided); with <paramref name="padTo"/> the destination's rows are zero-filled up to that width, so the
    /// kernel's padding lanes never start from stale values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyTile(T* source, nint rowStride, nint columnStride, T* destination, nint ldd, int rows, int columns, int padTo = 0)
    {
        for (int i = 0; i < rows; i++)
        {
            T* from = source + i * rowStride;
            T* to = destination + i * ldd;
            if (columnStride == 1)
                new ReadOnlySpan<T>(from, columns).CopyTo(new Span<T>(to, columns));
            else
            {
                for (int j = 0; j < columns; j++)
                    to[j] = from[j * columnStride];
            }
            for (int j = columns; j < padTo; j++)
                to[j] = T.Zero;
        }
    }

    /// <summary>The valid rows×columns of the aside tile into strided storage (where the running sums wait).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StoreTile(T* source, nint ldt, T* destination, nint rowStride, nint columnStride, int rows, int columns)
    {
        for (int i = 0; i < rows; i++)
        {
            T* from = source + i * ldt;
            T* to = destination + i * rowStride;
            for (int j = 0; j < columns; j++)
                to[j * columnStride] = from[j];
        }
    }
}
