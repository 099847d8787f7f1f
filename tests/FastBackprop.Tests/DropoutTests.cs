using FastBackprop.Tests.Reference;
using FsCheck;
using FsCheck.Fluent;

namespace FastBackprop.Tests;

/// <summary>
/// Dropout as a layer: in training the gradients are those of the reference network with the same masks
/// (MATH.md's BP1–BP4 with the mask in BP2 and BP4), and central differences agree with them while the mask is held
/// fixed; the masks drop the rate and scale the rest; inference ignores dropout; a training run does not depend on the
/// thread count; model files keep it.
/// </summary>
[Collection(nameof(GemmThreadCount))]
public class DropoutTests
{
    /// <summary>A network with dropout: hidden widths that include 1, primes and sizes just past a vector width, dropout at
    /// the input, after hidden layers and twice in a row, every head.</summary>
    public sealed record DropoutCase(int Inputs, int[] Hidden, int Outputs, int Batch, Activation Hidden_, Head Head, int Placement,
        double Rate, int Seed)
    {
        public override string ToString() =>
            $"{{ Inputs = {Inputs}, Hidden = [{string.Join(',', Hidden)}], Outputs = {Outputs}, Batch = {Batch}, G = {Hidden_}, Head = {Head}, Placement = {Placement}, Rate = {Rate}, Seed = {Seed} }}";

        /// <summary>The layers: placement 0 puts dropout after every hidden layer, 1 also at the input, 2 two in a row after
        /// the first hidden layer.</summary>
        public LayerSpec[] Layers()
        {
            var layers = new List<LayerSpec>();
            if (Placement == 1)
                layers.Add(LayerSpec.Dropout(Rate));
            for (int h = 0; h < Hidden.Length; h++)
            {
                layers.Add(new LayerSpec(Hidden[h], Hidden_));
                layers.Add(LayerSpec.Dropout(Rate));
                if (Placement == 2 && h == 0)
                    layers.Add(LayerSpec.Dropout(1 - Rate));
            }
            ActivationKind output = Heads.OutputKind(Head);
            layers.Add(new LayerSpec(Outputs, output == ActivationKind.LeakyReLU ? Activation.LeakyReLU(0.1) : Activation.FromKind(output)));
            return [.. layers];
        }

        public static Arbitrary<DropoutCase> Arbitrary() =>
            (from inputs in Gen.Elements(1, 3, 17, 33)
             from depth in Gen.Choose(1, 2)
             from hidden in Gen.ArrayOf(Gen.Elements(1, 5, 16, 17, 31), depth)
             from outputs in Gen.Elements(1, 2, 7)
             from batch in Gen.Elements(1, 2, 7, 13)
             from g in Gen.Elements(Activation.Tanh, Activation.Sigmoid, Activation.ReLU, Activation.LeakyReLU(0.1))
             from head in Gen.Elements(Heads.All.Select(h => (Head)h[0]).ToArray())
             from placement in Gen.Choose(0, 2)
             from rate in Gen.Elements(0.1, 0.5, 0.75)
             from seed in Gen.Choose(0, 1 << 20)
             select new DropoutCase(inputs, hidden, Heads.OutputKind(head) == ActivationKind.Softmax ? Math.Max(outputs, 2) : outputs,
                 batch, g, head, placement, rate, seed)).ToArbitrary();
    }

    /// <summary>The network, data and targets of a case.</summary>
    private static (Network<T> Net, T[] X, T[] Y, int[] Classes) Build<T>(DropoutCase c) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var net = new Network<T>(c.Inputs, c.Layers(), c.Seed);
        var random = new Random(c.Seed);
        var x = new T[c.Batch * c.Inputs];
        for (int i = 0; i < x.Length; i++)
            x[i] = T.CreateChecked(2 * random.NextDouble() - 1);
        // Biases away from zero so ReLU units are rarely at their kink.
        for (int l = 0; l < net.LayerCount; l++)
            foreach (ref T b in net.Biases(l))
                b = T.CreateChecked(0.2 * random.NextDouble() + 0.05);
        int[] classes = Enumerable.Range(0, c.Batch).Select(_ => random.Next(c.Outputs)).ToArray();
        var y = new T[c.Batch * c.Outputs];
        Loss loss = Heads.Loss(c.Head);
        for (int n = 0; n < c.Batch; n++)
            for (int j = 0; j < c.Outputs; j++)
                y[n * c.Outputs + j] = loss.Kind switch
                {
                    LossKind.SoftmaxCrossEntropy => T.CreateChecked(classes[n] == j ? 1 : 0),
                    LossKind.BinaryCrossEntropy => T.CreateChecked(random.Next(2)),
                    _ => T.CreateChecked(2 * random.NextDouble() - 1),
                };
        return (net, x, y, classes);
    }

    /// <summary>The reference for the network's dense layers, with the masks the next training pass will draw.</summary>
    internal static ReferenceNetwork ReferenceWithMasks<T>(Network<T> net, int batch) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var layers = new List<ReferenceLayer>();
        var masks = new List<double[]?[]>();
        double[]?[]? pending = null;
        for (int l = 0; l < net.LayerCount; l++)
        {
            LayerSpec spec = net.Layer(l);
            if (spec.Kind == LayerKind.Dropout)
            {
                var flat = new T[batch * spec.Units];
                net.DropoutMask(l, batch, flat);
                double[][] rows = TestData.Rows<double>(ReferenceNetwork.ToDouble<T>(flat), batch, spec.Units);
                // Two dropout layers in a row multiply their masks.
                pending = pending is null ? rows : pending.Select((m, n) => m!.Select((v, j) => v * rows[n][j]).ToArray()).ToArray();
                continue;
            }
            layers.Add(new ReferenceLayer(net.LayerInputs(l), spec.Units, ReferenceNetwork.ToDouble<T>(net.Weights(l)),
                ReferenceNetwork.ToDouble<T>(net.Biases(l)), spec.Activation));
            masks.Add(pending ?? new double[]?[batch]);
            pending = null;
        }
        return new ReferenceNetwork(layers) { InputMasks = [.. masks] };
    }

    [Fact]
    public void Training_gradients_are_the_reference_ones_with_the_same_masks()
        => Properties.Check("dropout-reference", DropoutCase.Arbitrary(), c =>
        {
            CheckAgainstReference<double>(c, fused: true);
            CheckAgainstReference<double>(c, fused: false);
            // In float a ReLU unit within rounding of its kink may take the other derivative than the reference (GradientCheck
            // and NetworkTests move samples away from kinks; here smooth activations keep the float comparison exact).
            if (c.Hidden_.Kind is ActivationKind.Tanh or ActivationKind.Sigmoid && Heads.OutputKind(c.Head) is not (ActivationKind.ReLU or ActivationKind.LeakyReLU))
            {
                CheckAgainstReference<float>(c, fused: true);
                CheckAgainstReference<float>(c, fused: false);
            }
        }, 25);

    private static void CheckAgainstReference<T>(DropoutCase c, bool fused) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        (Network<T> net, T[] x, T[] y, int[] classes) = Build<T>(c);
        net.UseFusedKernels = fused;
        Loss loss = Heads.Loss(c.Head);
        ReferenceNetwork reference = ReferenceWithMasks(net, c.Batch);
        ReferenceGradients expected = reference.Backpropagate(TestData.Rows<double>(ReferenceNetwork.ToDouble<T>(x), c.Batch, c.Inputs),
            TestData.Rows<double>(ReferenceNetwork.ToDouble<T>(y), c.Batch, c.Outputs), loss);
        Gradients<T> g = net.CreateGradients();
        T value = Heads.ClassIndices(c.Head)
            ? net.ComputeGradients(x, classes, c.Batch, loss, g)
            : net.ComputeGradients(x, y, c.Batch, loss, g);

        // Every value is a sum of at most K products along the network (K: the widest sum over a batch, times the depth);
        // each rounds with at most γ_K = (K + 2)·u relative to the sum of magnitudes, bounded here by 8× the largest
        // gradient of the tensor (the data are O(1) and tanh/sigmoid/ReLU derivatives are at most 1, the masks at most 4).
        double u = ErrorBounds.UnitRoundoff<T>();
        int k = c.Batch * (c.Inputs + c.Hidden.Sum() + c.Outputs) * (c.Hidden.Length + 2);
        Close.Relative(double.CreateChecked(value), expected.Loss, 8 * ErrorBounds.Gamma(k, u) * (1 + Math.Abs(expected.Loss)), 0, $"{c} loss");
        int dense = 0;
        for (int l = 0; l < net.LayerCount; l++)
        {
            if (net.Layer(l).Kind == LayerKind.Dropout)
            {
                Assert.Equal(0, g.Weights(l).Length);
                continue;
            }
            double scale = 8 * 16 * ErrorBounds.Gamma(k, u) * (1e-3 + expected.Weights[dense].Concat(expected.Biases[dense]).Max(Math.Abs));
            for (int i = 0; i < expected.Weights[dense].Length; i++)
                Close.Within(double.CreateChecked(g.Weights(l)[i]), expected.Weights[dense][i], scale, $"{c} fused={fused} {typeof(T).Name} dW{l}[{i}]");
            for (int i = 0; i < expected.Biases[dense].Length; i++)
                Close.Within(double.CreateChecked(g.Biases(l)[i]), expected.Biases[dense][i], scale, $"{c} fused={fused} {typeof(T).Name} db{l}[{i}]");
            dense++;
        }
    }

    /// <summary>MATH.md's finite differences with the mask held fixed (the loss of the same training step, h = 1e-6), on
    /// every parameter, with smooth activations (no kinks).</summary>
    [Fact]
    public void Gradients_match_finite_differences_with_the_mask_fixed()
    {
        const double h = 1e-6;
        var random = new Random(5);
        foreach (int placement in new[] { 0, 1, 2 })
        {
            var c = new DropoutCase(3, [5, 4], 3, 4, Activation.Tanh, (Head)Heads.All.First()[0], placement, 0.4, 17 + placement);
            foreach (Loss loss in new[] { Loss.SoftmaxCrossEntropy, Loss.MeanSquaredError })
            {
                LayerSpec[] layers = c.Layers();
                layers[^1] = loss.Kind == LossKind.SoftmaxCrossEntropy ? new LayerSpec(3, Activation.Softmax) : new LayerSpec(3, Activation.Identity);
                var net = new Network<double>(c.Inputs, layers, c.Seed);
                double[] x = Enumerable.Range(0, c.Batch * c.Inputs).Select(_ => 2 * random.NextDouble() - 1).ToArray();
                double[] y = loss.Kind == LossKind.SoftmaxCrossEntropy
                    ? Enumerable.Range(0, c.Batch * 3).Select(i => i % 3 == i / 3 % 3 ? 1.0 : 0.0).ToArray()
                    : Enumerable.Range(0, c.Batch * 3).Select(_ => random.NextDouble()).ToArray();
                const ulong step = 41;
                Gradients<double> g = net.CreateGradients();
                net.DropoutStep = step;
                double cost = net.ComputeGradients(x, y, c.Batch, loss, g);
                net.DropoutStep = step;
                Assert.Equal(cost, net.ComputeTrainingLoss(x, y, c.Batch, loss));
                Span<double> theta = net.Parameters;
                for (int p = 0; p < theta.Length; p++)
                {
                    double saved = theta[p];
                    theta[p] = saved + h;
                    double plus = net.ComputeTrainingLoss(x, y, c.Batch, loss);
                    theta[p] = saved - h;
                    double minus = net.ComputeTrainingLoss(x, y, c.Batch, loss);
                    theta[p] = saved;
                    double numeric = (plus - minus) / (2 * h);
                    // GradientCheckTests' derivation: rounding (δC₊ + δC₋)/2h with δC ≲ 32u·|C|, truncation O(h²).
                    Close.Relative(g.Values[p], numeric, 1e-8 + 32 * 1.1e-16 * Math.Abs(cost) / h, 1e-6, $"placement {placement}, {loss.Kind}, θ[{p}]");
                }
            }
        }
    }

    [Fact]
    public void Masks_drop_the_rate_and_scale_the_rest()
    {
        foreach (double rate in new[] { 0.1, 0.5, 0.9 })
        {
            var net = new Network<float>(100, [LayerSpec.Dropout(rate), new LayerSpec(2, Activation.Softmax)], seed: 3);
            var mask = new float[1000 * 100];
            net.DropoutMask(0, 1000, mask);
            int dropped = mask.Count(m => m == 0);
            Assert.All(mask.Where(m => m != 0), m => Assert.Equal((float)(1 / (1 - rate)), m));
            // Binomial(n, rate): within 5 standard deviations.
            double n = mask.Length, sigma = Math.Sqrt(n * rate * (1 - rate));
            Assert.InRange(dropped, n * rate - 5 * sigma, n * rate + 5 * sigma);
            // Another step draws another mask; the same step the same one.
            var again = new float[mask.Length];
            net.DropoutMask(0, 1000, again);
            Assert.Equal(mask, again);
            net.DropoutStep++;
            net.DropoutMask(0, 1000, again);
            Assert.NotEqual(mask, again);
        }
    }

    [Fact]
    public void Inference_ignores_dropout()
    {
        var random = new Random(2);
        var withDropout = new Network<float>(13, [LayerSpec.Dropout(0.2), new(17, Activation.ReLU), LayerSpec.Dropout(0.5), new(5, Activation.Softmax)], seed: 9);
        var plain = new Network<float>(13, [new(17, Activation.ReLU), new(5, Activation.Softmax)], seed: 9);
        withDropout.Weights(1).CopyTo(plain.Weights(0));
        withDropout.Weights(3).CopyTo(plain.Weights(1));
        float[] x = Enumerable.Range(0, 7 * 13).Select(_ => (float)random.NextDouble()).ToArray();
        var a = new float[7 * 5];
        var b = new float[7 * 5];
        withDropout.Predict(x, 7, a, withDropout.CreateInferenceWorkspace(7));
        plain.Predict(x, 7, b, plain.CreateInferenceWorkspace(7));
        Bits.Equal<float>(a, b, "Predict");
        withDropout.Freeze().Predict(x, 7, a, withDropout.CreateInferenceWorkspace(7));
        Bits.Equal<float>(a, b, "FrozenNetwork.Predict");
        withDropout.Forward(x, 7, a);
        Bits.Equal<float>(a, b, "Forward");
        int[] classes = [0, 1, 2, 3, 4, 0, 1];
        Assert.Equal(plain.ComputeLoss(x, classes, 7, Loss.SoftmaxCrossEntropy), withDropout.ComputeLoss(x, classes, 7, Loss.SoftmaxCrossEntropy));
        Assert.Equal(4, withDropout.LayerCount);
        Assert.Equal(LayerSpec.Dropout(0.5) with { Units = 17 }, withDropout.Layer(2));
        Assert.Equal(0, withDropout.Weights(2).Length);
    }

    [Fact]
    public void Training_is_bit_identical_whatever_the_thread_count()
    {
        using var restore = new GemmSettingsScope();
        var random = new Random(4);
        float[] x = Enumerable.Range(0, 64 * 300).Select(_ => (float)random.NextDouble()).ToArray();
        int[] classes = Enumerable.Range(0, 64).Select(i => i % 10).ToArray();
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            Parallelism.MaxDegreeOfParallelism = threads;
            var net = new Network<float>(300, [new(256, Activation.ReLU), LayerSpec.Dropout(0.3), new(128, Activation.ReLU), LayerSpec.Dropout(0.3), new(10, Activation.Softmax)], seed: 8);
            for (int step = 0; step < 5; step++)
                net.TrainStep(x, classes, 64, Loss.SoftmaxCrossEntropy, 0.05f);
            if (first is null)
                first = net.Parameters.ToArray();
            else
                Bits.Equal<float>(net.Parameters, first, $"{threads} threads");
        }
    }

    [Fact]
    public void The_fused_step_is_compute_gradients_then_apply_gradients_with_the_same_masks()
    {
        var random = new Random(6);
        LayerSpec[] layers = [LayerSpec.Dropout(0.25), new(19, Activation.Tanh), LayerSpec.Dropout(0.5), new(3, Activation.Softmax)];
        var stepped = new Network<float>(11, layers, seed: 12);
        var twin = new Network<float>(11, layers, seed: 12);
        float[] x = Enumerable.Range(0, 9 * 11).Select(_ => (float)random.NextDouble()).ToArray();
        int[] classes = Enumerable.Range(0, 9).Select(i => i % 3).ToArray();
        Gradients<float> g = twin.CreateGradients();
        for (int step = 0; step < 3; step++)
        {
            float a = stepped.TrainStep(x, classes, 9, Loss.SoftmaxCrossEntropy, 0.1f);
            float b = twin.ComputeGradients(x, classes, 9, Loss.SoftmaxCrossEntropy, g);
            twin.ApplyGradients(g, 0.1f);
            Assert.Equal(a, b);
            Bits.Equal<float>(stepped.Parameters, twin.Parameters.ToArray(), $"step {step}");
        }
    }

    [Fact]
    public void Bad_dropout_layers_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerSpec.Dropout(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerSpec.Dropout(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LayerSpec.Dropout(double.NaN));
        var e = Assert.Throws<ArgumentException>(() => new Network<float>(3, [new(4, Activation.ReLU), LayerSpec.Dropout(0.5)]));
        Assert.Contains("last layer must be dense", e.Message);
        Assert.Equal("layers", e.ParamName);
    }
}
