using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FastBackprop.Kernels.Simd;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// Cache-block sizes. The loop nest mirrors BLIS applied to Cᵀ (our wide micro-panel is B's):
/// an MR×KC sliver of packed A stays in L1 while the jr loop streams the KC×NC packed B block
/// from L2; the MC×KC packed A block lives in L3.
/// </summary>
internal static class GemmBlocking
{
    /// <summary>Bytes of one packed row of K: KC·sizeof(T). 1536 B gives KC = 384 floats / 192 doubles,
    /// so an MR = 12 sliver of A is 18 KiB and sits in a 32–48 KiB L1 beside the streamed B.</summary>
    private const int KcBytes = 1536;

    /// <summary>Columns of packed B per block: KC×NC·sizeof(T) = 768 KiB, inside a 1 MiB L2.
    /// A multiple of every NR (8, 16, 32).</summary>
    public const int NC = 512;

    /// <summary>Rows of packed A per block: MC×KC·sizeof(T) ≈ 4.5 MiB, for L3. A multiple of MR = 6 and 12.</summary>
    public const int MC = 3072;

    public static int KC<T>() where T : unmanaged => KcBytes / Unsafe.SizeOf<T>();
}

/// <summary>
/// The GotoBLAS/BLIS five-loop GEMM over a register-blocked micro-kernel, chosen once per ISA by the
/// JIT (the <c>IsHardwareAccelerated</c> checks are constants, so only one branch is compiled).
/// Pointers are assumed valid for the shapes: the public API has already checked them.
/// </summary>
internal static unsafe class GemmDriver<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Names the micro-kernel this process uses (for benchmarks and diagnostics).</summary>
    public static string KernelName =>
        Vector512.IsHardwareAccelerated ? $"{typeof(T).Name} 12x{2 * Vector512<T>.Count} AVX-512"
        : Vector256.IsHardwareAccelerated ? $"{typeof(T).Name} 6x{2 * Vector256<T>.Count} AVX2"
        : $"{typeof(T).Name} 6x{2 * Vector128<T>.Count} Vector128";

    /// <summary>C[m×n] = α·op(A)·op(B) + β·C, then <paramref name="epilogue"/> on every finished tile.</summary>
    public static void Run<TEpilogue>(bool transA, bool transB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, ref TEpilogue epilogue)
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        if (m == 0 || n == 0)
            return;
        if (k == 0 || alpha == T.Zero)
        {
            // Nothing to multiply: BLAS leaves C = β·C without touching A or B (NaN there stays out).
            ScaleRows(c, ldc, m, n, beta);
            epilogue.Apply(c, ldc, 0, 0, m, n);
            return;
        }

        if (Vector512.IsHardwareAccelerated)
            Blocked<MicroKernel12xTwoVectors<T, Simd512<T>, Vector512<T>>, TEpilogue>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ref epilogue);
        else if (Vector256.IsHardwareAccelerated)
            Blocked<MicroKernel6xTwoVectors<T, Simd256<T>, Vector256<T>>, TEpilogue>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ref epilogue);
        else
            Blocked<MicroKernel6xTwoVectors<T, Simd128<T>, Vector128<T>>, TEpilogue>(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ref epilogue);
    }

    private static void Blocked<TKernel, TEpilogue>(bool transA, bool transB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, ref TEpilogue epilogue)
        where TKernel : IMicroKernel<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        int mr = TKernel.MR, nr = TKernel.NR;
        int kcMax = Math.Min(k, GemmBlocking.KC<T>());
        int mcMax = RoundUp(Math.Min(m, GemmBlocking.MC), mr);
        int ncMax = RoundUp(Math.Min(n, GemmBlocking.NC), nr);

        nint aElements = PackBuffers<T>.RoundToCacheLine((nint)mcMax * kcMax);
        nint bElements = PackBuffers<T>.RoundToCacheLine((nint)ncMax * kcMax);
        T* packedA = PackBuffers<T>.Get(aElements + bElements + mr * nr);
        T* packedB = packedA + aElements;
        T* edgeTile = packedB + bElements;

        for (int ic = 0; ic < m; ic += GemmBlocking.MC)
        {
            int mc = Math.Min(GemmBlocking.MC, m - ic);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                bool lastK = pc + kc == k;
                // Only the first K block applies the caller's β; later blocks add onto it.
                T blockBeta = pc == 0 ? beta : T.One;

                T* aBlock = transA ? a + pc * lda + ic : a + ic * lda + pc;
                Packing<T>.PackA(transA, aBlock, lda, mc, kc, mr, packedA);

                for (int jc = 0; jc < n; jc += GemmBlocking.NC)
                {
                    int nc = Math.Min(GemmBlocking.NC, n - jc);
                    T* bBlock = transB ? b + jc * ldb + pc : b + pc * ldb + jc;
                    Packing<T>.PackB(transB, bBlock, ldb, kc, nc, nr, packedB);

                    for (int ir = 0; ir < mc; ir += mr)
                    {
                        int rows = Math.Min(mr, mc - ir);
                        T* aSliver = packedA + (nint)ir * kc;
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            int columns = Math.Min(nr, nc - jr);
                            T* bSliver = packedB + (nint)jr * kc;
                            T* cTile = c + (ic + ir) * ldc + jc + jr;
                            if (rows == mr && columns == nr)
                            {
                                TKernel.Run(kc, aSliver, bSliver, cTile, ldc, alpha, blockBeta);
                            }
                            else
                            {
                                // Edge tile: compute the full padded tile aside, merge only the valid part.
                                TKernel.Run(kc, aSliver, bSliver, edgeTile, nr, T.One, T.Zero);
                                MergeEdgeTile(edgeTile, nr, cTile, ldc, rows, columns, alpha, blockBeta);
                            }
                            if (lastK)
                                epilogue.Apply(cTile, ldc, ic + ir, jc + jr, rows, columns);
                        }
                    }
                }
            }
        }
    }

    private static void MergeEdgeTile(T* tile, nint ldt, T* c, nint ldc, int rows, int columns, T alpha, T beta)
    {
        for (int i = 0; i < rows; i++)
        {
            T* source = tile + i * ldt;
            T* target = c + i * ldc;
            if (beta == T.Zero)
            {
                for (int j = 0; j < columns; j++)
                    target[j] = alpha * source[j];
            }
            else
            {
                for (int j = 0; j < columns; j++)
                    target[j] = alpha * source[j] + beta * target[j];
            }
        }
    }

    /// <summary>C = β·C; β = 0 clears without reading, so NaN/∞ in C do not survive.</summary>
    private static void ScaleRows(T* c, nint ldc, int m, int n, T beta)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<T>(c + i * ldc, n);
            if (beta == T.Zero)
                row.Clear();
            else if (beta != T.One)
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
