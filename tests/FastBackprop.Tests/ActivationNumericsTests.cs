using System.Numerics;
using FastBackprop.Tests.Reference;
using FastBackprop.Primitives;

namespace FastBackprop.Tests;

/// <summary>
/// Extreme logits: sigmoid and softmax never overflow or produce NaN for |z| up to 1e4, cross-entropies
/// computed from the logits stay finite when the outputs saturate to exactly 0 or 1 (no log 0), and the
/// backward pass through saturated units gives zeros, not NaN.
/// </summary>
public class ActivationNumericsTests
{
    private static readonly double[] Extremes =
        [-1e4, -5000, -1000, -745, -709, -104, -100, -88.7, -87, -50, -20, -1, -1e-3, -1e-30, 0,
         1e-30, 1e-3, 1, 20, 50, 87, 88.7, 100, 104, 709, 745, 1000, 5000, 1e4];

    private static double[] Logits(int seed)
    {
        var random = new Random(seed);
        return Extremes.Concat(Enumerable.Range(0, 67).Select(_ => (2 * random.NextDouble() - 1) * Math.Pow(10, 4 * random.NextDouble()))).ToArray();
    }

    /// <summary>z → g(z) through the public forward kernel with Z = z exactly, laid out as one wide row
    /// (input 0, weights 1, biases z: the vectorised path) or as one column (input z, weight 1, bias 0: one
    /// value per row, the scalar remainder path).</summary>
    private static T[] Apply<T>(Activation g, double[] z, bool asRow = true) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T[] values = z.Select(v => T.CreateTruncating(v)).ToArray();
        var output = new T[z.Length];
        if (asRow)
            DenseLayerKernels.Forward<T>(output, [], [T.Zero], Enumerable.Repeat(T.One, z.Length).ToArray(), values, 1, 1, z.Length, g);
        else
            DenseLayerKernels.Forward<T>(output, [], values, [T.One], [T.Zero], z.Length, 1, 1, g);
        return output;
    }

    [Fact]
    public void Sigmoid_is_finite_bounded_monotone_and_accurate_float() => Sigmoid<float>();

    [Fact]
    public void Sigmoid_is_finite_bounded_monotone_and_accurate_double() => Sigmoid<double>();

    private static void Sigmoid<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double[] z = Logits(1).Select(v => double.CreateChecked(T.CreateTruncating(v))).Order().ToArray();
        foreach (bool asRow in new[] { true, false })
            Sigmoid<T>(z, Apply<T>(Activation.Sigmoid, z, asRow));
    }

    private static void Sigmoid<T>(double[] z, T[] a) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double u = ErrorBounds.UnitRoundoff<T>();
        double minNormal = typeof(T) == typeof(float) ? 1.1754943508222875e-38 : 2.2250738585072014e-308;
        for (int i = 0; i < z.Length; i++)
        {
            double value = double.CreateChecked(a[i]);
            Assert.True(double.IsFinite(value), $"σ({z[i]}) = {value}");
            Assert.InRange(value, 0, 1);
            if (i > 0)
                Assert.True(value >= double.CreateChecked(a[i - 1]), $"σ not monotone at z = {z[i]}");
            double expected = ReferenceActivation.Apply(Activation.Sigmoid, z[i]);
            // A few ulp relative; results below the normal range (subnormal or flushed) only absolutely.
            Close.Within(value, expected, ErrorBounds.TranscendentalUlps * u * expected + (expected < minNormal ? minNormal : 0), $"σ({z[i]})");
        }
        Assert.Equal(1.0, double.CreateChecked(a[^1]));      // σ(1e4)
        Assert.Equal(0.0, double.CreateChecked(a[0]));       // σ(−1e4)
    }

    [Fact]
    public void Tanh_is_finite_and_saturates_float() => TanhSaturates<float>();

    [Fact]
    public void Tanh_is_finite_and_saturates_double() => TanhSaturates<double>();

    private static void TanhSaturates<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double[] z = Logits(2);
        foreach (bool asRow in new[] { true, false })
            TanhSaturates(z, Apply<T>(Activation.Tanh, z, asRow));
    }

    private static void TanhSaturates<T>(double[] z, T[] a) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < z.Length; i++)
        {
            double value = double.CreateChecked(a[i]);
            Assert.True(double.IsFinite(value), $"tanh({z[i]}) = {value}");
            Assert.InRange(value, -1, 1);
            if (Math.Abs(z[i]) >= 20)
                Assert.Equal((double)Math.Sign(z[i]), value);
        }
    }

    /// <summary>
    /// tanh(z) ≈ z near 0, so a few ulp relative is what a float/double tanh should give (MathF.Tanh does). The
    /// library's own tanh takes its odd Taylor series below |z| = 1/8 for this (1 − e^−2|z| cancels there: float
    /// tanh(1e-6) computed that way is 9.536752e-7, 4.6% low).
    /// </summary>
    [Fact]
    public void Tanh_is_accurate_relative_to_its_value_near_zero()
    {
        var failures = new List<string>();
        foreach (double z in new[] { 1e-6, 1e-4, 0.006, -0.01 })
        {
            // A row of 32 equal logits: the vectorised path, as in any layer wider than a register.
            double[] row = Enumerable.Repeat(z, 32).ToArray();
            float f = Apply<float>(Activation.Tanh, row)[0];
            double d = Apply<double>(Activation.Tanh, row)[0];
            double expectedF = Math.Tanh((float)z), expectedD = Math.Tanh(z);
            double ulpsF = Math.Abs(f - expectedF) / (ErrorBounds.UnitRoundoff<float>() * Math.Abs(expectedF));
            double ulpsD = Math.Abs(d - expectedD) / (ErrorBounds.UnitRoundoff<double>() * Math.Abs(expectedD));
            if (ulpsF > ErrorBounds.TranscendentalUlps)
                failures.Add($"float tanh({(float)z:R}) = {f:R}, expected {expectedF:R} ({ulpsF:G3} u relative)");
            if (ulpsD > ErrorBounds.TranscendentalUlps)
                failures.Add($"double tanh({z:R}) = {d:R}, expected {expectedD:R} ({ulpsD:G3} u relative)");
        }
        Assert.True(failures.Count == 0, "tanh is not accurate to a few ulp relative near 0:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void Softmax_is_finite_and_normalised_float() => Softmax<float>();

    [Fact]
    public void Softmax_is_finite_and_normalised_double() => Softmax<double>();

    private static void Softmax<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(3);
        double[][] rows =
        [
            [1e4, -1e4],
            [-1e4, 1e4],
            [1e4, 1e4 - 1, 1e4 - 2],
            [-1e4, -1e4, -1e4],
            [0, 1e4, 5000, -5000],
            [1e4],
            [-1e4],
            .. Enumerable.Range(0, 20).Select(r => Enumerable.Range(0, 1 + r % 9).Select(_ => (2 * random.NextDouble() - 1) * 1e4).ToArray()),
        ];
        double u = ErrorBounds.UnitRoundoff<T>();
        foreach (double[] row in rows)
        {
            // One sample, logits = the biases (input 0 times any weight adds nothing).
            T[] z = row.Select(v => T.CreateTruncating(v)).ToArray();
            var output = new T[row.Length];
            var logits = new T[row.Length];
            DenseLayerKernels.Forward<T>(output, logits, [T.Zero], Enumerable.Repeat(T.One, row.Length).ToArray(), z, 1, 1, row.Length, Activation.Softmax);
            double[] zd = ReferenceNetwork.ToDouble<T>(z);
            double[] expected = ReferenceActivation.Softmax(zd);
            double[] bound = ErrorBounds.SoftmaxError(zd, expected, new double[row.Length], u).Select(e => 2 * e + ErrorBounds.Tiny<T>()).ToArray();
            string what = $"softmax([{string.Join(", ", row)}])";
            Assert.All(output, v => Assert.True(T.IsFinite(v) && v >= T.Zero && v <= T.One, $"{what} has {v}"));
            Close.Within(ReferenceNetwork.ToDouble<T>(output).Sum(), 1, (row.Length + 2) * u, $"{what}: sum");
            Close.Within<T>(output, expected, bound, what);
        }
    }

    [Fact]
    public void Binary_cross_entropy_from_saturated_logits_is_finite_float() => BinaryCrossEntropy<float>();

    [Fact]
    public void Binary_cross_entropy_from_saturated_logits_is_finite_double() => BinaryCrossEntropy<double>();

    private static void BinaryCrossEntropy<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double[] z = [1e4, -1e4, 1e4, -1e4, 100, -100, 50, -50];
        double[] y = [1, 0, 0, 1, 1, 0, 0, 1];
        T[] logits = z.Select(v => T.CreateTruncating(v)).ToArray();
        T[] outputs = Apply<T>(Activation.Sigmoid, z);            // exactly 0 or 1 for the saturated ones
        T[] targets = y.Select(v => T.CreateTruncating(v)).ToArray();
        var delta = new T[z.Length];
        foreach (Reduction reduction in new[] { Reduction.Mean, Reduction.Sum })
        {
            T loss = DenseLayerKernels.OutputDelta<T>(delta, logits, outputs, targets, 1, z.Length, Activation.Sigmoid, new Loss(LossKind.BinaryCrossEntropy, reduction));
            // Right answers cost ≈ 0, wrong ones ≈ |z|: 0 + 0 + 1e4 + 1e4 + 0 + 0 + 50 + 50 (+ log terms below 1e-21).
            Close.Within(double.CreateChecked(loss), 20100, 1e-6 * 20100, $"BCE loss ({reduction})");
            Assert.All(delta, d => Assert.True(T.IsFinite(d)));
            for (int j = 0; j < z.Length; j++)
                Close.Within(double.CreateChecked(delta[j]), ReferenceActivation.Apply(Activation.Sigmoid, z[j]) - y[j], 1e-6, $"Δ[{j}]");
        }
    }

    [Fact]
    public void Softmax_cross_entropy_from_saturated_logits_is_finite_float() => SoftmaxCrossEntropy<float>();

    [Fact]
    public void Softmax_cross_entropy_from_saturated_logits_is_finite_double() => SoftmaxCrossEntropy<double>();

    private static void SoftmaxCrossEntropy<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // Two samples of three classes: softmax is exactly (1, 0, 0) for both.
        double[] z = [1e4, -1e4, 0, 5000, -5000, -1e4];
        T[] logits = z.Select(v => T.CreateTruncating(v)).ToArray();
        var outputs = new T[6];
        DenseLayerKernels.Forward<T>(outputs.AsSpan(0, 3), new T[3], [T.Zero], [T.One, T.One, T.One], logits[..3], 1, 1, 3, Activation.Softmax);
        DenseLayerKernels.Forward<T>(outputs.AsSpan(3), new T[3], [T.Zero], [T.One, T.One, T.One], logits[3..], 1, 1, 3, Activation.Softmax);
        var delta = new T[6];

        // Wrong classes: −log softmax = lse − z_c = 1e4 − (−1e4) and 5000 − (−1e4).
        T loss = DenseLayerKernels.OutputDelta<T>(delta, logits, outputs, [1, 2], 2, 3, Activation.Softmax, Loss.SoftmaxCrossEntropy);
        Close.Within(double.CreateChecked(loss), (2e4 + 1.5e4) / 2, 1e-6 * 2e4, "SCE loss, class indices");
        Assert.All(delta, d => Assert.True(T.IsFinite(d)));
        Close.Within<T>(delta, [0.5, -0.5, 0, 0.5, 0, -0.5], Enumerable.Repeat(1e-6, 6).ToArray(), "Δ");

        T[] oneHot = [T.Zero, T.One, T.Zero, T.Zero, T.Zero, T.One];
        T lossOneHot = DenseLayerKernels.OutputDelta<T>(delta, logits, outputs, oneHot, 2, 3, Activation.Softmax, new Loss(LossKind.SoftmaxCrossEntropy, Reduction.Sum));
        Close.Within(double.CreateChecked(lossOneHot), 2e4 + 1.5e4, 1e-6 * 2e4, "SCE loss, one-hot, sum");
        Assert.All(delta, d => Assert.True(T.IsFinite(d)));
    }

    /// <summary>The same through Network: a 1-unit layer with weight 1e4 saturates; loss and gradients stay finite.</summary>
    [Fact]
    public void Saturated_networks_train_without_NaN()
    {
        var bce = new Network<float>(1, [new(1, Activation.Sigmoid)]);
        bce.SetWeights(0, [1e4f]);
        float[] x = [1, -1, 1, -1], y = [0, 1, 1, 0];
        Gradients<float> g = bce.CreateGradients();
        float loss = bce.ComputeGradients(x, y, 4, Loss.BinaryCrossEntropy, g);
        Close.Within(loss, 1e4 / 2.0, 1, "BCE network loss");
        Assert.All(g.Values.ToArray(), v => Assert.True(float.IsFinite(v)));
        float[] outputs = new float[4];
        bce.Forward(x, 4, outputs);
        Assert.Equal(new float[] { 1, 0, 1, 0 }, outputs);

        var softmax = new Network<double>(1, [new(3, Activation.Softmax)]);
        softmax.SetWeights(0, [1e4, -1e4, 0]);
        Gradients<double> h = softmax.CreateGradients();
        double sce = softmax.ComputeGradients([1.0, -1.0], [1, 0], 2, Loss.SoftmaxCrossEntropy, h);
        Close.Within(sce, 2e4, 1e-6, "SCE network loss");   // both samples confidently wrong by 2e4
        Assert.All(h.Values.ToArray(), v => Assert.True(double.IsFinite(v)));

        // A saturated hidden sigmoid passes back σ' = a(1 − a) = 0, never NaN.
        var deep = new Network<float>(1, [new(2, Activation.Sigmoid), new(1, Activation.Identity)]);
        deep.SetWeights(0, [1e4f, -1e4f]);
        Gradients<float> d = deep.CreateGradients();
        float mse = deep.ComputeGradients([3f], [0.5f], 1, Loss.MeanSquaredError, d);
        Assert.True(float.IsFinite(mse));
        Assert.All(d.Values.ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.Equal(0f, d.Weights(0)[0]);
        Assert.Equal(0f, d.Weights(0)[1]);
    }
}
