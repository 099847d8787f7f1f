using System.Numerics;
using System.Runtime.CompilerServices;
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
    static abstract TVec Max(TVec a, TVec b);
    static abstract TVec Abs(TVec a);
    /// <summary>The magnitude of <paramref name="magnitude"/> with the sign bit of <paramref name="sign"/>.</summary>
    static abstract TVec CopySign(TVec magnitude, TVec sign);
    /// <summary>e^x lane-wise (the runtime's vectorised Exp: about 1 ulp; overflow gives ∞, underflow 0).</summary>
    static abstract TVec Exp(TVec x);
    /// <summary>Sum of all lanes (in a fixed order).</summary>
    static abstract T Sum(TVec x);
}

internal unsafe struct Simd512<T> : ISimd<T, Vector512<T>>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Count => Vector512<T>.Count;
    public static Vector512<T> Zero => Vector512<T>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(T* source) => Vector512.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T* destination, Vector512<T> value) => value.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Broadcast(T value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MultiplyAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector512.MultiplyAddEstimate(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.MultiplyAddEstimate(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        return a * b + c;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Multiply(Vector512<T> a, Vector512<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Subtract(Vector512<T> a, Vector512<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> SelectWherePositive(Vector512<T> condition, Vector512<T> whenPositive, Vector512<T> otherwise)
        => Vector512.ConditionalSelect(Vector512.GreaterThan(condition, Vector512<T>.Zero), whenPositive, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> SelectWhereLess(Vector512<T> left, Vector512<T> right, Vector512<T> whenLess, Vector512<T> otherwise)
        => Vector512.ConditionalSelect(Vector512.LessThan(left, right), whenLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Divide(Vector512<T> a, Vector512<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Max(Vector512<T> a, Vector512<T> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Abs(Vector512<T> a) => Vector512.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> CopySign(Vector512<T> magnitude, Vector512<T> sign)
        => Vector512.ConditionalSelect(Vector512.Create(T.NegativeZero), sign, magnitude);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> x)
    {
        if (typeof(T) == typeof(float))
            return Vector512.Exp(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector512<T> x) => Vector512.Sum(x);
}

internal unsafe struct Simd256<T> : ISimd<T, Vector256<T>>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Count => Vector256<T>.Count;
    public static Vector256<T> Zero => Vector256<T>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(T* source) => Vector256.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T* destination, Vector256<T> value) => value.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Broadcast(T value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MultiplyAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector256.MultiplyAddEstimate(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector256.MultiplyAddEstimate(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        return a * b + c;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Multiply(Vector256<T> a, Vector256<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Subtract(Vector256<T> a, Vector256<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> SelectWherePositive(Vector256<T> condition, Vector256<T> whenPositive, Vector256<T> otherwise)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(condition, Vector256<T>.Zero), whenPositive, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> SelectWhereLess(Vector256<T> left, Vector256<T> right, Vector256<T> whenLess, Vector256<T> otherwise)
        => Vector256.ConditionalSelect(Vector256.LessThan(left, right), whenLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Divide(Vector256<T> a, Vector256<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Max(Vector256<T> a, Vector256<T> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Abs(Vector256<T> a) => Vector256.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> CopySign(Vector256<T> magnitude, Vector256<T> sign)
        => Vector256.ConditionalSelect(Vector256.Create(T.NegativeZero), sign, magnitude);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp(Vector256<T> x)
    {
        if (typeof(T) == typeof(float))
            return Vector256.Exp(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector256.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector256<T> x) => Vector256.Sum(x);
}

internal unsafe struct Simd128<T> : ISimd<T, Vector128<T>>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Count => Vector128<T>.Count;
    public static Vector128<T> Zero => Vector128<T>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Load(T* source) => Vector128.Load(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T* destination, Vector128<T> value) => value.Store(destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Broadcast(T value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MultiplyAdd(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector128.MultiplyAddEstimate(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector128.MultiplyAddEstimate(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        return a * b + c;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Multiply(Vector128<T> a, Vector128<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Add(Vector128<T> a, Vector128<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Subtract(Vector128<T> a, Vector128<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> SelectWherePositive(Vector128<T> condition, Vector128<T> whenPositive, Vector128<T> otherwise)
        => Vector128.ConditionalSelect(Vector128.GreaterThan(condition, Vector128<T>.Zero), whenPositive, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> SelectWhereLess(Vector128<T> left, Vector128<T> right, Vector128<T> whenLess, Vector128<T> otherwise)
        => Vector128.ConditionalSelect(Vector128.LessThan(left, right), whenLess, otherwise);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Divide(Vector128<T> a, Vector128<T> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Max(Vector128<T> a, Vector128<T> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Abs(Vector128<T> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> CopySign(Vector128<T> magnitude, Vector128<T> sign)
        => Vector128.ConditionalSelect(Vector128.Create(T.NegativeZero), sign, magnitude);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Exp(Vector128<T> x)
    {
        if (typeof(T) == typeof(float))
            return Vector128.Exp(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector128.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector128<T> x) => Vector128.Sum(x);
}
