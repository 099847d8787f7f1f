using System.Numerics;
using System.Runtime.Intrinsics;
using FastBackprop.Kernels.Simd;
using FastBackprop.Hardware;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// Where a product runs: each shape goes to the path that suits it. Nothing to multiply is C = β·C; one or two rows or
/// columns of C are matrix-vector products (<see cref="SmallShapeGemm{T}"/>); the rest runs the GotoBLAS/BLIS loops
/// (<see cref="BlockedGemm{T}"/>) on the register-blocked micro-kernel of the instruction set the
/// <see cref="KernelConfiguration"/> chose (read once per product), with the tile, orientation and blocks
/// <see cref="GemmBlocking"/> picks. Every path computes an element the same way — one chain of fused multiply-adds over
/// k in order, then α, β (<see cref="GemmFinish{T}"/>) and the epilogue — so its bits depend on the operands alone, not
/// on the path, the instruction set, the blocks or the thread count (docs/MATH.md, "Summation order").
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
            int nr = GemmBlocking.TileColumns<T>(configuration);
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
            SmallShapeGemm<T>.ScaleRows(c, ldc, m, n, beta);
            GemmEpilogue<T>.ApplyToStoredTile(epilogue, c, ldc, 0, 0, m, n);
            return;
        }
        if (m <= GemmBlocking.SmallRowsThreshold)
        {
            SmallShapeGemm<T>.Rows(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, packedB);
            return;
        }
        if (n <= GemmBlocking.SmallRowsThreshold)
        {
            SmallShapeGemm<T>.Columns(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue);
            return;
        }

        KernelConfiguration configuration = KernelConfiguration.Active;
        (int mr, bool transposed) = GemmBlocking.ChooseTile<T>(configuration, m, n);
        switch (configuration.InstructionSet)
        {
            case InstructionSet.Avx512 when mr == 8:
                Tiled<MicroKernel8xTwoVectors<T, Simd512<T>, Vector512<T>>, TEpilogue>(configuration, transposed, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, packedB);
                break;
            case InstructionSet.Avx512:
                Tiled<MicroKernel12xTwoVectors<T, Simd512<T>, Vector512<T>>, TEpilogue>(configuration, transposed, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, packedB);
                break;
            case InstructionSet.Avx2:
                Tiled<MicroKernel6xTwoVectors<T, Simd256<T>, Vector256<T>>, TEpilogue>(configuration, transposed, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, packedB);
                break;
            case InstructionSet.Vector128 when mr == 12:
                Tiled<MicroKernel12xTwoVectors<T, Simd128<T>, Vector128<T>>, TEpilogue>(configuration, transposed, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, packedB);
                break;
            default:
                Tiled<MicroKernel6xTwoVectors<T, Simd128<T>, Vector128<T>>, TEpilogue>(configuration, transposed, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue, packedB);
                break;
        }
    }

    /// <summary>
    /// Runs the tiled product on C or on Cᵀ = op(B)ᵀ·op(A)ᵀ (see <see cref="GemmBlocking.ChooseTile{T}"/>): a skinny C
    /// (e.g. 128×10, an output layer) wastes two thirds of a 32-wide tile, while its transpose fills it. A pre-packed
    /// op(B) is used only on C and only when it matches what this product would pack.
    /// </summary>
    private static void Tiled<TKernel, TEpilogue>(KernelConfiguration configuration, bool transposed, bool transA, bool transB,
        int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, in TEpilogue epilogue, PackedOperand<T>? packedB)
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        bool updatesC = beta != T.Zero;
        if (transposed)
        {
            var plan = BlockingPlan.For<T>(configuration, TKernel.MR, TKernel.NR, !transA, n, m, k, ldb, lda, updatesC);
            BlockedGemm<T>.Run<TKernel, TEpilogue>(plan, !transB, !transA, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc, transposedC: true, epilogue, null);
        }
        else
        {
            var plan = BlockingPlan.For<T>(configuration, TKernel.MR, TKernel.NR, transB, m, n, k, lda, ldb, updatesC);
            bool usePacked = transB && packedB is not null && packedB.Matches(configuration, n, k, TKernel.NR, plan.KcMax);
            BlockedGemm<T>.Run<TKernel, TEpilogue>(plan, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, transposedC: false, epilogue,
                usePacked ? packedB : null);
        }
    }
}
