using System.Numerics;
using FastBackprop.Tests.Reference;
using FsCheck;
using FsCheck.Fluent;
using FastBackprop.Primitives;

namespace FastBackprop.Tests;

/// <summary>DenseLayerKernels' five kernels against the per-sample reference, every activation, random shapes.</summary>
public class LayerKernelTests
{
    public sealed record LayerCase(int Batch, int Inputs, int Units, ActivationKind Kind, double Alpha, bool KeepLogits, int Seed)
    {
        public Activation G => Kind == ActivationKind.LeakyReLU ? Activation.LeakyReLU(Alpha) : Activation.FromKind(Kind);

        public static Arbitrary<LayerCase> Arbitrary(params ActivationKind[] kinds)
        {
            // Sometimes past the GEMM blocks, so the fused epilogue must wait for the last K block (inputs > 384)
            // and span several N blocks (units > 512).
            Gen<(int, int, int)> shape = Gen.Frequency(
                (9, from b in Dimensions.Any from i in Dimensions.Any from u in Dimensions.Any select (b, i, u)),
                (1, from b in Gen.Choose(12, 40) from i in Gen.Choose(385, 450) from u in Gen.Choose(513, 560) select (b, i, u)));
            Gen<LayerCase> gen = from dims in shape
                                 let batch = dims.Item1
                                 let inputs = dims.Item2
                                 let units = dims.Item3
                                 from kind in Gen.Elements(kinds)
                                 from alpha in Gen.Elements(0.01, 0.3, 2.0)
                                 from keep in Gen.Elements(true, false)
                                 from seed in Gen.Choose(0, int.MaxValue)
                                 select new LayerCase(batch, inputs, units, kind, alpha, keep || kind == ActivationKind.Softmax, seed);
            return Arb.From(gen, Shrink);
        }

        private static IEnumerable<LayerCase> Shrink(LayerCase c)
        {
            foreach (int d in Dimensions.Shrink(c.Batch)) yield return c with { Batch = d };
            foreach (int d in Dimensions.Shrink(c.Inputs)) yield return c with { Inputs = d };
            foreach (int d in Dimensions.Shrink(c.Units)) yield return c with { Units = d };
        }
    }

    internal static readonly ActivationKind[] Elementwise =
        [ActivationKind.Identity, ActivationKind.Sigmoid, ActivationKind.Tanh, ActivationKind.ReLU, ActivationKind.LeakyReLU, ActivationKind.Step];

    internal static readonly ActivationKind[] Trainable =
        [ActivationKind.Identity, ActivationKind.Sigmoid, ActivationKind.Tanh, ActivationKind.ReLU, ActivationKind.LeakyReLU];

    [Fact]
    public void Forward_float() => Properties.Check("forward-float", LayerCase.Arbitrary([.. Elementwise, ActivationKind.Softmax]), Forward<float>, 250);

    [Fact]
    public void Forward_double() => Properties.Check("forward-double", LayerCase.Arbitrary([.. Elementwise, ActivationKind.Softmax]), Forward<double>, 200);

    [Fact]
    public void HiddenDelta_float() => Properties.Check("hidden-delta-float", LayerCase.Arbitrary(Trainable), HiddenDelta<float>, 200);

    [Fact]
    public void HiddenDelta_double() => Properties.Check("hidden-delta-double", LayerCase.Arbitrary(Trainable), HiddenDelta<double>, 160);

    [Fact]
    public void Weight_and_bias_gradients_float() => Properties.Check("parameter-gradients-float", LayerCase.Arbitrary(ActivationKind.Identity), ParameterGradients<float>, 200);

    [Fact]
    public void Weight_and_bias_gradients_double() => Properties.Check("parameter-gradients-double", LayerCase.Arbitrary(ActivationKind.Identity), ParameterGradients<double>, 160);

    [Theory]
    [MemberData(nameof(Heads.All), MemberType = typeof(Heads))]
    public void OutputDelta_float(Head head) => Properties.Check($"output-delta-float-{head}", LayerCase.Arbitrary(ActivationKind.Identity), c => OutputDelta<float>(c, head), 40);

    [Theory]
    [MemberData(nameof(Heads.All), MemberType = typeof(Heads))]
    public void OutputDelta_double(Head head) => Properties.Check($"output-delta-double-{head}", LayerCase.Arbitrary(ActivationKind.Identity), c => OutputDelta<double>(c, head), 30);

    /// <summary>Small integers: every sum exact, so the fused kernels equal the reference bit for bit.</summary>
    [Fact]
    public void Small_integers_are_exact()
    {
        Properties.Check("layer-exact", LayerCase.Arbitrary(ActivationKind.Identity, ActivationKind.ReLU, ActivationKind.Step), c =>
        {
            Exact<float>(c);
            Exact<double>(c);
        }, 120);
    }

    /// <summary>The kink: the derivative is read from a, and a = 0 gives ReLU' = 0, leaky' = α (z = 0 ⇔ a = 0).</summary>
    [Fact]
    public void Derivative_at_the_kink()
    {
        float[] nextDelta = [2, -3], nextWeights = [1, 1, 1, 1, 1, 1]; // 2 next units × 3 units
        float[] activations = [0, 0.5f, -0.25f];                        // one sample
        var delta = new float[3];
        DenseLayerKernels.HiddenDelta<float>(delta, nextDelta, nextWeights, activations, 1, 3, 2, Activation.ReLU);
        Assert.Equal(new float[] { 0, -1, 0 }, delta);
        DenseLayerKernels.HiddenDelta<float>(delta, nextDelta, nextWeights, activations, 1, 3, 2, Activation.LeakyReLU(0.5));
        Assert.Equal(new float[] { -0.5f, -1, -0.5f }, delta);

        // Forward at z = 0: ReLU(0) = 0, leaky(0) = 0, step(0) = 0.
        var output = new float[3];
        foreach (Activation g in new[] { Activation.ReLU, Activation.LeakyReLU(0.1), Activation.Step })
        {
            DenseLayerKernels.Forward<float>(output, [], [0f], [1f, 1f, 1f], [0f, -1f, 1f], 1, 1, 3, g);
            Assert.Equal(0f, output[0]);
        }
    }

    internal static void Forward<T>(LayerCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(c.Seed);
        T[] x = TestData.Uniform<T>(random, c.Batch * c.Inputs), w = TestData.Uniform<T>(random, c.Units * c.Inputs);
        T[] b = TestData.Uniform<T>(random, c.Units);
        var output = new T[c.Batch * c.Units];
        var logits = c.KeepLogits ? new T[c.Batch * c.Units] : [];
        output.AsSpan().Fill(T.NaN);
        logits.AsSpan().Fill(T.NaN);

        DenseLayerKernels.Forward<T>(output, logits, x, w, b, c.Batch, c.Inputs, c.Units, c.G);

        double u = ErrorBounds.UnitRoundoff<T>(), tiny = ErrorBounds.Tiny<T>();
        var layer = new ReferenceLayer(c.Inputs, c.Units, ReferenceNetwork.ToDouble<T>(w), ReferenceNetwork.ToDouble<T>(b), c.G);
        var network = new ReferenceNetwork([layer]);
        double[][] rows = TestData.Rows<T>(x, c.Batch, c.Inputs);
        for (int n = 0; n < c.Batch; n++)
        {
            SampleTrace t = network.Forward(rows[n]);
            ErrorBounds.ForwardBounds f = ErrorBounds.Forward(network, t, u);
            Close.Within<T>(output.AsSpan(n * c.Units, c.Units), t.A[1], f.AError[1].Select(e => 2 * e + tiny).ToArray(), $"{c}: output row {n}");
            if (c.KeepLogits)
                Close.Within<T>(logits.AsSpan(n * c.Units, c.Units), t.Z[0], f.ZError[0].Select(e => 2 * e + tiny).ToArray(), $"{c}: logits row {n}");
        }
    }

    internal static void HiddenDelta<T>(LayerCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // Here Inputs plays the part of the next layer's units: Δ (batch×units) = (Δ_next (batch×next)·W_next (next×units)) ⊙ g'(A).
        var random = new Random(c.Seed);
        int next = c.Inputs;
        T[] nextDelta = TestData.Uniform<T>(random, c.Batch * next), nextWeights = TestData.Uniform<T>(random, next * c.Units);
        // Activations are real outputs of g, some of them exactly at the kink.
        var activations = new T[c.Batch * c.Units];
        for (int i = 0; i < activations.Length; i++)
        {
            double z = random.Next(10) == 0 ? 0 : 6 * random.NextDouble() - 3;
            activations[i] = T.CreateTruncating(ReferenceActivation.Apply(c.G, z));
        }
        var delta = new T[c.Batch * c.Units];
        delta.AsSpan().Fill(T.NaN);

        DenseLayerKernels.HiddenDelta<T>(delta, nextDelta, nextWeights, activations, c.Batch, c.Units, next, c.G);

        double u = ErrorBounds.UnitRoundoff<T>();
        var expected = new double[delta.Length];
        var bound = new double[delta.Length];
        for (int n = 0; n < c.Batch; n++)
        {
            for (int j = 0; j < c.Units; j++)
            {
                double product = 0, magnitude = 0;
                for (int i = 0; i < next; i++)
                {
                    double term = double.CreateChecked(nextDelta[n * next + i]) * double.CreateChecked(nextWeights[i * c.Units + j]);
                    product += term;
                    magnitude += Math.Abs(term);
                }
                double a = double.CreateChecked(activations[n * c.Units + j]);
                double derivative = ReferenceActivation.DerivativeFromOutput(c.G, a);
                expected[n * c.Units + j] = product * derivative;
                bound[n * c.Units + j] = 2 * (ErrorBounds.Gamma(next, u) * magnitude * Math.Abs(derivative)
                    + Math.Abs(product) * ErrorBounds.DerivativeEvaluationError(c.G, a, u) + u * Math.Abs(product * derivative))
                    + ErrorBounds.Tiny<T>();
            }
        }
        Close.Within<T>(delta, expected, bound, $"{c}: Δ");
    }

    internal static void ParameterGradients<T>(LayerCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(c.Seed);
        T[] delta = TestData.Uniform<T>(random, c.Batch * c.Units), x = TestData.Uniform<T>(random, c.Batch * c.Inputs);
        var dW = new T[c.Units * c.Inputs];
        var db = new T[c.Units];
        dW.AsSpan().Fill(T.NaN);
        db.AsSpan().Fill(T.NaN);

        DenseLayerKernels.WeightGradient<T>(dW, delta, x, c.Batch, c.Inputs, c.Units);
        DenseLayerKernels.BiasGradient<T>(db, delta, c.Batch, c.Units);

        double gamma = 2 * ErrorBounds.Gamma(c.Batch, ErrorBounds.UnitRoundoff<T>());
        var expectedW = new double[dW.Length];
        var boundW = new double[dW.Length];
        var expectedB = new double[db.Length];
        var boundB = new double[db.Length];
        for (int n = 0; n < c.Batch; n++)
        {
            for (int i = 0; i < c.Units; i++)
            {
                double d = double.CreateChecked(delta[n * c.Units + i]);
                expectedB[i] += d;                                       // BP3, summed over the batch
                boundB[i] += gamma * Math.Abs(d);
                for (int j = 0; j < c.Inputs; j++)
                {
                    double xj = double.CreateChecked(x[n * c.Inputs + j]);
                    expectedW[i * c.Inputs + j] += d * xj;               // BP4
                    boundW[i * c.Inputs + j] += gamma * Math.Abs(d * xj);
                }
            }
        }
        double tiny = ErrorBounds.Tiny<T>();
        Close.Within<T>(dW, expectedW, boundW.Select(v => v + tiny).ToArray(), $"{c}: ∂C/∂W");
        Close.Within<T>(db, expectedB, boundB.Select(v => v + tiny).ToArray(), $"{c}: ∂C/∂b");
    }

    internal static void OutputDelta<T>(LayerCase c, Head head) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(c.Seed);
        Loss loss = Heads.Loss(head);
        Activation g = Heads.OutputKind(head) == ActivationKind.LeakyReLU ? Activation.LeakyReLU(c.Alpha) : Activation.FromKind(Heads.OutputKind(head));
        int units = loss.Kind == LossKind.SquaredError ? c.Units : 1 + c.Units % 17;
        T[] logits = TestData.Uniform<T>(random, c.Batch * units, -4, 4);
        (T[] targets, int[] classes) = TestData.Targets<T>(random, head, c.Batch, units);
        double[][] z = TestData.Rows<T>(logits, c.Batch, units);
        double[][] a = z.Select(row => ReferenceActivation.ApplyLayer(g, row)).ToArray();
        T[] outputs = a.SelectMany(row => row).Select(v => T.CreateTruncating(v)).ToArray();   // what the forward pass would hand over
        var delta = new T[c.Batch * units];
        delta.AsSpan().Fill(T.NaN);

        T value = Heads.ClassIndices(head)
            ? DenseLayerKernels.OutputDelta<T>(delta, logits, outputs, classes, c.Batch, units, g, loss)
            : DenseLayerKernels.OutputDelta<T>(delta, logits, outputs, targets, c.Batch, units, g, loss);

        double u = ErrorBounds.UnitRoundoff<T>(), tiny = ErrorBounds.Tiny<T>();
        double s = ReferenceLoss.Scale(loss, c.Batch);
        double[][] y = TestData.Rows<T>(targets, c.Batch, units);
        double expectedLoss = 0, lossBound = 0, lossMagnitude = 0;
        for (int n = 0; n < c.Batch; n++)
        {
            // The outputs handed over are g(z) rounded to T: off by u·|a|; the logits are exact.
            double[] zError = new double[units], aError = a[n].Select(v => u * Math.Abs(v)).ToArray();
            double[] expected = ReferenceLoss.OutputDelta(loss, g, z[n], a[n], y[n], s);
            double[] bound = ErrorBounds.OutputDeltaError(loss, g, z[n], a[n], y[n], zError, aError, s, u);
            Close.Within<T>(delta.AsSpan(n * units, units), expected, bound.Select(e => 2 * e + tiny).ToArray(), $"{c}, {head}: Δ row {n}");
            expectedLoss += s * ReferenceLoss.Value(loss, z[n], a[n], y[n]);
            lossBound += ErrorBounds.LossError(loss, z[n], a[n], y[n], zError, aError, s, u);
            lossMagnitude += ErrorBounds.LossMagnitude(loss, z[n], a[n], y[n]);
        }
        lossBound += ErrorBounds.LossRounding(c.Batch * units, s, lossMagnitude, u);
        Close.Within(double.CreateChecked(value), expectedLoss, 2 * lossBound + tiny, $"{c}, {head}: loss");
    }

    private static void Exact<T>(LayerCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(c.Seed);
        T Int() => T.CreateTruncating(random.Next(-8, 9));
        T[] x = Enumerable.Range(0, c.Batch * c.Inputs).Select(_ => Int()).ToArray();
        T[] w = Enumerable.Range(0, c.Units * c.Inputs).Select(_ => Int()).ToArray();
        T[] b = Enumerable.Range(0, c.Units).Select(_ => Int()).ToArray();
        T[] delta = Enumerable.Range(0, c.Batch * c.Units).Select(_ => Int()).ToArray();
        var output = new T[c.Batch * c.Units];
        DenseLayerKernels.Forward<T>(output, c.KeepLogits ? new T[output.Length] : [], x, w, b, c.Batch, c.Inputs, c.Units, c.G);
        var dW = new T[w.Length];
        var db = new T[b.Length];
        DenseLayerKernels.WeightGradient<T>(dW, delta, x, c.Batch, c.Inputs, c.Units);
        DenseLayerKernels.BiasGradient<T>(db, delta, c.Batch, c.Units);
        // HiddenDelta with this layer as "next": Δ_prev (batch×inputs) = (Δ·W) ⊙ g'(X), X as activations of ReLU/identity.
        var previous = new T[x.Length];
        Activation below = c.Kind == ActivationKind.Step ? Activation.Identity : c.G;
        DenseLayerKernels.HiddenDelta<T>(previous, delta, w, x, c.Batch, c.Inputs, c.Units, below);

        for (int n = 0; n < c.Batch; n++)
        {
            for (int i = 0; i < c.Units; i++)
            {
                double z = double.CreateChecked(b[i]);
                for (int j = 0; j < c.Inputs; j++)
                    z += double.CreateChecked(w[i * c.Inputs + j]) * double.CreateChecked(x[n * c.Inputs + j]);
                Assert.Equal(ReferenceActivation.Apply(c.G, z), double.CreateChecked(output[n * c.Units + i]));
            }
            for (int j = 0; j < c.Inputs; j++)
            {
                double sum = 0;
                for (int i = 0; i < c.Units; i++)
                    sum += double.CreateChecked(delta[n * c.Units + i]) * double.CreateChecked(w[i * c.Inputs + j]);
                double expected = sum * ReferenceActivation.DerivativeFromOutput(below, double.CreateChecked(x[n * c.Inputs + j]));
                Assert.Equal(expected, double.CreateChecked(previous[n * c.Inputs + j]));
            }
        }
        for (int i = 0; i < c.Units; i++)
        {
            double sumB = 0;
            for (int n = 0; n < c.Batch; n++)
                sumB += double.CreateChecked(delta[n * c.Units + i]);
            Assert.Equal(sumB, double.CreateChecked(db[i]));
            for (int j = 0; j < c.Inputs; j++)
            {
                double sumW = 0;
                for (int n = 0; n < c.Batch; n++)
                    sumW += double.CreateChecked(delta[n * c.Units + i]) * double.CreateChecked(x[n * c.Inputs + j]);
                Assert.Equal(sumW, double.CreateChecked(dW[i * c.Inputs + j]));
            }
        }
    }
}
