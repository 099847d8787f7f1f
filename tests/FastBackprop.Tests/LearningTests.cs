using System.Numerics;
namespace FastBackprop.Tests;

/// <summary>MATH.md's worked examples: XOR, a 3-4-3-1 network's shapes, and one hidden layer fitting sin.</summary>
public class LearningTests
{
    private static readonly float[] XorInputs = [0, 0, 0, 1, 1, 0, 1, 1];
    private static readonly float[] XorTargets = [0, 1, 1, 0];

    /// <summary>A 2-4-1 sigmoid network learns XOR (not linearly separable) by full-batch gradient descent, from every seed.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Xor_with_binary_cross_entropy(int seed)
    {
        var network = new Network<float>(2, [new(4, Activation.Sigmoid), new(1, Activation.Sigmoid)], seed);
        float first = 0, last = 0;
        for (int step = 0; step < 3000; step++)
        {
            last = network.TrainStep(XorInputs, XorTargets, 4, Loss.BinaryCrossEntropy, 3f);
            if (step == 0)
                first = last;
        }
        Assert.True(last < first, $"loss went from {first} to {last}");
        AssertSolvesXor(network, seed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Xor_with_squared_error(int seed)
    {
        var network = new Network<double>(2, [new(4, Activation.Sigmoid), new(1, Activation.Sigmoid)], seed);
        double[] inputs = XorInputs.Select(v => (double)v).ToArray(), targets = XorTargets.Select(v => (double)v).ToArray();
        for (int step = 0; step < 6000; step++)
            network.TrainStep(inputs, targets, 4, Loss.SumSquaredError, 2.0);
        AssertSolvesXor(network, seed);
    }

    /// <summary>A single layer cannot: the best a linear boundary does is 3 of 4, and for the cross-entropy the best
    /// single sigmoid unit is w = 0, b = 0 — every output ½, loss ln 2 per sample. Training must get there from a start
    /// that is measurably worse (so the test fails if training does nothing), and still not separate XOR.</summary>
    [Fact]
    public void Xor_is_not_linearly_separable()
    {
        var network = new Network<float>(2, [new(1, Activation.Sigmoid)], seed: 1);
        float initial = network.ComputeLoss(XorInputs, XorTargets, 4, Loss.BinaryCrossEntropy);
        Assert.True(initial > MathF.Log(2) + 0.01f, $"the starting loss {initial} is already the optimum; pick another seed");
        for (int step = 0; step < 3000; step++)
            network.TrainStep(XorInputs, XorTargets, 4, Loss.BinaryCrossEntropy, 3f);
        var outputs = new float[4];
        float trained = network.ComputeLoss(XorInputs, XorTargets, 4, Loss.BinaryCrossEntropy, outputs);
        Assert.True(Math.Abs(trained - MathF.Log(2)) < 1e-3f, $"loss {initial} → {trained}, expected the linear optimum ln 2 = {MathF.Log(2)}");
        Assert.All(outputs, o => Assert.InRange(o, 0.49f, 0.51f));
        int correct = Enumerable.Range(0, 4).Count(i => (outputs[i] > 0.5f) == (XorTargets[i] == 1));
        Assert.True(correct < 4, $"a single sigmoid unit separated XOR: {string.Join(", ", outputs)}");
    }

    private static void AssertSolvesXor<T>(Network<T> network, int seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        T[] inputs = XorInputs.Select(T.CreateChecked).ToArray();
        var outputs = new T[4];
        network.Forward(inputs, 4, outputs);
        for (int i = 0; i < 4; i++)
            Assert.True((double.CreateChecked(outputs[i]) > 0.5) == (XorTargets[i] == 1), $"seed {seed}: XOR({XorInputs[2 * i]}, {XorInputs[2 * i + 1]}) = {outputs[i]}");
    }

    /// <summary>MATH.md: d = 3, m₁ = 4, m₂ = 3, m₃ = 1 gives W₁ 4×3, W₂ 3×4, W₃ 1×3; row i of W holds unit i's input weights.</summary>
    [Fact]
    public void Network_3_4_3_1_has_the_shapes_of_the_notes()
    {
        var network = new Network<double>(3, [new(4, Activation.Sigmoid), new(3, Activation.Sigmoid), new(1, Activation.Sigmoid)]);
        Assert.Equal(3, network.InputSize);
        Assert.Equal(1, network.OutputSize);
        Assert.Equal(3, network.LayerCount);
        (int Rows, int Columns)[] expected = [(4, 3), (3, 4), (1, 3)];
        for (int l = 0; l < 3; l++)
        {
            Assert.Equal(expected[l].Rows, network.Layer(l).Units);
            Assert.Equal(expected[l].Columns, network.LayerInputs(l));
            Assert.Equal(expected[l].Rows * expected[l].Columns, network.Weights(l).Length);
            Assert.Equal(expected[l].Rows, network.Biases(l).Length);
        }
        Assert.Equal(12 + 4 + 12 + 3 + 3 + 1, network.Parameters.Length);
        Gradients<double> g = network.CreateGradients();
        for (int l = 0; l < 3; l++)
            Assert.Equal(network.Weights(l).Length, g.Weights(l).Length);

        // w_{i,j} is the weight of input j into unit i: a one-hot W₁ routes input j to unit i.
        var identity = new Network<double>(3, [new(4, Activation.Identity)]);
        var w = new double[12];
        w[0 * 3 + 2] = 1;   // unit 0 ← input 2
        w[3 * 3 + 0] = 1;   // unit 3 ← input 0
        identity.SetWeights(0, w);
        var output = new double[4];
        identity.Forward([10, 20, 30], 1, output);
        Assert.Equal(new double[] { 30, 0, 0, 10 }, output);
    }

    /// <summary>Universal approximation: 1-32-1 with tanh hidden units and a linear output fits sin on [−π, π].</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Tanh_network_fits_sine(int seed)
    {
        const int samples = 64;
        float[] x = Enumerable.Range(0, samples).Select(i => (float)(-Math.PI + 2 * Math.PI * i / (samples - 1))).ToArray();
        float[] y = x.Select(v => (float)Math.Sin(v)).ToArray();
        var network = new Network<float>(1, [new(32, Activation.Tanh), new(1, Activation.Identity)], seed);
        for (int step = 0; step < 2000; step++)
            network.TrainStep(x, y, samples, Loss.MeanSquaredError, 0.1f);
        var outputs = new float[samples];
        network.Forward(x, samples, outputs);
        double mse = outputs.Select((o, i) => (o - y[i]) * (double)(o - y[i])).Average();
        Assert.True(mse < 0.01, $"seed {seed}: mean squared error {mse}");
    }
}
