namespace FastBackprop.Tests.Reference;

/// <summary>
/// The textbook triple loop for C = α·op(A)·op(B) + β·C on row-major storage, in double, one element
/// at a time. op(A)(i, p) and op(B)(p, j) are written as index functions so the four transpose cases
/// are one loop. BLAS semantics: β = 0 means C is not read, α = 0 means A and B are not read.
/// </summary>
public static class ReferenceGemm
{
    /// <summary>op(A)(i, p): A is m×k (lda ≥ k) or, transposed, k×m (lda ≥ m).</summary>
    public static double OpA(bool transA, double[] a, int offset, int lda, int i, int p)
        => transA ? a[offset + p * lda + i] : a[offset + i * lda + p];

    /// <summary>op(B)(p, j): B is k×n (ldb ≥ n) or, transposed, n×k (ldb ≥ k).</summary>
    public static double OpB(bool transB, double[] b, int offset, int ldb, int p, int j)
        => transB ? b[offset + j * ldb + p] : b[offset + p * ldb + j];

    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        double alpha, double[] a, int aOffset, int lda, double[] b, int bOffset, int ldb,
        double beta, double[] c, int cOffset, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                if (alpha != 0)
                {
                    for (int p = 0; p < k; p++)
                        sum += OpA(transA, a, aOffset, lda, i, p) * OpB(transB, b, bOffset, ldb, p, j);
                }
                double old = beta == 0 ? 0 : c[cOffset + i * ldc + j];
                c[cOffset + i * ldc + j] = (alpha == 0 ? 0 : alpha * sum) + beta * old;
            }
        }
    }

    /// <summary>
    /// The magnitude the reference-BLAS error ratio divides by: |α|·Σ_p |op(A)(i,p)|·|op(B)(p,j)| + |β|·|C(i,j)|
    /// (the β term left out when β = 0, since C is not read then).
    /// </summary>
    public static double[] Magnitudes(bool transA, bool transB, int m, int n, int k,
        double alpha, double[] a, int aOffset, int lda, double[] b, int bOffset, int ldb,
        double beta, double[] c, int cOffset, int ldc)
    {
        var result = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                if (alpha != 0)
                {
                    for (int p = 0; p < k; p++)
                        sum += Math.Abs(OpA(transA, a, aOffset, lda, i, p)) * Math.Abs(OpB(transB, b, bOffset, ldb, p, j));
                }
                double cTerm = beta == 0 ? 0 : Math.Abs(beta) * Math.Abs(c[cOffset + i * ldc + j]);
                result[i * n + j] = Math.Abs(alpha) * sum + cTerm;
            }
        }
        return result;
    }
}
