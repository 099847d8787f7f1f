using System.Numerics;
using System.Runtime.CompilerServices;

namespace FastBackprop.Kernels.Int8;

/// <summary>
/// The int8 quantization scheme of <see cref="QuantizedNetwork"/>, chosen so that no instruction on any path can
/// saturate or overflow, whatever the weights and inputs.
/// <para><b>Weights</b>: symmetric int8 per output channel (unit) j: s_j = max_k |W_jk| / 127 and
/// q_jk = round(W_jk / s_j) ∈ [−127, 127] (−128 is never used, so the range is symmetric). Every scale is positive (what a
/// model file and ONNX's DequantizeLinear require): a channel of zeros, or of weights so small that max/127 underflows, has
/// the smallest positive float, <see cref="MinWeightScale"/>, and its products stay exactly what they were.</para>
/// <para><b>Activations</b>: asymmetric 7-bit per row (per sample), at run time: lo = min_k x_k, hi = max_k x_k,
/// s = (hi − lo) / 127 and u_k = round((x_k − lo) · 127 / (hi − lo)) ∈ [0, 127] (clamped, so even a rounding up or a
/// non-finite value stays in range), so x_k ≈ lo + s·u_k with |x_k − (lo + s·u_k)| ≤ s/2. A row's scale depends on that
/// row alone: a sample's answer does not depend on the other rows of its batch.</para>
/// <para><b>Dot products</b>: Σ_k x_k·W_jk ≈ s_j·(s·acc_j + lo·c_j), where acc_j = Σ_k u_k·q_jk is computed exactly in
/// int32 and c_j = Σ_k q_jk is the weight column's sum, precomputed (the zero-point correction, in floating point so lo
/// need not be rounded to an integer). The epilogue computes, in this order and in every path alike (no fused
/// multiply-add, so the bits are the same on every instruction set): y_j = (((float)acc_j · s) + (lo · c_j)) · s_j + b_j,
/// then the activation, then (when the next layer is int8) the next layer's row quantization.</para>
/// <para><b>Why nothing saturates</b> (u ≤ 127, |q| ≤ 127):
/// <list type="bullet">
/// <item>vpmaddubsw (AVX2, AVX-512BW) adds two u8×s8 products into a saturating int16:
/// |u₀q₀ + u₁q₁| ≤ 2·127·127 = 32,258 &lt; 32,767. (With 8-bit activations, 2·255·127 = 64,770 would saturate.)</item>
/// <item>vpmaddwd with ones adds two such int16 into int32: ≤ 64,516. vpdpbusd (AVX-VNNI) and SDOT (Arm64 Dp, where u ≤ 127
/// is also a valid signed byte) add four products straight into int32 and never saturate (vpdpbusd, not vpdpbusds).</item>
/// <item>The int32 accumulator: |acc_j| ≤ 127²·K, below 2³¹ − 1 for K ≤ <see cref="MaxDepth"/> = 2¹⁷ (127²·2¹⁷ =
/// 2,114,060,288). At that depth |c_j| ≤ 127·2¹⁷ &lt; 2²⁴, so c_j is exact as a float.</item>
/// </list></para>
/// <para>The alternative that also never saturates, 8-bit activations (0..255) with 7-bit weights (±63,
/// 2·255·63 = 32,130), loses more: on the embedded digits' held-out 20% (64 ReLU units, the CLI's training), 7-bit
/// activations with 8-bit weights moved the probabilities by 9.7·10⁻⁵ on average (1.6·10⁻⁴ with the output layer at int8)
/// and changed no prediction; 8-bit activations with 7-bit weights moved them by 1.8·10⁻⁴ (2.9·10⁻⁴) and changed one. The
/// weights' resolution matters more than the activations', and 8-bit activations would not fit Arm64's SDOT, which
/// multiplies signed bytes.</para>
/// </summary>
internal static class Int8Scheme
{
    /// <summary>The largest activation code (7 bits).</summary>
    public const int ActivationLevels = 127;

    /// <summary>The largest weight magnitude (symmetric int8 without −128).</summary>
    public const int WeightLevels = 127;

    /// <summary>The smallest weight scale s_j: the smallest positive float (see the type's comment).</summary>
    public const float MinWeightScale = float.Epsilon;

    /// <summary>The largest weight scale a model file holds: 2¹²⁰·(2 − 2⁻²³), float.MaxValue/128 exactly, so s_j·127, the
    /// largest weight it stands for, stays below float.MaxValue however it is rounded.</summary>
    public const float MaxWeightScale = float.MaxValue / 128;

    /// <summary>The most inputs a quantized layer may have: 127²·K fits int32 and 127·K is exact in a float.</summary>
    public const int MaxDepth = 1 << 17;

    /// <summary>K rounded up to whole groups of four bytes (what vpdpbusd and SDOT consume per int32 lane); the padding of
    /// the packed weights is zero, so whatever the activation rows hold there adds nothing.</summary>
    public static int PaddedDepth(int k) => (k + 3) & ~3;

    /// <summary>Quantizes one output channel: returns its scale s_j and writes q_jk = round(W_jk / s_j) and their sum c_j.</summary>
    public static float QuantizeChannel(ReadOnlySpan<float> weights, Span<sbyte> codes, out int sum)
    {
        float largest = 0;
        foreach (float w in weights)
            largest = MathF.Max(largest, MathF.Abs(w));
        sum = 0;
        if (largest == 0)
        {
            codes.Clear();
            return MinWeightScale;
        }
        // In double, so a denormal largest weight does not overflow the inverse.
        double inverse = WeightLevels / (double)largest;
        for (int k = 0; k < weights.Length; k++)
        {
            int q = Math.Clamp((int)Math.Round(weights[k] * inverse), -WeightLevels, WeightLevels);
            codes[k] = (sbyte)q;
            sum += q;
        }
        return MathF.Max(largest / WeightLevels, MinWeightScale);
    }

    /// <summary>Quantizes one row of activations into 7-bit codes (see the type's comment): returns (lo, s). One pass for
    /// the range, one for the codes, both vectorised; min and max are exact in any order and every code is computed by the
    /// same lane-wise operations as the scalar tail, so the result does not depend on the register width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe (float Low, float Scale) QuantizeRow(float* x, int n, byte* codes)
    {
        (float lo, float hi) = Range(x, n);
        // −0 and +0 are equal as a minimum or maximum (the vector min/max may return either) but not in lo·c_j or s;
        // adding +0 turns −0 into +0.
        lo += 0f;
        hi += 0f;
        float span = hi - lo;
        // Below 127/float.MaxValue the inverse would overflow; such a row is constant to within 4·10⁻³⁷ and codes as all 0.
        float scale = span / ActivationLevels, inverse = span >= ActivationLevels / float.MaxValue ? ActivationLevels / span : 0f;
        int k = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int step = 4 * Vector<float>.Count;
            var low = new Vector<float>(lo);
            var factor = new Vector<float>(inverse);
            for (; k + step <= n; k += step)
            {
                Vector<int> q0 = Code(Vector.Load(x + k), low, factor);
                Vector<int> q1 = Code(Vector.Load(x + k + Vector<float>.Count), low, factor);
                Vector<int> q2 = Code(Vector.Load(x + k + 2 * Vector<float>.Count), low, factor);
                Vector<int> q3 = Code(Vector.Load(x + k + 3 * Vector<float>.Count), low, factor);
                Vector<short> h0 = Vector.Narrow(q0, q1), h1 = Vector.Narrow(q2, q3);
                Vector.Narrow(Vector.AsVectorUInt16(h0), Vector.AsVectorUInt16(h1)).Store(codes + k);
            }
        }
        for (; k < n; k++)
            codes[k] = (byte)Code(x[k], lo, inverse);
        return (lo, scale);
    }

    /// <summary>round((x − lo)·inverse) clamped to [0, 127], with the native conversion, min and max (one instruction
    /// each, where the IEEE forms add several to order NaN and ±0). For finite rows the rounded value is already in
    /// [0, 127]; in a row that overflowed, inverse = 0 and x − lo = ∞ give NaN, which converts to int.MinValue (x86) or 0
    /// and clamps to 0, as the scalar twin's conversion gives 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> Code(Vector<float> x, Vector<float> lo, Vector<float> inverse)
    {
        Vector<int> q = Vector.ConvertToInt32Native(Vector.Round((x - lo) * inverse));
        return Vector.MinNative(Vector.MaxNative(q, Vector<int>.Zero), new Vector<int>(ActivationLevels));
    }

    /// <summary>The scalar twin of the vector <see cref="Code(Vector{float}, Vector{float}, Vector{float})"/>: the same
    /// operations in the same order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Code(float x, float lo, float inverse)
        => Math.Clamp((int)MathF.Round((x - lo) * inverse), 0, ActivationLevels);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe (float Low, float High) Range(float* x, int n)
    {
        float lo = x[0], hi = x[0];
        int k = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            Vector<float> vlo = Vector.Load(x), vhi = vlo;
            for (k = Vector<float>.Count; k + Vector<float>.Count <= n; k += Vector<float>.Count)
            {
                Vector<float> v = Vector.Load(x + k);
                vlo = Vector.MinNative(vlo, v);
                vhi = Vector.MaxNative(vhi, v);
            }
            for (int t = 0; t < Vector<float>.Count; t++)
            {
                lo = MathF.Min(lo, vlo[t]);
                hi = MathF.Max(hi, vhi[t]);
            }
        }
        for (; k < n; k++)
        {
            lo = MathF.Min(lo, x[k]);
            hi = MathF.Max(hi, x[k]);
        }
        return (lo, hi);
    }
}
