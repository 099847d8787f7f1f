using System.Runtime.Intrinsics;
using FastBackprop.Kernels.Simd;

namespace FastBackprop.Tests;

/// <summary>The float exponential behind the sigmoid and tanh kernels, against Math.Exp in double:
/// within 2 ulp over the whole finite range, exactly 0 below ln(2⁻¹²⁶) and ∞ above ln(float.MaxValue),
/// for every register width (each lane of a register sees a different x).</summary>
public class FloatExpTests
{
    [Fact]
    public void Exp_is_within_two_ulp_everywhere()
    {
        var random = new Random(11);
        var xs = new List<float> { 0f, -0f, 1e-30f, -1e-30f, 0.5f, -0.5f, 1f, -1f, 88f, -87f, 88.72f, -87.33f };
        for (int i = 0; i < 20000; i++)
            xs.Add((float)(random.NextDouble() * 176 - 87.3));
        for (int i = 0; i < 2000; i++)
            xs.Add((float)(random.NextDouble() * 2 - 1) * 1e-3f);
        while (xs.Count % 16 != 0)
            xs.Add(0.25f);
        float[] x = xs.ToArray();
        foreach ((string width, float[] result) in Evaluate(x))
        {
            for (int i = 0; i < x.Length; i++)
            {
                double expected = Math.Exp(x[i]);
                double ulp = (double)MathF.BitIncrement((float)expected) - (float)expected;
                Assert.True(Math.Abs(result[i] - expected) <= 2 * ulp, $"{width}: exp({x[i]:R}) = {result[i]:R}, expected {expected:R}");
            }
        }
    }

    [Fact]
    public void Exp_saturates_to_zero_and_infinity_and_reaches_subnormals()
    {
        float[] x = [-104f, -1e4f, float.MinValue, -200f, 89f, 100f, 1e4f, float.MaxValue, -88f, -95f, -103f, 88.72f, 0, 0, 0, 0];
        foreach ((string width, float[] result) in Evaluate(x))
        {
            for (int i = 0; i < 4; i++)
                Assert.True(result[i] == 0, $"{width}: exp({x[i]}) = {result[i]}");
            for (int i = 4; i < 8; i++)
                Assert.True(float.IsPositiveInfinity(result[i]), $"{width}: exp({x[i]}) = {result[i]}");
            // Subnormal results: within two of the smallest subnormal steps (their ulp) of the true value.
            for (int i = 8; i < 11; i++)
                Assert.True(Math.Abs(result[i] - Math.Exp(x[i])) <= 2 * (double)float.Epsilon, $"{width}: exp({x[i]}) = {result[i]:R}, expected {Math.Exp(x[i]):R}");
            Assert.True(float.IsFinite(result[11]) && Math.Abs(result[11] / Math.Exp(x[11]) - 1) < 1e-6, $"{width}: exp(88.72) = {result[11]}");
        }
    }

    private static IEnumerable<(string, float[])> Evaluate(float[] x)
    {
        var r512 = new float[x.Length];
        var r256 = new float[x.Length];
        var r128 = new float[x.Length];
        for (int i = 0; i < x.Length; i += 16)
        {
            if (Vector512.IsHardwareAccelerated)
                FloatExp.Exp512(Vector512.Create(x.AsSpan(i, 16))).CopyTo(r512.AsSpan(i));
            for (int j = i; j < i + 16; j += 8)
                FloatExp.Exp256(Vector256.Create(x.AsSpan(j, 8))).CopyTo(r256.AsSpan(j));
            for (int j = i; j < i + 16; j += 4)
                FloatExp.Exp128(Vector128.Create(x.AsSpan(j, 4))).CopyTo(r128.AsSpan(j));
        }
        if (Vector512.IsHardwareAccelerated)
            yield return ("Vector512", r512);
        yield return ("Vector256", r256);
        yield return ("Vector128", r128);
    }
}
