using System.Numerics;
using System.Runtime.CompilerServices;
using FastBackprop.Hardware;
using FastBackprop.Kernels.Elementwise;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// Products where tiles do not pay: C with at most <see cref="GemmBlocking.SmallRowsThreshold"/> rows or columns (one
/// or two samples, a single-output layer) as matrix-vector products (<see cref="MatrixVector{T}"/>: each element one chain
/// of fused multiply-adds over k in order, as in a tile), and C = β·C when there is nothing to multiply. Memory-bound on
/// the matrix read, which is what such a product costs anyway.
/// </summary>
internal static unsafe class SmallShapeGemm<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>
    /// C rows one at a time as matrix-vector products: with op(B) = B each row of C accumulates a_ip times row p of B;
    /// with op(B) = Bᵀ it streams <paramref name="packedB"/> where that is op(B) packed for the active configuration,
    /// else each element is a dot product of two contiguous rows. Memory-bound on B, which is what a single sample
    /// costs anyway.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows<TEpilogue>(bool transA, bool transB, int m, int n, int k,
        T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc, in TEpilogue epilogue, PackedOperand<T>? packedB)
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        nint rowElements = PackBuffers<T>.RoundToCacheLine(k);
        T* scratch = PackBuffers<T>.Get(rowElements + n);
        var aRow = new Span<T>(scratch, k);
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

            T* sums = scratch + rowElements;
            if (!transB)
                MatrixVector<T>.AccumulateRows(scratch, b, ldb, n, k, sums);
            else if (packedB is not null && packedB.N == n && packedB.K == k
                     && ReferenceEquals(packedB.Configuration, KernelConfiguration.Active))
                MatrixVector<T>.Panels(scratch, packedB, sums);
            else
                MatrixVector<T>.DotRows(scratch, b, ldb, n, k, sums);
            GemmFinish<T>.Row(sums, c + i * ldc, n, alpha, beta);
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
    public static void Columns<TEpilogue>(bool transA, bool transB, int m, int n, int k,
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
                *target = GemmFinish<T>.Scalar(accumulator[i], alpha, beta, beta == T.Zero ? T.Zero : *target);
            }
            GemmEpilogue<T>.ApplyToStoredTile(epilogue, c + j, ldc, 0, j, m, 1);
        }
    }

    /// <summary>C = β·C; β = 0 clears without reading, so NaN/∞ in C do not survive.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleRows(T* c, nint ldc, int m, int n, T beta)
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
}
