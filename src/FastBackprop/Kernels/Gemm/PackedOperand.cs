using System.Numerics;
using System.Runtime.CompilerServices;
using FastBackprop.Hardware;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// op(B) = Bᵀ of a constant n×k matrix (a layer's weights, units×inputs), packed once in exactly the panel order the
/// driver would pack it in on every call under one <see cref="KernelConfiguration"/>: K blocks of
/// <see cref="GemmBlocking.BalancedKC{T}"/> rows, each holding all ⌈n/NR⌉ NR-wide panels (zero-padded) in column
/// order. ONNX Runtime's MLAS does the same with constant weights when a session is created; for a batch-128
/// forward pass of 784-512-256-10 packing Wᵀ is about 7% of the time. The driver uses it only when the product runs on
/// C (not transposed) under the same configuration; otherwise it packs as usual, so a stale configuration costs speed,
/// never correctness. Immutable once built, so any number of threads may read it.
/// </summary>
internal sealed unsafe class PackedOperand<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[] storage;   // pinned: the kernels read it through pointers
    private readonly nint paddedColumns;

    /// <summary>Packs op(B) = Bᵀ for B stored n×k with row stride <paramref name="ldb"/>.</summary>
    public PackedOperand(ReadOnlySpan<T> b, int n, int k, int ldb)
    {
        if (n <= 0 || k <= 0)
            throw new ArgumentOutOfRangeException(nameof(n), $"A packed operand needs n, k ≥ 1 (n = {n}, k = {k}).");
        Configuration = KernelConfiguration.Active;
        N = n;
        K = k;
        NR = GemmBlocking.TileColumns<T>(Configuration);
        KcMax = GemmBlocking.BalancedKC<T>(Configuration, k);
        paddedColumns = GemmBlocking.RoundUp(n, NR);
        storage = GC.AllocateUninitializedArray<T>(checked((int)(paddedColumns * k)), pinned: true);
        int nc = Configuration.NC;
        fixed (T* source = b)
        {
            for (int pc = 0; pc < k; pc += KcMax)
            {
                int kc = Math.Min(KcMax, k - pc);
                for (int jc = 0; jc < n; jc += nc)
                    Packing<T>.PackB(true, source + (nint)jc * ldb + pc, ldb, kc, Math.Min(nc, n - jc), NR, Block(pc, kc, jc));
            }
        }
    }

    /// <summary>A dense layer's Wᵀ (weights units×inputs) packed for its forward GEMM: the tiled products read it, and
    /// so do single samples (<see cref="MatrixVector{T}.Panels"/>).</summary>
    public static PackedOperand<T> ForLayer(ReadOnlySpan<T> weights, int units, int inputs) => new(weights, units, inputs, inputs);

    public KernelConfiguration Configuration { get; }
    public int N { get; }
    public int K { get; }
    public int NR { get; }
    public int KcMax { get; }

    /// <summary>Whether a product of this shape under <paramref name="configuration"/> with tiles NR wide and K blocks of
    /// <paramref name="kcMax"/> would pack op(B) exactly like this.</summary>
    public bool Matches(KernelConfiguration configuration, int n, int k, int nr, int kcMax)
        => ReferenceEquals(configuration, Configuration) && n == N && k == K && nr == NR && kcMax == KcMax;

    /// <summary>The packed (pc, jc) block: its panels start here, panel p of the block at p·NR·kc. Every earlier K block
    /// holds all padded columns at depth KcMax (pc·paddedColumns elements), and every earlier N block of this K block is
    /// full (NC columns, a multiple of NR).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* Block(int pc, int kc, int jc)
        => (T*)Unsafe.AsPointer(ref storage[0]) + (nint)pc * paddedColumns + (nint)kc * jc;

    /// <summary>Panel <paramref name="panel"/> (columns from panel·NR) of K block (pc, kc): the N blocks of a K block lie
    /// end to end, so a panel's place does not depend on NC.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* Panel(int pc, int kc, int panel)
        => (T*)Unsafe.AsPointer(ref storage[0]) + (nint)pc * paddedColumns + (nint)kc * panel * NR;
}
