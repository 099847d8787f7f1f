using System.Numerics;
using FastBackprop.Kernels.Simd;

namespace FastBackprop.Kernels.Elementwise;

// Forward operators take (z, z); derivative operators take (δ, a) and return δ ⊙ g'(a): every
// derivative in MATH.md can be written from the activation a = g(z), so Z never has to be kept.

/// <summary>g(z) = z for z &gt; 0, else αz.</summary>
internal readonly struct LeakyReluOperator<T>(T alpha) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Invoke(T z, T unused) => z > T.Zero ? z : alpha * z;
    public TVec Invoke<TSimd, TVec>(TVec z, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.SelectWherePositive(z, z, TSimd.Multiply(z, TSimd.Broadcast(alpha)));
}

/// <summary>g(z) = 1 for z &gt; 0, else 0.</summary>
internal readonly struct StepOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Invoke(T z, T unused) => z > T.Zero ? T.One : T.Zero;
    public TVec Invoke<TSimd, TVec>(TVec z, TVec unused) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.SelectWherePositive(z, TSimd.Broadcast(T.One), TSimd.Zero);
}

/// <summary>δ·a(1 − a), computed as δ·(a − a²).</summary>
internal readonly struct SigmoidDerivativeOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Invoke(T delta, T a) => delta * (a - a * a);
    public TVec Invoke<TSimd, TVec>(TVec delta, TVec a) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.Multiply(delta, TSimd.Subtract(a, TSimd.Multiply(a, a)));
}

/// <summary>δ·(1 − a²).</summary>
internal readonly struct TanhDerivativeOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Invoke(T delta, T a) => delta * (T.One - a * a);
    public TVec Invoke<TSimd, TVec>(TVec delta, TVec a) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.Multiply(delta, TSimd.Subtract(TSimd.Broadcast(T.One), TSimd.Multiply(a, a)));
}

/// <summary>δ where a &gt; 0, else 0 (ReLU; a &gt; 0 exactly when z &gt; 0).</summary>
internal readonly struct ReluDerivativeOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Invoke(T delta, T a) => a > T.Zero ? delta : T.Zero;
    public TVec Invoke<TSimd, TVec>(TVec delta, TVec a) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.SelectWherePositive(a, delta, TSimd.Zero);
}

/// <summary>δ where a &gt; 0, else αδ (leaky ReLU with α &gt; 0, so a &gt; 0 exactly when z &gt; 0).</summary>
internal readonly struct LeakyReluDerivativeOperator<T>(T alpha) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public T Invoke(T delta, T a) => a > T.Zero ? delta : alpha * delta;
    public TVec Invoke<TSimd, TVec>(TVec delta, TVec a) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => TSimd.SelectWherePositive(a, delta, TSimd.Multiply(delta, TSimd.Broadcast(alpha)));
}
