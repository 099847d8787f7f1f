using System.Numerics;
using FastBackprop.Tests.Reference;
using FsCheck;
using FsCheck.Fluent;

namespace FastBackprop.Tests;

/// <summary>
/// Network&lt;T&gt;.Forward and ComputeGradients against the per-sample reference for random architectures
/// (1–4 layers, widths ≤ 70) and every output activation × loss pairing, with tolerances from
/// <see cref="ErrorBounds"/> (float: derived from u = 2⁻²⁴; double: the same bound with u = 2⁻⁵³, i.e. tight).
/// </summary>
public class NetworkTests
{
    [Theory]
    [MemberData(nameof(Heads.All), MemberType = typeof(Heads))]
    public void Float_matches_reference(Head head) => Properties.Check($"network-float-{head}", NetworkCase.Arbitrary(head), Run<float>, 25);

    [Theory]
    [MemberData(nameof(Heads.All), MemberType = typeof(Heads))]
    public void Double_matches_reference(Head head) => Properties.Check($"network-double-{head}", NetworkCase.Arbitrary(head), Run<double>, 20);

    /// <summary>Step layers run inference (forward only), hidden or at the output.</summary>
    [Fact]
    public void Forward_through_step_layers()
    {
        Properties.Check("network-step-forward", NetworkCase.Arbitrary(Head.IdentityMeanSquared), c =>
        {
            var random = new Random(c.Seed);
            LayerSpec[] specs = c.Specs().Select(s => random.Next(2) == 0 ? s with { Activation = Activation.Step } : s).ToArray();
            ForwardMatches<float>(c, specs);
            ForwardMatches<double>(c, specs);
        }, 60);
    }

    [Fact]
    public void Gradients_are_deterministic_and_leave_parameters_alone()
    {
        Properties.Check("network-deterministic", NetworkCase.Arbitrary(Head.SoftmaxMeanClassIndex), c =>
        {
            Network<float> network = Build<float>(c, out float[] x, out _, out int[] classes);
            float[] parameters = network.Parameters.ToArray();
            Gradients<float> first = network.CreateGradients(), second = network.CreateGradients();
            float loss1 = network.ComputeGradients(x, classes, c.Batch, Heads.Loss(c.Head), first);
            var outputs = new float[c.Batch * c.Outputs];
            network.Forward(x, c.Batch, outputs);
            float loss2 = network.ComputeGradients(x, classes, c.Batch, Heads.Loss(c.Head), second);
            Assert.Equal(Bits.Of(loss1), Bits.Of(loss2));
            Bits.Equal<float>(first.Values, second.Values, $"{c}: gradients of the second call");
            Bits.Equal<float>(parameters, network.Parameters, $"{c}: parameters after Forward/ComputeGradients");
        }, 20);
    }

    /// <summary>ComputeLoss is the forward half of ComputeGradients: the same loss bit for bit, and the same
    /// outputs as Forward, with targets and with class indices.</summary>
    [Fact]
    public void ComputeLoss_equals_the_loss_of_ComputeGradients()
    {
        Properties.Check("network-compute-loss", NetworkCase.Arbitrary(Head.SoftmaxMeanClassIndex), c =>
        {
            Network<float> network = Build<float>(c, out float[] x, out float[] targets, out int[] classes);
            Loss loss = Heads.Loss(c.Head);
            Gradients<float> g = network.CreateGradients();
            float expectedIndexed = network.ComputeGradients(x, classes, c.Batch, loss, g);
            float expectedOneHot = network.ComputeGradients(x, targets, c.Batch, loss, g);
            var forward = new float[c.Batch * c.Outputs];
            network.Forward(x, c.Batch, forward);
            var outputs = new float[c.Batch * c.Outputs];
            Assert.Equal(Bits.Of(expectedIndexed), Bits.Of(network.ComputeLoss(x, classes, c.Batch, loss, outputs)));
            Bits.Equal<float>(forward, outputs, $"{c}: outputs of ComputeLoss");
            Assert.Equal(Bits.Of(expectedOneHot), Bits.Of(network.ComputeLoss(x, targets, c.Batch, loss)));
            Assert.Throws<ArgumentException>("outputs", () => network.ComputeLoss(x, classes, c.Batch, loss, new float[outputs.Length + 1]));

            // ComputeGradients can hand out the same outputs, fused (from the logits) or not.
            foreach (bool fused in new[] { true, false })
            {
                network.UseFusedKernels = fused;
                var fromGradients = new float[outputs.Length];
                network.ComputeGradients(x, classes, c.Batch, loss, g, fromGradients);
                Bits.Equal<float>(forward, fromGradients, $"{c}: outputs of ComputeGradients (class indices, fused {fused})");
                fromGradients.AsSpan().Clear();
                network.ComputeGradients(x, targets, c.Batch, loss, g, fromGradients);
                Bits.Equal<float>(forward, fromGradients, $"{c}: outputs of ComputeGradients (targets, fused {fused})");
            }
            network.UseFusedKernels = true;
        }, 20);
    }

    [Fact]
    public void Parameters_are_laid_out_layer_by_layer()
    {
        var network = new Network<double>(3, [new(4, Activation.Tanh), new(2, Activation.Identity)], seed: 7);
        Assert.Equal(4 * 3 + 4 + 2 * 4 + 2, network.Parameters.Length);
        for (int i = 0; i < network.Parameters.Length; i++)
            network.Parameters[i] = i;
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (double)i), network.Weights(0).ToArray());
        Assert.Equal(Enumerable.Range(12, 4).Select(i => (double)i), network.Biases(0).ToArray());
        Assert.Equal(Enumerable.Range(16, 8).Select(i => (double)i), network.Weights(1).ToArray());
        Assert.Equal(Enumerable.Range(24, 2).Select(i => (double)i), network.Biases(1).ToArray());

        Gradients<double> g = network.CreateGradients();
        Assert.Equal(network.Parameters.Length, g.Values.Length);
        for (int i = 0; i < g.Values.Length; i++)
            g.Values[i] = i;
        Assert.Equal(network.Weights(1).ToArray(), g.Weights(1).ToArray());
        Assert.Equal(network.Biases(0).ToArray(), g.Biases(0).ToArray());

        // SetWeights/SetBiases write the same views.
        network.SetWeights(1, Enumerable.Repeat(-1.0, 8).ToArray());
        network.SetBiases(0, [9, 8, 7, 6]);
        Assert.All(network.Parameters.Slice(16, 8).ToArray(), v => Assert.Equal(-1.0, v));
        Assert.Equal(new double[] { 9, 8, 7, 6 }, network.Parameters.Slice(12, 4).ToArray());
    }

    /// <summary>Construction is reproducible from the seed; biases start at zero; Xavier-uniform weights lie
    /// within ±√(6/(fan_in + fan_out)); He-normal weights have standard deviation ≈ √(2/fan_in).</summary>
    [Fact]
    public void Initialisation_follows_the_documented_scheme()
    {
        LayerSpec[] specs = [new(64, Activation.ReLU), new(48, Activation.Sigmoid), new(10, Activation.Softmax)];
        var a = new Network<float>(100, specs, seed: 3);
        var b = new Network<float>(100, specs, seed: 3);
        var other = new Network<float>(100, specs, seed: 4);
        Bits.Equal<float>(a.Parameters, b.Parameters, "same seed");
        Assert.False(a.Parameters.SequenceEqual(other.Parameters));

        for (int l = 0; l < a.LayerCount; l++)
            Assert.All(a.Biases(l).ToArray(), v => Assert.Equal(0f, v));
        double he = Math.Sqrt(2.0 / 100);
        float[] w0 = a.Weights(0).ToArray();
        double std = Math.Sqrt(w0.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.9 * he, 1.1 * he);
        double limit = Math.Sqrt(6.0 / (64 + 48));
        Assert.All(a.Weights(1).ToArray(), v => Assert.InRange(Math.Abs(v), 0, limit));
        Assert.True(a.Weights(1).ToArray().Max(Math.Abs) > 0.8 * limit);
    }

    /// <summary>θ ← θ − η·g, and TrainStep is ComputeGradients then ApplyGradients, returning the loss before the step.</summary>
    [Fact]
    public void Update_is_plain_gradient_descent()
    {
        Properties.Check("network-update", NetworkCase.Arbitrary(Head.SigmoidMeanBinaryCrossEntropy), c =>
        {
            Network<float> network = Build<float>(c, out float[] x, out float[] targets, out _);
            Network<float> twin = Build<float>(c, out _, out _, out _);
            Loss loss = Heads.Loss(c.Head);
            float[] before = network.Parameters.ToArray();
            Gradients<float> g = network.CreateGradients();
            float expectedLoss = network.ComputeGradients(x, targets, c.Batch, loss, g);
            network.ApplyGradients(g, 0.3f);
            double u = ErrorBounds.UnitRoundoff<float>();
            for (int i = 0; i < before.Length; i++)
            {
                double expected = before[i] - 0.3 * (double)g.Values[i];
                Close.Within(network.Parameters[i], expected, 2 * u * (Math.Abs(before[i]) + 2 * Math.Abs(0.3 * g.Values[i])) + 1e-30, $"{c}: θ[{i}]");
            }

            float stepLoss = twin.TrainStep(x, targets, c.Batch, loss, 0.3f);
            Assert.Equal(Bits.Of(expectedLoss), Bits.Of(stepLoss));
            Bits.Equal<float>(network.Parameters, twin.Parameters, $"{c}: TrainStep vs ComputeGradients + ApplyGradients");
        }, 20);
    }

    internal static Network<T> Build<T>(NetworkCase c, out T[] inputs, out T[] targets, out int[] classes, LayerSpec[]? specs = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(c.Seed);
        var network = new Network<T>(c.Inputs, specs ?? c.Specs(), seed: c.Seed);
        for (int l = 0; l < network.LayerCount; l++)
            network.SetBiases(l, TestData.Uniform<T>(random, network.Layer(l).Units, -0.5, 0.5));
        inputs = TestData.Uniform<T>(random, c.Batch * c.Inputs);
        RedrawSamplesNearKinks(network, inputs, c.Batch, random);
        (targets, classes) = TestData.Targets<T>(random, c.Head, c.Batch, c.Outputs);
        return network;
    }

    /// <summary>
    /// A sample with a ReLU/leaky/step pre-activation within rounding of 0 may legitimately take the other
    /// branch in the library, and the bound must then swallow that sample's whole contribution; redrawing
    /// such samples (rare: |z| ≲ 1e-5) keeps every comparison tight.
    /// </summary>
    internal static void RedrawSamplesNearKinks<T>(Network<T> network, T[] inputs, int batch, Random random, double margin = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var reference = ReferenceNetwork.From(network);
        double u = ErrorBounds.UnitRoundoff<T>();
        int d = network.InputSize;
        for (int n = 0; n < batch; n++)
        {
            for (int attempt = 0; attempt < 100; attempt++)
            {
                SampleTrace t = reference.Forward(ReferenceNetwork.ToDouble<T>(inputs.AsSpan(n * d, d)));
                ErrorBounds.ForwardBounds f = ErrorBounds.Forward(reference, t, u);
                bool nearKink = false;
                for (int l = 0; l < network.LayerCount && !nearKink; l++)
                {
                    if (network.Layer(l).Activation.Kind is ActivationKind.ReLU or ActivationKind.LeakyReLU or ActivationKind.Step)
                        nearKink = t.Z[l].Where((z, i) => ErrorBounds.NearKink(z, 2 * f.ZError[l][i]) || Math.Abs(z) < margin).Any();
                }
                if (!nearKink)
                    break;
                TestData.Uniform<T>(random, d).CopyTo(inputs, n * d);
            }
        }
    }

    internal static void Run<T>(NetworkCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Network<T> network = Build<T>(c, out T[] x, out T[] targets, out int[] classes);
        // The fused kernels (the default) and the unfused path must both agree with the reference.
        foreach (bool fused in new[] { true, false })
        {
            network.UseFusedKernels = fused;
            ForwardMatches(c, network, x, c.Batch);
            GradientsMatch(c, network, x, targets, classes, c.Batch);
            if (c.Batch > 1)
            {
                // A smaller batch reuses the workspace sized for the larger one.
                int half = c.Batch / 2;
                GradientsMatch(c, network, x.AsSpan(0, half * c.Inputs).ToArray(), targets.AsSpan(0, half * c.Outputs).ToArray(),
                    classes.AsSpan(0, half).ToArray(), half);
                ForwardMatches(c, network, x.AsSpan(0, half * c.Inputs).ToArray(), half);
            }
        }
        network.UseFusedKernels = true;
        PredictEqualsForward(c, network, x, c.Batch);
    }

    /// <summary>Predict through its own workspace gives Forward's outputs bit for bit, for the whole batch
    /// and for each sample alone through a one-sample workspace (single rows take the matrix-vector path,
    /// so only closeness to the reference is required there).</summary>
    private static void PredictEqualsForward<T>(NetworkCase c, Network<T> network, T[] x, int batch) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var expected = new T[batch * network.OutputSize];
        network.Forward(x, batch, expected);
        var predicted = new T[expected.Length];
        predicted.AsSpan().Fill(T.NaN);
        network.Predict(x, batch, predicted, network.CreateInferenceWorkspace(batch + 3));
        Bits.Equal<T>(expected, predicted, $"{c}: Predict vs Forward");

        InferenceWorkspace<T> single = network.CreateInferenceWorkspace();
        var one = new T[network.OutputSize];
        var forwardOne = new T[network.OutputSize];
        for (int n = 0; n < Math.Min(batch, 3); n++)
        {
            ReadOnlySpan<T> row = x.AsSpan(n * network.InputSize, network.InputSize);
            network.Predict(row, 1, one, single);
            network.Forward(row, 1, forwardOne);
            Bits.Equal<T>(forwardOne, one, $"{c}: single-sample Predict vs Forward, row {n}");
        }
    }

    private static void ForwardMatches<T>(NetworkCase c, LayerSpec[] specs) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Network<T> network = Build<T>(c, out T[] x, out _, out _, specs);
        ForwardMatches(c, network, x, c.Batch);
    }

    private static void ForwardMatches<T>(NetworkCase c, Network<T> network, T[] x, int batch) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var outputs = new T[batch * network.OutputSize];
        outputs.AsSpan().Fill(T.NaN);
        network.Forward(x, batch, outputs);

        var reference = ReferenceNetwork.From(network);
        double u = ErrorBounds.UnitRoundoff<T>(), tiny = ErrorBounds.Tiny<T>();
        double[][] rows = TestData.Rows<T>(x, batch, network.InputSize);
        for (int n = 0; n < batch; n++)
        {
            SampleTrace t = reference.Forward(rows[n]);
            ErrorBounds.ForwardBounds f = ErrorBounds.Forward(reference, t, u);
            Close.Within<T>(outputs.AsSpan(n * network.OutputSize, network.OutputSize), t.A[^1],
                f.AError[^1].Select(e => 2 * e + tiny).ToArray(), $"{c} ({typeof(T).Name}, batch {batch}): output row {n}");
        }
    }

    private static void GradientsMatch<T>(NetworkCase c, Network<T> network, T[] x, T[] targets, int[] classes, int batch)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Loss loss = Heads.Loss(c.Head);
        Gradients<T> gradients = network.CreateGradients();
        gradients.Values.Fill(T.NaN);
        T value = Heads.ClassIndices(c.Head)
            ? network.ComputeGradients(x, classes, batch, loss, gradients)
            : network.ComputeGradients(x, targets, batch, loss, gradients);

        var reference = ReferenceNetwork.From(network);
        double[][] y = Heads.ClassIndices(c.Head)
            ? ReferenceLoss.OneHot(classes, network.OutputSize)
            : TestData.Rows<T>(targets, batch, network.OutputSize);
        ReferenceGradients expected = reference.Backpropagate(TestData.Rows<T>(x, batch, network.InputSize), y, loss);
        double u = ErrorBounds.UnitRoundoff<T>(), tiny = ErrorBounds.Tiny<T>();
        ErrorBounds.GradientBounds bounds = ErrorBounds.Backward(reference, expected, y, loss, u);
        string what = $"{c} ({typeof(T).Name}, batch {batch})";

        Close.Within(double.CreateChecked(value), expected.Loss, 2 * bounds.Loss + tiny, $"{what}: loss");
        for (int l = 0; l < network.LayerCount; l++)
        {
            Close.Within<T>(gradients.Weights(l), expected.Weights[l], bounds.Weights[l].Select(e => 2 * e + tiny).ToArray(), $"{what}: ∂C/∂W_{l}");
            Close.Within<T>(gradients.Biases(l), expected.Biases[l], bounds.Biases[l].Select(e => 2 * e + tiny).ToArray(), $"{what}: ∂C/∂b_{l}");
        }
    }
}
