using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastBackprop.Kernels.Simd;

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
