using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FastBackprop.Hardware;

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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Sqrt(Vector512<T> x) => Vector512.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Max(Vector512<T> a, Vector512<T> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Abs(Vector512<T> a) => Vector512.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> CopySign(Vector512<T> magnitude, Vector512<T> sign)
        => Vector512.ConditionalSelect(Vector512.Create(T.NegativeZero), sign, magnitude);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> x)
    {
        if (typeof(T) == typeof(float))
            return FloatExp.Exp512(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector512<T> x) => Vector512.Sum(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> FoldTo128(Vector512<T> x)
    {
        Vector256<T> half = x.GetLower() + x.GetUpper();
        return half.GetLower() + half.GetUpper();
    }
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Sqrt(Vector256<T> x) => Vector256.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Max(Vector256<T> a, Vector256<T> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Abs(Vector256<T> a) => Vector256.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> CopySign(Vector256<T> magnitude, Vector256<T> sign)
        => Vector256.ConditionalSelect(Vector256.Create(T.NegativeZero), sign, magnitude);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp(Vector256<T> x)
    {
        if (typeof(T) == typeof(float))
            return FloatExp.Exp256(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector256.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector256<T> x) => Vector256.Sum(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> FoldTo128(Vector256<T> x) => x.GetLower() + x.GetUpper();
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Sqrt(Vector128<T> x) => Vector128.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Max(Vector128<T> a, Vector128<T> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Abs(Vector128<T> a) => Vector128.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> CopySign(Vector128<T> magnitude, Vector128<T> sign)
        => Vector128.ConditionalSelect(Vector128.Create(T.NegativeZero), sign, magnitude);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Exp(Vector128<T> x)
    {
        if (typeof(T) == typeof(float))
            return FloatExp.Exp128(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector128.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector128<T> x) => Vector128.Sum(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> FoldTo128(Vector128<T> x) => x;
}

/// <summary>
/// One lane, so a sweep written against <see cref="ISimd{T, TVec}"/> runs its ragged tail (and all of it for element types
/// no register holds, such as Half) with the operations of its vector body. Add, Subtract, Multiply, Divide and Sqrt each
/// round once as IEEE 754 requires, so they give the bits every vector width gives (Max, Abs, CopySign and the selects
/// do not round at all). Two members do not: <see cref="MultiplyAdd"/> is a multiply then an add (two roundings) where the vector
/// widths fuse them (one rounding) on hardware with FMA, and <see cref="Exp"/> is the runtime's scalar e^x rather than
/// <see cref="FloatExp"/>. A sweep whose tail must match its body bit for bit (the optimizers) uses neither.
/// </summary>
internal unsafe struct SimdScalar<T> : ISimd<T, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Count => 1;
    public static T Zero => T.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Load(T* source) => *source;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T* destination, T value) => *destination = value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Broadcast(T value) => value;
    /// <summary>a·b + c unfused: a multiply and an add, each rounded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T MultiplyAdd(T a, T b, T c) => a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Multiply(T a, T b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Add(T a, T b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Subtract(T a, T b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SelectWherePositive(T condition, T whenPositive, T otherwise) => condition > T.Zero ? whenPositive : otherwise;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SelectWhereLess(T left, T right, T whenLess, T otherwise) => left < right ? whenLess : otherwise;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Divide(T a, T b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sqrt(T x) => T.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Max(T a, T b) => T.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Abs(T a) => T.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T CopySign(T magnitude, T sign) => T.CopySign(magnitude, sign);
    /// <summary>The runtime's scalar e^x: within about 1 ulp like the vector widths', but not their bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Exp(T x) => T.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(T x) => x;
    /// <summary>x in lane 0 and zeros above, so summing the lanes gives x back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> FoldTo128(T x) => Vector128.CreateScalar(x);
}

/// <summary>
/// e^x for float registers without widening to double (the runtime's Vector512.Exp(float) computes in double,
/// several times slower — and sigmoid/tanh epilogues spend most of their time in it). Cody–Waite reduction
/// x = n·ln 2 + r, |r| ≤ ½ln 2, then Taylor to r⁷ (the first omitted term is below 3e-9 of the value, under
/// float's 6e-8) and 2^n built in the exponent bits. Inputs below −103.97 give 0, above 88.72 ∞.
/// Written once per register width on purpose: building 2^n needs integer lanes (conversion, shifts, adds on int32),
/// which <see cref="ISimd{T, TVec}"/> — lanes of T only — does not describe, and a second integer abstraction for one
/// function would cost more reading than the three copies.
/// </summary>
internal static class FloatExp
{
    private const float MinInput = -103.972084f; // ln(2⁻¹⁴⁹), the smallest subnormal: below, e^x rounds to 0
    private const float MaxInput = 88.72283f;    // ln(float.MaxValue)
    private const float Log2E = 1.44269504f;
    private const float Ln2High = 0.693359375f;  // ln 2 split so n·Ln2High is exact for |n| ≤ 2⁸
    private const float Ln2Low = -2.12194440e-4f;
    private const float C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp512(Vector512<float> x)
    {
        Vector512<float> clamped = Vector512.Min(Vector512.Max(x, Vector512.Create(MinInput)), Vector512.Create(MaxInput));
        Vector512<float> n = Vector512.Round(clamped * Vector512.Create(Log2E));
        Vector512<float> r = Vector512.MultiplyAddEstimate(n, Vector512.Create(-Ln2High), clamped);
        r = Vector512.MultiplyAddEstimate(n, Vector512.Create(-Ln2Low), r);
        Vector512<float> p = Vector512.Create(C7);
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(C6));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(C5));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(C4));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(C3));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512.Create(0.5f));
        p = Vector512.MultiplyAddEstimate(p, r, Vector512<float>.One);
        p = Vector512.MultiplyAddEstimate(p, r, Vector512<float>.One);
        // 2^n as two normal powers of two built in the exponent field (n ∈ [−150, 128] after the clamp), so
        // 2^128 does not overflow early and results below 2⁻¹²⁶ round once into a subnormal.
        Vector512<int> ni = Vector512.ConvertToInt32(n);
        Vector512<int> half = Vector512.ShiftRightArithmetic(ni, 1);
        Vector512<float> first = Vector512.ShiftLeft(half + Vector512.Create(127), 23).AsSingle();
        Vector512<float> second = Vector512.ShiftLeft(ni - half + Vector512.Create(127), 23).AsSingle();
        Vector512<float> result = p * first * second;
        result = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(MinInput)), Vector512<float>.Zero, result);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(MaxInput)), Vector512.Create(float.PositiveInfinity), result);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp256(Vector256<float> x)
    {
        Vector256<float> clamped = Vector256.Min(Vector256.Max(x, Vector256.Create(MinInput)), Vector256.Create(MaxInput));
        Vector256<float> n = Vector256.Round(clamped * Vector256.Create(Log2E));
        Vector256<float> r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2High), clamped);
        r = Vector256.MultiplyAddEstimate(n, Vector256.Create(-Ln2Low), r);
        Vector256<float> p = Vector256.Create(C7);
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(C6));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(C5));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(C4));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(C3));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256.Create(0.5f));
        p = Vector256.MultiplyAddEstimate(p, r, Vector256<float>.One);
        p = Vector256.MultiplyAddEstimate(p, r, Vector256<float>.One);
        // 2^n as two normal powers of two built in the exponent field (n ∈ [−150, 128] after the clamp), so
        // 2^128 does not overflow early and results below 2⁻¹²⁶ round once into a subnormal.
        Vector256<int> ni = Vector256.ConvertToInt32(n);
        Vector256<int> half = Vector256.ShiftRightArithmetic(ni, 1);
        Vector256<float> first = Vector256.ShiftLeft(half + Vector256.Create(127), 23).AsSingle();
        Vector256<float> second = Vector256.ShiftLeft(ni - half + Vector256.Create(127), 23).AsSingle();
        Vector256<float> result = p * first * second;
        result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(MinInput)), Vector256<float>.Zero, result);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(MaxInput)), Vector256.Create(float.PositiveInfinity), result);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp128(Vector128<float> x)
    {
        Vector128<float> clamped = Vector128.Min(Vector128.Max(x, Vector128.Create(MinInput)), Vector128.Create(MaxInput));
        Vector128<float> n = Vector128.Round(clamped * Vector128.Create(Log2E));
        Vector128<float> r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2High), clamped);
        r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2Low), r);
        Vector128<float> p = Vector128.Create(C7);
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(C6));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(C5));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(C4));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(C3));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(0.5f));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128<float>.One);
        p = Vector128.MultiplyAddEstimate(p, r, Vector128<float>.One);
        // 2^n as two normal powers of two built in the exponent field (n ∈ [−150, 128] after the clamp), so
        // 2^128 does not overflow early and results below 2⁻¹²⁶ round once into a subnormal.
        Vector128<int> ni = Vector128.ConvertToInt32(n);
        Vector128<int> half = Vector128.ShiftRightArithmetic(ni, 1);
        Vector128<float> first = Vector128.ShiftLeft(half + Vector128.Create(127), 23).AsSingle();
        Vector128<float> second = Vector128.ShiftLeft(ni - half + Vector128.Create(127), 23).AsSingle();
        Vector128<float> result = p * first * second;
        result = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(MinInput)), Vector128<float>.Zero, result);
        return Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128.Create(MaxInput)), Vector128.Create(float.PositiveInfinity), result);
    }
}

/// <summary>A piece of work written once for every register width: <see cref="VectorDispatch{T}"/> runs it with the
/// width the <see cref="KernelConfiguration"/> chose. A struct carrying its arguments, so the call is specialised and
/// inlined.</summary>
internal interface IVectorWork<T> where T : unmanaged
{
    void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged;
}

/// <summary>The one place that maps the configured instruction set to a register type (the GEMM driver maps it to
/// micro-kernels the same way, from the same configuration). Element types no register holds (Half) get
/// <see cref="SimdScalar{T}"/>, one lane at a time.</summary>
internal static class VectorDispatch<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TWork>(ref TWork work) where TWork : struct, IVectorWork<T>
    {
        if (!Vector128<T>.IsSupported)
        {
            work.Run<SimdScalar<T>, T>();
            return;
        }
        switch (KernelConfiguration.Active.InstructionSet)
        {
            case InstructionSet.Avx512:
                work.Run<Simd512<T>, Vector512<T>>();
                break;
            case InstructionSet.Avx2:
                work.Run<Simd256<T>, Vector256<T>>();
                break;
            default:
                work.Run<Simd128<T>, Vector128<T>>();
                break;
        }
    }
}
