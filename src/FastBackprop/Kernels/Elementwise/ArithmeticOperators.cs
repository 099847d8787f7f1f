using System.Runtime.CompilerServices;
using System.Numerics;
using FastBackprop.Kernels.Simd;

namespace FastBackprop.Kernels.Elementwise;

// The row arithmetic of the per-step kernels (softmax, Δ scaling, bias sums, GEMM's α/β updates), as operators for
// Elementwise<T>.Map rather than TensorPrimitives calls: Map's loop is compiled fully optimised on its first call,
// while a generic method of another assembly starts at tier 0 and is recompiled in the background — on a
// two-processor machine that compile takes the second GEMM thread's core during the first steps.

/// <summary>x + y.</summary>
internal readonly struct AddOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec x, TVec y) where TSimd : ISimd<T, TVec> where TVec : unmanaged => TSimd.Add(x, y);
}

/// <summary>x·y (a dropout mask applied to values or gradients).</summary>
internal readonly struct MultiplyOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec x, TVec y) where TSimd : ISimd<T, TVec> where TVec : unmanaged => TSimd.Multiply(x, y);
}

/// <summary>x·s (y unused).</summary>
internal readonly struct ScaleOperator<T>(T scale) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec x, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.Multiply(x, TSimd.Broadcast(scale));
}

/// <summary>(x − y)·s.</summary>
internal readonly struct ScaledDifferenceOperator<T>(T scale) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec x, TVec y) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.Multiply(TSimd.Subtract(x, y), TSimd.Broadcast(scale));
}

/// <summary>GEMM's last step on a finished sum x with C's old value y: α·x (x itself when α = 1), then β·y added by one fused
/// multiply-add (where the hardware fuses) — the micro-kernels' arithmetic, so edge tiles and matrix-vector products give
/// every element the bits a full tile gives it.</summary>
internal readonly struct GemmFinishOperator<T>(T alpha, T beta) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec x, TVec y) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.MultiplyAdd(y, TSimd.Broadcast(beta), alpha == T.One ? x : TSimd.Multiply(x, TSimd.Broadcast(alpha)));
}

/// <summary>e^{x − shift} (y unused): softmax's numerator with the row maximum as the shift.</summary>
internal readonly struct ShiftedExpOperator<T>(T shift) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec x, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.Exp(TSimd.Subtract(x, TSimd.Broadcast(shift)));
}

/// <summary>x / d (y unused).</summary>
internal readonly struct DivideOperator<T>(T divisor) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec x, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.Divide(x, TSimd.Broadcast(divisor));
}
