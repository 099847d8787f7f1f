using System.Runtime.Intrinsics;

namespace FastBackprop.Kernels.Simd;

/// <summary>
/// One SIMD register width, seen through static abstract members so a kernel written once
/// (generic over <typeparamref name="TVec"/>) is specialised by the JIT for Vector512, Vector256
/// and Vector128 with every call inlined — the TensorPrimitives operator pattern applied to the
/// register type itself.
/// </summary>
internal unsafe interface ISimd<T, TVec>
    where T : unmanaged
    where TVec : unmanaged
{
    /// <summary>Elements per register.</summary>
    static abstract int Count { get; }
    static abstract TVec Zero { get; }
    static abstract TVec Load(T* source);
    static abstract void Store(T* destination, TVec value);
    static abstract TVec Broadcast(T value);
    /// <summary>a·b + c, fused where the hardware has FMA, otherwise a multiply and an add
    /// (never a slow software FMA: the Vector128 fallback path must stay fast).</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);
    static abstract TVec Multiply(TVec a, TVec b);
    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);
    /// <summary>Lane-wise <c>condition &gt; 0 ? whenPositive : otherwise</c>.</summary>
    static abstract TVec SelectWherePositive(TVec condition, TVec whenPositive, TVec otherwise);
    /// <summary>Lane-wise <c>left &lt; right ? whenLess : otherwise</c>.</summary>
    static abstract TVec SelectWhereLess(TVec left, TVec right, TVec whenLess, TVec otherwise);
    static abstract TVec Divide(TVec a, TVec b);
    /// <summary>√x lane-wise, correctly rounded (IEEE 754), so every width gives the same bits.</summary>
    static abstract TVec Sqrt(TVec x);
    static abstract TVec Max(TVec a, TVec b);
    static abstract TVec Abs(TVec a);
    /// <summary>The magnitude of <paramref name="magnitude"/> with the sign bit of <paramref name="sign"/>.</summary>
    static abstract TVec CopySign(TVec magnitude, TVec sign);
    /// <summary>e^x lane-wise, about 1 ulp; overflow gives ∞, underflow 0 (float: <see cref="FloatExp"/>;
    /// double: the runtime's vectorised Exp).</summary>
    static abstract TVec Exp(TVec x);
    /// <summary>Sum of all lanes (in a fixed order).</summary>
    static abstract T Sum(TVec x);
    /// <summary>The register folded to 128 bits by adding its halves (lane i + lane i + Count/2, repeatedly): the first
    /// step of a reduction that several registers finish together.</summary>
    static abstract Vector128<T> FoldTo128(TVec x);
}
