using System.Runtime.CompilerServices;
using System.Numerics;
using FastBackprop.Kernels.Simd;

namespace FastBackprop.Kernels.Elementwise;

// Forward operators take (z, z); derivative operators take (δ, a) and return δ ⊙ g'(a): every
// derivative in MATH.md can be written from the activation a = g(z), so Z never has to be kept.

/// <summary>g(z) = z (the forward identity; a fused epilogue with it only adds the bias).</summary>
internal readonly struct IdentityOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec z, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged => z;
}

/// <summary>g(z) = z for z &gt; 0, else 0 (so g(−0) = 0 and g'(0) = 0, as MATH.md's convention).</summary>
internal readonly struct ReluOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec z, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.SelectWherePositive(z, z, TSimd.Zero);
}

/// <summary>σ(z) = 1 / (1 + e^−z): for very negative z, e^−z overflows to ∞ and σ is exactly 0, never NaN.</summary>
internal readonly struct SigmoidOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static bool FitsInRegisters => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec z, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
    {
        TVec one = TSimd.Broadcast(T.One);
        return TSimd.Divide(one, TSimd.Add(one, TSimd.Exp(TSimd.Subtract(TSimd.Zero, z))));
    }
}

/// <summary>
/// tanh z = sign(z)·(1 − e^−2|z|)/(1 + e^−2|z|), saturating to ±1 without overflow. Below |z| = 1/8 the
/// subtraction 1 − e^−2|z| would cancel (an error of one rounding unit of 1, not of the value), so the odd
/// Taylor series takes over there: x − x³/3 + 2x⁵/15 − …, nine terms, whose first omitted term is below
/// 1e-19 of the value. The same lanes are computed in the GEMM epilogue and in the elementwise passes.
/// </summary>
internal readonly struct TanhOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static bool FitsInRegisters => false;

    private static T SmallMagnitude => T.CreateTruncating(0.125);
    private static T C8 => T.CreateTruncating(6404582.0 / 10854718875.0);
    private static T C7 => T.CreateTruncating(-929569.0 / 638512875.0);
    private static T C6 => T.CreateTruncating(21844.0 / 6081075.0);
    private static T C5 => T.CreateTruncating(-1382.0 / 155925.0);
    private static T C4 => T.CreateTruncating(62.0 / 2835.0);
    private static T C3 => T.CreateTruncating(-17.0 / 315.0);
    private static T C2 => T.CreateTruncating(2.0 / 15.0);
    private static T C1 => T.CreateTruncating(-1.0 / 3.0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec z, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
    {
        TVec magnitude = TSimd.Abs(z);
        TVec one = TSimd.Broadcast(T.One);
        TVec t = TSimd.Exp(TSimd.Subtract(TSimd.Zero, TSimd.Add(magnitude, magnitude)));
        TVec large = TSimd.CopySign(TSimd.Divide(TSimd.Subtract(one, t), TSimd.Add(one, t)), z);
        TVec z2 = TSimd.Multiply(z, z);
        TVec series = TSimd.MultiplyAdd(TSimd.Broadcast(C8), z2, TSimd.Broadcast(C7));
        series = TSimd.MultiplyAdd(series, z2, TSimd.Broadcast(C6));
        series = TSimd.MultiplyAdd(series, z2, TSimd.Broadcast(C5));
        series = TSimd.MultiplyAdd(series, z2, TSimd.Broadcast(C4));
        series = TSimd.MultiplyAdd(series, z2, TSimd.Broadcast(C3));
        series = TSimd.MultiplyAdd(series, z2, TSimd.Broadcast(C2));
        series = TSimd.MultiplyAdd(series, z2, TSimd.Broadcast(C1));
        TVec small = TSimd.MultiplyAdd(TSimd.Multiply(z, z2), series, z);
        return TSimd.SelectWhereLess(magnitude, TSimd.Broadcast(SmallMagnitude), small, large);
    }
}

/// <summary>g(z) = z for z &gt; 0, else αz.</summary>
internal readonly struct LeakyReluOperator<T>(T alpha) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec z, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.SelectWherePositive(z, z, TSimd.Multiply(z, TSimd.Broadcast(alpha)));
}

/// <summary>g(z) = 1 for z &gt; 0, else 0.</summary>
internal readonly struct StepOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec z, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.SelectWherePositive(z, TSimd.Broadcast(T.One), TSimd.Zero);
}

/// <summary>δ·a(1 − a), computed as δ·(a − a²).</summary>
internal readonly struct SigmoidDerivativeOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec delta, TVec a) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.Multiply(delta, TSimd.Subtract(a, TSimd.Multiply(a, a)));
}

/// <summary>δ·(1 − a²).</summary>
internal readonly struct TanhDerivativeOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec delta, TVec a) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.Multiply(delta, TSimd.Subtract(TSimd.Broadcast(T.One), TSimd.Multiply(a, a)));
}

/// <summary>δ where a &gt; 0, else 0 (ReLU; a &gt; 0 exactly when z &gt; 0).</summary>
internal readonly struct ReluDerivativeOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec delta, TVec a) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.SelectWherePositive(a, delta, TSimd.Zero);
}

/// <summary>δ where a &gt; 0, else αδ (leaky ReLU with α &gt; 0, so a &gt; 0 exactly when z &gt; 0).</summary>
internal readonly struct LeakyReluDerivativeOperator<T>(T alpha) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec delta, TVec a) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.SelectWherePositive(a, delta, TSimd.Multiply(delta, TSimd.Broadcast(alpha)));
}

/// <summary>SiLU: g(z) = z·σ(z) = z / (1 + e^−z); for very negative z, e^−z overflows to ∞ and g is −0, never NaN.</summary>
internal readonly struct SiluOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static bool FitsInRegisters => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec z, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.Divide(z, TSimd.Add(TSimd.Broadcast(T.One), TSimd.Exp(TSimd.Subtract(TSimd.Zero, z))));
}

/// <summary>δ·σ(z)(1 + z(1 − σ(z))), from the pre-activation z (SiLU's derivative is not a function of a).</summary>
internal readonly struct SiluDerivativeOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static bool FitsInRegisters => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Invoke<TSimd, TVec>(TVec delta, TVec z) where TSimd : ISimd<T, TVec> where TVec : unmanaged
    {
        TVec one = TSimd.Broadcast(T.One);
        TVec sigma = TSimd.Divide(one, TSimd.Add(one, TSimd.Exp(TSimd.Subtract(TSimd.Zero, z))));
        return TSimd.Multiply(delta, TSimd.Multiply(sigma, TSimd.MultiplyAdd(z, TSimd.Subtract(one, sigma), one)));
    }
}
