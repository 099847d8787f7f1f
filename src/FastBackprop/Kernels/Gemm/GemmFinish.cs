using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using FastBackprop.Kernels.Elementwise;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// The last arithmetic of every GEMM path, on the finished sum s of an element (one chain of fused multiply-adds over k in
/// order): y = α·s (s itself when α = 1), then, when β ≠ 0, y = β·C + y as one fused multiply-add where the hardware
/// fuses. It is what the micro-kernels do in registers (<see cref="TileStore{T, TSimd, TVec}.Row"/>), written once more
/// here for the paths that finish elements outside a kernel (edge tiles, matrix-vector products), so that an element's
/// bits do not depend on which path computed it. β = 0 never reads C (BLAS: NaN there does not survive).
/// </summary>
internal static unsafe class GemmFinish<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Scalar(T sum, T alpha, T beta, T c)
    {
        T y = alpha == T.One ? sum : sum * alpha;
        return beta == T.Zero ? y : MultiplyAdd(c, beta, y);
    }

    /// <summary>c[0..count) = finish(sums[0..count), c); <paramref name="sums"/> may be <paramref name="c"/>.</summary>
    public static void Row(T* sums, T* c, int count, T alpha, T beta)
    {
        var source = new ReadOnlySpan<T>(sums, count);
        var target = new Span<T>(c, count);
        if (beta != T.Zero)
            Elementwise<T>.Map(new GemmFinishOperator<T>(alpha, beta), source, target, target);
        else if (alpha != T.One)
            Elementwise<T>.Scale(source, alpha, target);
        else if (sums != c)
            source.CopyTo(target);
    }

    /// <summary>a·b + c rounded once where the hardware fuses (x86 FMA3, every ARM64), else a multiply and an add: lane
    /// for lane what <see cref="Simd.ISimd{T, TVec}.MultiplyAdd"/> computes, so a scalar edge loop matches a register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MultiplyAdd(T a, T b, T c) => Fma.IsSupported || AdvSimd.IsSupported ? T.FusedMultiplyAdd(a, b, c) : a * b + c;
}
