using System.Numerics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FastBackprop.Tests.Reference;

/// <summary>
/// The summation order every GEMM path promises (docs/MATH.md, "Summation order"), written as plainly as possible in the
/// working precision: each element s = 0, then s = fma(op(A)(i,p), op(B)(p,j), s) for p = 0, 1, …, k − 1; then
/// y = α·s (s itself when α = 1) and, when β ≠ 0, y = fma(C(i,j), β, y). Nothing to multiply (k = 0 or α = 0) is
/// C = β·C (cleared when β = 0). The library's results must equal this bit for bit wherever the hardware fuses
/// multiply-adds (<see cref="Applies"/>); without FMA it makes no promise.
/// </summary>
public static class OrderedGemm
{
    /// <summary>Whether the library promises these bits on this host (every x86 with FMA3, every ARM64).</summary>
    public static bool Applies => Fma.IsSupported || AdvSimd.IsSupported;

    public static T[] Multiply<T>(bool transA, bool transB, int m, int n, int k, T alpha, T[] a, int aOffset, int lda,
        T[] b, int bOffset, int ldb, T beta, T[] c, int cOffset, int ldc) where T : IBinaryFloatingPointIeee754<T>
    {
        var result = (T[])c.Clone();
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                int at = cOffset + i * ldc + j;
                if (k == 0 || alpha == T.Zero)
                {
                    result[at] = beta == T.Zero ? T.Zero : beta == T.One ? c[at] : c[at] * beta;
                    continue;
                }
                T s = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T x = transA ? a[aOffset + p * lda + i] : a[aOffset + i * lda + p];
                    T w = transB ? b[bOffset + j * ldb + p] : b[bOffset + p * ldb + j];
                    s = T.FusedMultiplyAdd(x, w, s);
                }
                T y = alpha == T.One ? s : s * alpha;
                result[at] = beta == T.Zero ? y : T.FusedMultiplyAdd(c[at], beta, y);
            }
        }
        return result;
    }
}
