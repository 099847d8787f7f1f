using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using FastBackprop.Cli;
using FastBackprop.Kernels.Int8;
using Xunit.Abstractions;

namespace FastBackprop.Tests.Int8;

/// <summary>A small network of ReLU hidden layers and an identity output, the data it runs on, and a scale for its inputs.</summary>
public sealed record QuantizedErrorCase(int Inputs, int[] Hidden, int Outputs, int Batch, double InputScale, int Seed)
{
    public override string ToString() => $"[{Inputs}-{string.Join('-', Hidden)}-{Outputs}] batch {Batch}, inputs ×{InputScale}, seed {Seed}";

    public static Arbitrary<QuantizedErrorCase> Arbitrary()
    {
        Gen<QuantizedErrorCase> gen =
            from inputs in Dimensions.SmallSize
            from depth in Gen.Choose(0, 2)
            from hidden in Gen.ArrayOf(Dimensions.SmallSize, depth)
            from outputs in Dimensions.SmallSize
            from batch in Gen.Choose(1, 6)
            from scale in Gen.Elements(1e-3, 1.0, 50.0)
            from seed in Gen.Choose(0, int.MaxValue)
            select new QuantizedErrorCase(inputs, hidden, outputs, batch, scale, seed);
        return Arb.From(gen);
    }
}

/// <summary>
/// How far the int8 network may be from the fp32 one, derived from the scheme (<see cref="Int8Scheme"/>), and tested; and
/// how much accuracy it costs on the embedded digits.
/// </summary>
[Collection(nameof(ForcedKernelConfiguration))]
public class QuantizationErrorTests(ITestOutputHelper output)
{
    private const double U = 1.0 / (1 << 24);   // unit roundoff of float

    /// <summary>
    /// Layer by layer, with x the exact (double) input of a layer, E_k a bound on how far the int8 network's float input
    /// x̃_k is from x_k (0 for the network's input) and y = W·x + b the exact output:
    /// <list type="bullet">
    /// <item>the row's scale s = (hi − lo)/127 of x̃ is at most S = (max x − min x + 2·max E)/127·(1 + 2u), and the code
    /// rounds x̃_k to x̂_k = lo + s·u_k within s·(1/2 + 1024u) (the code's own float arithmetic is a few ulps of 127), so
    /// |x̂_k − x_k| ≤ D_k = S·(1/2 + 1024u) + E_k;</item>
    /// <item>a weight rounds to ŵ_jk = s_j·q_jk within V_j = s_j·(1/2 + 512u), s_j = max_k |W_jk|/127;</item>
    /// <item>in exact arithmetic Σ ŵx̂ − Σ Wx = Σ ŵ(x̂ − x) + Σ (ŵ − W)x, at most Σ_k (|W_jk| + V_j)·D_k + V_j·Σ_k |x_k|;</item>
    /// <item>the epilogue's five float operations (and the int-to-float conversion) each round by at most u of a term no
    /// larger than M_j = Σ_k (|x_k| + D_k + 2L)(|W_jk| + V_j) + |b_j|, L = max|x| + max E bounding |lo|: at most 8u·M_j.</item>
    /// </list>
    /// ReLU and the identity are 1-Lipschitz and exact in float, so the sum bounds the next layer's E.
    /// </summary>
    [Fact]
    public void The_error_against_the_exact_network_is_within_the_derived_bound()
    {
        Properties.Check("int8-error-bound", QuantizedErrorCase.Arbitrary(), CheckBound, 120);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"the largest error was {largestShare:P1} of its bound"));
    }

    private void CheckBound(QuantizedErrorCase c)
    {
        var layers = c.Hidden.Select(h => new LayerSpec(h, Activation.ReLU)).Append(new LayerSpec(c.Outputs, Activation.Identity)).ToArray();
        var network = new Network<float>(c.Inputs, layers, c.Seed % 1000);
        float[] inputs = TestData.Uniform<float>(new Random(c.Seed), c.Batch * c.Inputs, -c.InputScale, c.InputScale);
        var actual = new float[c.Batch * c.Outputs];
        QuantizedNetwork quantized = network.Quantize();
        quantized.Predict(inputs, c.Batch, actual, quantized.CreateInferenceWorkspace(c.Batch));
        double worstShare = 0;
        for (int r = 0; r < c.Batch; r++)
        {
            double[] x = inputs.Skip(r * c.Inputs).Take(c.Inputs).Select(v => (double)v).ToArray();
            var e = new double[c.Inputs];
            for (int l = 0; l < layers.Length; l++)
                (x, e) = Layer(network, l, x, e);
            for (int j = 0; j < c.Outputs; j++)
            {
                double error = Math.Abs(actual[r * c.Outputs + j] - x[j]);
                if (!(error <= e[j]))
                    Assert.Fail($"{c}: row {r} output {j} is {actual[r * c.Outputs + j]:R}, exactly {x[j]:R}: error {error:G4} > bound {e[j]:G4}.");
                worstShare = Math.Max(worstShare, error / e[j]);
            }
        }
        Assert.True(worstShare <= 1);
        lock (output)
            largestShare = Math.Max(largestShare, worstShare);
    }

    private double largestShare;

    /// <summary>The exact output of layer <paramref name="l"/> and the bound on the int8 network's distance from it.</summary>
    private static (double[] Y, double[] E) Layer(Network<float> network, int l, double[] x, double[] e)
    {
        int units = network.Layer(l).Units, inputs = x.Length;
        ReadOnlySpan<float> w = network.Weights(l), b = network.Biases(l);
        double maxE = e.Max(), range = x.Max() - x.Min(), largest = x.Max(Math.Abs) + maxE;
        double s = (range + 2 * maxE) / Int8Scheme.ActivationLevels * (1 + 2 * U);
        double[] d = e.Select(ek => s * (0.5 + 1024 * U) + ek).ToArray();
        var y = new double[units];
        var bound = new double[units];
        for (int j = 0; j < units; j++)
        {
            double maxW = 0, sum = b[j];
            for (int k = 0; k < inputs; k++)
            {
                maxW = Math.Max(maxW, Math.Abs(w[j * inputs + k]));
                sum += (double)w[j * inputs + k] * x[k];
            }
            double v = maxW / Int8Scheme.WeightLevels * (0.5 + 512 * U);
            double quantization = 0, magnitude = Math.Abs(b[j]);
            for (int k = 0; k < inputs; k++)
            {
                double wk = Math.Abs(w[j * inputs + k]) + v;
                quantization += wk * d[k] + v * Math.Abs(x[k]);
                magnitude += (Math.Abs(x[k]) + d[k] + 2 * largest) * wk;
            }
            bool relu = network.Layer(l).Activation.Kind == ActivationKind.ReLU;
            y[j] = relu ? Math.Max(0, sum) : sum;
            bound[j] = quantization + 8 * U * magnitude;
        }
        return (y, bound);
    }

    /// <summary>The CLI's digits job (64 ReLU units, Adam, 30 epochs, batch 32) on 80% of the embedded digits, then the
    /// held-out 20% predicted by the fp32 network and its int8 quantization: within half a point of accuracy.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Digits_lose_at_most_half_a_point(bool outputInFloat)
    {
        (float[] pixels, int[] labels) = DigitsData.Load();
        var all = new Dataset<float>(pixels, DigitsData.Pixels, labels, DigitsData.Classes);
        (Dataset<float> train, Dataset<float> test) = all.Split(0.2, 42);
        var network = new Network<float>(DigitsData.Pixels, [new(64, Activation.ReLU), new(10, Activation.Softmax)], 42);
        new Trainer<float>(new TrainerOptions { Epochs = 30, BatchSize = 32, Seed = 42, Schedule = LearningRateSchedule.Constant(0.003) })
            .Fit(network, train, null);
        FrozenNetwork<float> frozen = network.Freeze();
        QuantizedNetwork quantized = frozen.Quantize(new QuantizationOptions { KeepOutputLayerInFloat = outputInFloat });
        var fp32 = new float[test.Count * 10];
        var int8 = new float[test.Count * 10];
        frozen.Predict(test.Features, test.Count, fp32, frozen.CreateInferenceWorkspace(test.Count));
        quantized.Predict(test.Features, test.Count, int8, quantized.CreateInferenceWorkspace(test.Count));
        double fp32Accuracy = Accuracy(fp32, test.ClassIndices!), int8Accuracy = Accuracy(int8, test.ClassIndices!);
        int disagree = Enumerable.Range(0, test.Count).Count(i => ArgMax(fp32, i) != ArgMax(int8, i));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"digits test split ({test.Count} rows): fp32 {fp32Accuracy:P2}, int8 {int8Accuracy:P2} (output layer {(outputInFloat ? "fp32" : "int8")}); {disagree} predictions differ; |Δp| max {fp32.Zip(int8, (a, b) => Math.Abs(a - b)).Max():G3}, mean {fp32.Zip(int8, (a, b) => Math.Abs(a - b)).Average():G3}"));
        Assert.True(fp32Accuracy - int8Accuracy <= 0.005, $"fp32 {fp32Accuracy:P2}, int8 {int8Accuracy:P2}");
    }

    private static int ArgMax(float[] rows, int row)
    {
        int best = 0;
        for (int j = 1; j < 10; j++)
            if (rows[row * 10 + j] > rows[row * 10 + best])
                best = j;
        return best;
    }

    private static double Accuracy(float[] rows, int[] labels)
        => (double)Enumerable.Range(0, labels.Length).Count(i => ArgMax(rows, i) == labels[i]) / labels.Length;
}
