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
}
