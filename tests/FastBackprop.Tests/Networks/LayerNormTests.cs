using System.Buffers.Binary;
using System.Security.Cryptography;
using FastBackprop.Tests.Onnx;

namespace FastBackprop.Tests.Networks;

/// <summary>
/// Layer normalisation (docs/MATH.md, "Layer normalisation"): its forward pass against a scalar double reference within a
/// bound derived from the arithmetic, its gradients against PyTorch's <c>nn.LayerNorm</c> and against central
/// differences, and the kind's life outside the network: the model file, ONNX both ways, the int8 path (which keeps it in
/// fp32) and the command line.
/// </summary>
public class LayerNormTests
{
    /// <summary>The C# twin of tools/reference/layernorm_pytorch.py's values(): every number of the PyTorch case comes from
    /// this formula on both sides.</summary>
    private static double[] Values(int count, double seed, double scale)
        => Enumerable.Range(0, count).Select(i => Math.Sin(0.37 * i + seed) * scale * (1 + 0.5 * (i % 3))).ToArray();

    // Printed by tools/reference/layernorm_pytorch.py (PyTorch 1.13, float64).
    private const double TorchLoss = 24.54375403866945;
    private static readonly double[] TorchOutputs = [1.1066495464160873, -0.7423573177184652, -0.6371467395691097, 0.8063040120144971, -0.6248689662423346, -0.4038185230193168, 1.5645454256239002, -1.0101096104814713, 2.3133992515060746, 1.628752686247401, -1.2207339005413982, 2.410115936155045, 0.9461404153253706, -0.9882380709646371, -0.3445560415158517];
    private static readonly double[] TorchFirstWeightGradient = [0.1926922495076531, 0.12690874778542827, 0.245749118996691, 0.12913062725829666, -0.09362029920804044, 0.25696440301838813, 0.759435349486176, 1.2772872424587374, -0.01773208417458999, 0.35327292213978434, 0.48230568500667725, 0.673922668095994, 0.09606543642660863, -0.04052543368065098, -0.09648815187861493, -0.2650055315638889, -0.36833632643624015, -0.7135493597504935, -1.4026723679407083, -0.8375300868178761, -0.048622216931604, -0.1003035061936999, -0.30712374073327714, -0.42090932573431955, -1.3402771183350146, -2.810587485804261, -2.699001494755415, -2.6902709774222466];
    private static readonly double[] TorchFirstBiasGradient = [-0.7853577781772347, -0.6932371796592308, 0.6211954356355028, -0.20899421166581708, 1.9603914575418342, 0.6003118910270283, -2.178284833902292];
    private static readonly double[] TorchGammaGradient = [4.307587476371052, 0.5287738994060386, 2.31510260082174, 5.901084603924965, -1.5086790031873785, -6.68397142547675, 8.87568496982707];
    private static readonly double[] TorchBetaGradient = [-0.032674329579731154, 5.2273751370138735, 8.0412839828113, 8.217159549464743, 9.953270931921313, 8.733089667949356, 7.340383586726918];
    private static readonly double[] TorchLastWeightGradient = [-0.7599114292297502, -0.4768586142998652, 4.841051283704694, 4.173125767748085, 1.380064350691075, 0.2594820929202828, 2.114435211933883, -3.0310556764481063, -4.429853415958372, 3.101886892981029, 3.6660783918005464, -4.3734688034698905, -4.987838823703779, 1.7072428313790358, -10.185104251450111, -10.359765775646828, 21.40994277356356, 17.84034573609161, -9.663946818671386, -12.614333647415938, 11.725266757675435];
    private static readonly double[] TorchLastBiasGradient = [5.9327913839191915, -4.465612747931516, 3.877268244328174];

    [Fact]
    public void Outputs_and_every_gradient_match_PyTorch()
    {
        const int samples = 5, inputs = 4, width = 7, outputs = 3;
        var network = new Network<double>(inputs, [new(width, Activation.Tanh), LayerSpec.LayerNorm(1e-3), new(outputs, Activation.Identity)]);
        network.SetWeights(0, Values(width * inputs, 0.2, 0.6));
        network.SetBiases(0, Values(width, 0.3, 0.2));
        network.SetWeights(1, Values(width, 0.4, 0.3).Select(v => 1 + v).ToArray());
        network.SetBiases(1, Values(width, 0.5, 0.25));
        network.SetWeights(2, Values(outputs * width, 0.6, 0.5));
        network.SetBiases(2, Values(outputs, 0.8, 0.1));
        double[] x = Values(samples * inputs, 0.1, 1.0), target = Values(samples * outputs, 0.7, 0.8);

        var y = new double[samples * outputs];
        Gradients<double> g = network.CreateGradients();
        double loss = network.ComputeGradients(x, target, samples, Loss.SumSquaredError, g, y);

        // Double against double, different summation orders: agreement to a few units in the 15th digit.
        static void Close(double[] want, ReadOnlySpan<double> got, string what)
        {
            Assert.Equal(want.Length, got.Length);
            for (int i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(want[i] - got[i]) <= 1e-12 * Math.Max(1, Math.Abs(want[i])), $"{what}[{i}]: PyTorch {want[i]:R}, FastBackprop {got[i]:R}");
        }
        Close([TorchLoss], [loss], "loss");
        Close(TorchOutputs, y, "output");
        Close(TorchFirstWeightGradient, g.Weights(0), "∂C/∂W0");
        Close(TorchFirstBiasGradient, g.Biases(0), "∂C/∂b0");
        Close(TorchGammaGradient, g.Weights(1), "∂C/∂γ");
        Close(TorchBetaGradient, g.Biases(1), "∂C/∂β");
        Close(TorchLastWeightGradient, g.Weights(2), "∂C/∂W2");
        Close(TorchLastBiasGradient, g.Biases(2), "∂C/∂b2");
    }

    public static TheoryData<int, int, double> Shapes => new()
    {
        // Widths: 1 (σ² = 0: the output is β), primes, one past and one short of 8 and 16 lanes, a wide row.
        { 1, 3, 0 }, { 2, 1, 5 }, { 3, 5, 0 }, { 7, 2, 100 }, { 8, 13, 0 }, { 9, 4, -3 }, { 16, 1, 0 }, { 17, 6, 1000 },
        { 31, 3, 0 }, { 33, 7, 0.5 }, { 64, 2, 0 }, { 65, 5, 20 }, { 257, 3, 0 }, { 1031, 2, 7 },
    };

    /// <summary>Float forward pass against the same formula in double, within a bound derived from the float arithmetic
    /// (u = 2⁻²⁴, sums of n terms): |μ̃ − μ| ≤ (n + 1)·u·mean|x| =: e_μ; the variance's relative error ≤ (n + 3)·u + 2·e_μ·mean|x − μ|/σ²,
    /// so 1/√(σ² + ε) is off by at most half that plus 2u, relatively; x̂ by (e_μ + u·|x − μ|)·s + |x̂|·(that + u); and
    /// y = γ·x̂ + β adds |γ|·err(x̂) and u·(|γ·x̂| + |y|). Doubled for the second-order terms. Inputs get an offset, so the
    /// mean's cancellation is exercised.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void Forward_matches_a_double_reference_within_the_derived_bound(int width, int batch, double offset)
    {
        var random = new Random(width * 31 + batch);
        const double epsilon = 1e-5;
        var network = new Network<float>(width, [LayerSpec.LayerNorm(epsilon), new(width, Activation.Identity)]);
        float[] gamma = Enumerable.Range(0, width).Select(_ => (float)(random.NextDouble() * 3 - 1.5)).ToArray();
        float[] beta = Enumerable.Range(0, width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        network.SetWeights(0, gamma);
        network.SetBiases(0, beta);
        // The dense layer is the identity (one product by 1 per output, then zeros): it hands y on exactly.
        var identity = new float[width * width];
        for (int i = 0; i < width; i++)
            identity[i * width + i] = 1;
        network.SetWeights(1, identity);
        float[] x = Enumerable.Range(0, batch * width).Select(_ => (float)(offset + random.NextDouble() * 2 - 1)).ToArray();
        var y = new float[batch * width];
        network.Predict(x, batch, y, network.CreateInferenceWorkspace(batch));

        const double u = 1.0 / (1 << 24);
        for (int r = 0; r < batch; r++)
        {
            double[] row = x.AsSpan(r * width, width).ToArray().Select(v => (double)v).ToArray();
            double mean = row.Average(), variance = row.Sum(v => (v - mean) * (v - mean)) / width;
            double scale = 1 / Math.Sqrt(variance + epsilon);
            double meanAbs = row.Average(Math.Abs), spread = row.Average(v => Math.Abs(v - mean));
            double meanError = (width + 1) * u * meanAbs;
            double scaleError = ((width + 3) * u + 2 * meanError * spread / (variance + epsilon)) / 2 + 2 * u;
            for (int i = 0; i < width; i++)
            {
                double xHat = (row[i] - mean) * scale, want = gamma[i] * xHat + beta[i];
                double xHatError = (meanError + u * Math.Abs(row[i] - mean)) * scale + Math.Abs(xHat) * (scaleError + u);
                double bound = 2 * (Math.Abs(gamma[i]) * xHatError + u * (Math.Abs(gamma[i] * xHat) + Math.Abs(want)));
                double got = y[r * width + i];
                Assert.True(Math.Abs(got - want) <= bound, $"width {width}, row {r}, feature {i}: {got:R} against {want:R}, off by {Math.Abs(got - want):E2} > {bound:E2}");
            }
        }
    }

    /// <summary>The row sums follow the order MATH.md states — element i into partial i mod 8, then
    /// ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)) — bit for bit, here written out in the plainest way. Values spread
    /// over six decades, so another order would round differently.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(17)]
    [InlineData(64)]
    [InlineData(131)]
    public void Row_sums_follow_the_documented_order_bit_for_bit(int n)
    {
        var random = new Random(n);
        float[] Draw() => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() - 0.3) * Math.Pow(10, random.Next(-3, 3)))).ToArray();
        float[] x = Draw(), gamma = Draw(), xHat = Draw();
        const float mean = 0.37f;
        static float Ordered(IEnumerable<float> terms)
        {
            var s = new float[8];
            int i = 0;
            foreach (float t in terms)
                s[i++ % 8] += t;
            return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        }
        float[] scaled = x.Select((v, i) => v * gamma[i]).ToArray();
        Bits.Equal<float>([Ordered(x)], [LayerNormLayer<float>.RowSums.Sum(x)], "Σx");
        Bits.Equal<float>([Ordered(x.Select(v => (v - mean) * (v - mean)))], [LayerNormLayer<float>.RowSums.SquaredDeviations(x, mean)], "Σ(x − μ)²");
        (float sum, float dot) = LayerNormLayer<float>.RowSums.ScaledAndDot(x, gamma, xHat);
        Bits.Equal<float>([Ordered(scaled), Ordered(scaled.Select((v, i) => v * xHat[i]))], [sum, dot], "Σ gγ, Σ gγx̂");
    }

    public static TheoryData<string> Placements => ["first", "middle", "before dropout", "two"];

    /// <summary>Every parameter's gradient (a dense layer's below and above, γ and β) against central differences of the
    /// loss in double: h = 1e-5 leaves a truncation error of order h²·|C'''| and a rounding error of order u·|C|/h, both
    /// far below the 1e-7 allowed.</summary>
    [Theory]
    [MemberData(nameof(Placements))]
    public void Gradients_match_central_differences(string placement)
    {
        const int samples = 6, inputs = 5, classes = 4;
        LayerSpec[] layers = placement switch
        {
            "first" => [LayerSpec.LayerNorm(), new(7, Activation.Tanh), new(classes, Activation.Softmax)],
            "middle" => [new(7, Activation.SiLU), LayerSpec.LayerNorm(1e-2), new(classes, Activation.Softmax)],
            "before dropout" => [new(7, Activation.Tanh), LayerSpec.LayerNorm(), LayerSpec.Dropout(0.3), new(classes, Activation.Softmax)],
            _ => [new(7, Activation.ReLU), LayerSpec.LayerNorm(), new(6, Activation.Sigmoid), LayerSpec.LayerNorm(1e-3), new(classes, Activation.Softmax)],
        };
        var network = new Network<double>(inputs, layers, seed: 3);
        var random = new Random(4);
        for (int l = 0; l < network.LayerCount; l++)
        {
            if (network.Layer(l).Kind == LayerKind.LayerNorm)
            {
                network.SetWeights(l, Enumerable.Range(0, network.Weights(l).Length).Select(_ => 0.5 + random.NextDouble()).ToArray());
                network.SetBiases(l, Enumerable.Range(0, network.Biases(l).Length).Select(_ => random.NextDouble() - 0.5).ToArray());
            }
        }
        double[] x = Enumerable.Range(0, samples * inputs).Select(_ => random.NextDouble() * 4 - 2).ToArray();
        int[] labels = Enumerable.Range(0, samples).Select(_ => random.Next(classes)).ToArray();
        Gradients<double> g = network.CreateGradients();
        ulong step = network.DropoutStep;
        network.ComputeGradients(x, labels, samples, Loss.SoftmaxCrossEntropy, g);

        Span<double> theta = network.Parameters;
        const double h = 1e-5;
        for (int i = 0; i < theta.Length; i++)
        {
            double kept = theta[i];
            theta[i] = kept + h;
            double plus = LossAt(network, x, labels, samples, step);
            theta[i] = kept - h;
            double minus = LossAt(network, x, labels, samples, step);
            theta[i] = kept;
            double numeric = (plus - minus) / (2 * h);
            Assert.True(Math.Abs(numeric - g.Values[i]) <= 1e-7 * Math.Max(1, Math.Abs(numeric)),
                $"{placement}: parameter {i}: backpropagation {g.Values[i]:R}, central difference {numeric:R}");
        }
    }

    /// <summary>The training loss with the dropout masks of <paramref name="step"/> (the ones the gradients saw).</summary>
    private static double LossAt(Network<double> network, double[] x, int[] labels, int samples, ulong step)
    {
        network.DropoutStep = step;
        double loss = network.ComputeGradients(x, labels, samples, Loss.SoftmaxCrossEntropy, network.CreateGradients());
        return loss;
    }

    /// <summary>Gradients are overwritten, not added to, by a second call; and the fused SGD step (<c>TrainStep</c>: γ and β
    /// updated as soon as their gradients are known) gives the bits of ComputeGradients followed by ApplyGradients.</summary>
    [Fact]
    public void Gradients_are_overwritten_and_the_fused_step_equals_gradients_then_update()
    {
        static Network<float> Net() => new(5, [new(6, Activation.Tanh), LayerSpec.LayerNorm(), new(6, Activation.ReLU), LayerSpec.LayerNorm(1e-3),
            new(3, Activation.Softmax)], seed: 11);
        var random = new Random(12);
        float[] x = Enumerable.Range(0, 7 * 5).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        int[] labels = Enumerable.Range(0, 7).Select(_ => random.Next(3)).ToArray();
        Network<float> once = Net(), twice = Net(), fused = Net();
        Gradients<float> g1 = once.CreateGradients(), g2 = twice.CreateGradients();
        once.ComputeGradients(x, labels, 7, Loss.SoftmaxCrossEntropy, g1);
        twice.ComputeGradients(x, labels, 7, Loss.SoftmaxCrossEntropy, g2);
        twice.ComputeGradients(x, labels, 7, Loss.SoftmaxCrossEntropy, g2);
        Bits.Equal<float>(g1.Values, g2.Values, "gradients computed twice into one buffer");
        Assert.Contains(g1.Weights(1).ToArray(), v => v != 0);
        once.ApplyGradients(g1, 0.1);
        fused.TrainStep(x, labels, 7, Loss.SoftmaxCrossEntropy, 0.1);
        Bits.Equal<float>(once.Parameters, fused.Parameters, "TrainStep against ComputeGradients + ApplyGradients");
        Assert.NotEqual(Net().Weights(3).ToArray(), fused.Weights(3).ToArray());
    }

    [Fact]
    public void A_new_layer_normalisation_starts_as_the_identity_normalisation_and_states_its_width()
    {
        var network = new Network<float>(4, [new(6, Activation.ReLU), LayerSpec.LayerNorm(1e-4), new(2, Activation.Softmax)]);
        Assert.Equal(LayerSpec.LayerNorm(1e-4) with { Units = 6 }, network.Layer(1));
        Assert.Equal(6, network.LayerInputs(1));
        Assert.All(network.Weights(1).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(network.Biases(1).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal((4 + 1) * 6 + 2 * 6 + (6 + 1) * 2, network.Parameters.Length);
        // Adding the kind draws no random numbers: the dense layers start as they would without it.
        var plain = new Network<float>(4, [new(6, Activation.ReLU), new(2, Activation.Softmax)]);
        Assert.Equal(plain.Weights(0).ToArray(), network.Weights(0).ToArray());
        Assert.Equal(plain.Weights(1).ToArray(), network.Weights(2).ToArray());
        Assert.Equal("LayerNorm(0.0001)", LayerSpec.LayerNorm(1e-4).ToString());
    }

    public static TheoryData<string, LayerSpec[], string> Refusals => new()
    {
        { "last", [new(3, Activation.Tanh), LayerSpec.LayerNorm()], "The last layer must be dense (it feeds the loss), but layer 1 is LayerNorm(1E-05)." },
        { "epsilon 0 set internally after the factory", [LayerSpec.LayerNorm() with { Value = 0 }, new(2, Activation.Tanh)], "Layer 0's layer-norm epsilon must be in [1E-12, 1]." },
        { "epsilon NaN", [new(3, Activation.Tanh), LayerSpec.LayerNorm() with { Value = double.NaN }, new(2, Activation.Tanh)], "Layer 1's layer-norm epsilon must be in [1E-12, 1]." },
        { "an activation", [LayerSpec.LayerNorm() with { Activation = Activation.ReLU }, new(2, Activation.Tanh)], "Layer 0 is LayerNorm(1E-05), which has no activation, but the spec sets ReLU." },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Invalid_layer_normalisations_are_refused_naming_the_layer(string why, LayerSpec[] layers, string message)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new Network<float>(3, layers));
        Assert.True(e.Message.StartsWith(message, StringComparison.Ordinal), $"{why}: {e.Message}");
        Assert.Equal("layers", e.ParamName);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1e-13)]
    [InlineData(1.5)]
    [InlineData(double.PositiveInfinity)]
    public void The_factory_refuses_an_epsilon_out_of_range(double epsilon)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LayerSpec.LayerNorm(epsilon));
        Assert.Equal("epsilon", e.ParamName);
        Assert.StartsWith($"A layer normalisation's epsilon must be in [1E-12, 1] (got {epsilon}).", e.Message);
    }

    private static Model<float> SmallModel(int seed = 5)
    {
        Network<float> net = OnnxTestModels.Net(seed, 6, new(9, Activation.ReLU), LayerSpec.LayerNorm(1e-3), LayerSpec.Dropout(0.2),
            new(5, Activation.Tanh), LayerSpec.LayerNorm(), new(3, Activation.Softmax));
        var random = new Random(seed);
        foreach (int l in new[] { 1, 4 })
            net.SetWeights(l, OnnxTestModels.RandomValues(random, net.Weights(l).Length, 2));
        return new Model<float>(net, OnnxTestModels.Scaler(seed, 6), ["a", "b", "c"], Loss.SoftmaxCrossEntropy);
    }

    private static float[] Predict(Model<float> model, float[] x, int batch)
    {
        var y = new float[batch * model.OutputSize];
        model.Predict(x, batch, y);
        return y;
    }

    [Fact]
    public void A_model_file_keeps_the_layer_normalisations_bit_for_bit()
    {
        Model<float> model = SmallModel();
        using var stream = new MemoryStream();
        ModelFile.Save(stream, model);
        stream.Position = 0;
        Model<float> loaded = ModelFile.Load<float>(stream);
        Assert.Equal(Enumerable.Range(0, 6).Select(model.Network.Layer), Enumerable.Range(0, 6).Select(loaded.Network.Layer));
        Assert.Equal(model.Network.Parameters.ToArray(), loaded.Network.Parameters.ToArray());
        float[] x = OnnxTestModels.RandomValues(new Random(1), 7 * 6, 40);
        Assert.Equal(Predict(model, x, 7), Predict(loaded, x, 7));
        // The record: units = the width, activation 0, kind 2, ε as a double.
        byte[] bytes = stream.ToArray();
        int record = 24 + 16 * 1;
        Assert.Equal(9, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(record)));
        Assert.Equal((0, 2), (bytes[record + 4], bytes[record + 5]));
        Assert.Equal(1e-3, BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(record + 8)));
        Assert.Equal(5u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
    }

    /// <summary>The model file of <see cref="SmallModel"/> with <paramref name="edit"/> applied and its checksum redone.</summary>
    private static byte[] Edited(Action<byte[]> edit)
    {
        using var stream = new MemoryStream();
        ModelFile.Save(stream, SmallModel());
        byte[] bytes = stream.ToArray();
        edit(bytes);
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32), bytes.AsSpan(bytes.Length - 32));
        return bytes;
    }

    public static TheoryData<string, string> RecordDefects => new()
    {
        { "version 4", "offset 45, layer 1 kind: unknown layer kind 2 (0 dense, 1 dropout, 128 int8 dense)." },
        { "epsilon 0", "offset 48, layer 1 layer-norm epsilon: 0 must be in [1E-12, 1]." },
        { "epsilon 2", "offset 48, layer 1 layer-norm epsilon: 2 must be in [1E-12, 1]." },
        { "units 8", "offset 40, layer 1 units: 8, but a layer-norm layer is as wide as its input (9)." },
        { "activation ReLU", "offset 44, layer 1 activation: a layer-norm layer has no activation (0), not ReLU." },
    };

    [Theory]
    [MemberData(nameof(RecordDefects))]
    public void A_corrupt_layer_normalisation_record_is_refused_naming_its_field(string defect, string message)
    {
        const int record = 24 + 16;
        byte[] bytes = Edited(b =>
        {
            switch (defect)
            {
                case "version 4": BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), 4); break;
                case "epsilon 0": BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(record + 8), 0); break;
                case "epsilon 2": BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(record + 8), 2); break;
                case "units 8": BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(record), 8); break;
                case "activation ReLU": b[record + 4] = (byte)ActivationKind.ReLU; break;
            }
        });
        var e = Assert.Throws<InvalidDataException>(() => ModelFile.Load<float>(new MemoryStream(bytes)));
        Assert.True(e.Message.EndsWith(message, StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public void Onnx_export_writes_LayerNormalization_and_import_gives_the_same_predictions()
    {
        Model<float> model = SmallModel();
        using var stream = new MemoryStream();
        OnnxModel.Export(model, stream);
        stream.Position = 0;
        Model<float> imported = OnnxModel.Import<float>(stream);
        // Dropout is left out of the graph; the layer normalisations come back with their ε, γ and β.
        Assert.Equal([LayerKind.Dense, LayerKind.LayerNorm, LayerKind.Dense, LayerKind.LayerNorm, LayerKind.Dense],
            Enumerable.Range(0, imported.Network.LayerCount).Select(l => imported.Network.Layer(l).Kind));
        Assert.Equal(1e-3, imported.Network.Layer(1).Epsilon);
        Assert.Equal(1e-5, imported.Network.Layer(3).Epsilon);
        Assert.Equal(model.Network.Weights(1).ToArray(), imported.Network.Weights(1).ToArray());
        float[] x = OnnxTestModels.RandomValues(new Random(2), 9 * 6, 40);
        Assert.Equal(Predict(model, x, 9), Predict(imported, x, 9));
        // The node as written: the chain's value, the layer's scale and bias initializers, the last axis, ε as float.
        FastBackprop.Onnx.OnnxGraph graph = FastBackprop.Onnx.OnnxParser.Parse(stream.ToArray(), null).Graph!;
        FastBackprop.Onnx.OnnxNode norm = graph.Nodes.Single(n => n.Name == "layer1_layernorm");
        Assert.Equal(("LayerNormalization", "layer0_relu_out", "layer1_scale", "layer1_bias"), (norm.OpType, norm.Inputs[0], norm.Inputs[1], norm.Inputs[2]));
        Assert.Equal([("axis", -1L, 0f), ("epsilon", 0L, 1e-3f)], norm.Attributes.Select(a => (a.Name, a.I, a.F)));
        Assert.Equal(model.Network.Biases(1).ToArray(), graph.Initializers["layer1_bias"].Floats);
    }

    [Fact]
    public void A_PyTorch_style_graph_imports_Linear_ReLU_LayerNorm_Linear()
    {
        var random = new Random(6);
        float[] w1 = OnnxTestModels.RandomValues(random, 4 * 5, 1), b1 = OnnxTestModels.RandomValues(random, 5, 1);
        float[] gamma = OnnxTestModels.RandomValues(random, 5, 2), beta = OnnxTestModels.RandomValues(random, 5, 1);
        float[] w2 = OnnxTestModels.RandomValues(random, 5 * 2, 1);
        var graph = new OnnxGraphBuilder { Opset = 17 }.Input("x", null, 4).Output("y", null, 2)
            .Initializer("w1", [4, 5], Transposed(w1, 5, 4)).Initializer("b1", [5], b1)
            .Initializer("gamma", [5], gamma).Initializer("beta", [5], beta)
            .Initializer("w2", [2, 5], w2)
            .Node("MatMul", "fc1", ["x", "w1"], "mm").Node("Add", "fc1_bias", ["mm", "b1"], "z1").Node("Relu", "act1", ["z1"], "a1")
            .Node("LayerNormalization", "norm1", ["a1", "gamma", "beta"], "n1", ("axis", -1L), ("epsilon", 1e-5f))
            .Node("Gemm", "fc2", ["n1", "w2"], "y", ("transB", 1L));
        Model<float> model = OnnxModel.Import<float>(new MemoryStream(graph.Build()));
        Network<float> net = model.Network;
        Assert.Equal(LayerSpec.LayerNorm(1e-5) with { Units = 5 }, net.Layer(1));
        Assert.Equal(gamma, net.Weights(1).ToArray());
        Assert.Equal(beta, net.Biases(1).ToArray());
    }

    private static float[] Transposed(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[c * rows + r] = m[r * cols + c];
        return t;
    }

    public static TheoryData<string, string> OnnxRefusals => new()
    {
        { "axis 0", "axis = 0: only the last axis of a [batch, features] tensor (1 or -1) is supported." },
        { "stash_type 0", "stash_type = 0: only 1 (the statistics in float32) is supported." },
        { "epsilon 0", "epsilon = 0 is outside [1E-12, 1], the range the library's layer normalisation takes." },
        { "scale of 4", "its scale 'gamma' has dims [4]; [5] (one per feature of its input) is needed." },
        { "Relu after it", "Relu does not follow a Gemm or MatMul: an activation must come right after a dense layer (one per layer)." },
        { "one input", "it has 1 inputs; 2 to 3 expected." },
        { "an unknown attribute", "attribute 'momentum' is not supported on LayerNormalization (only axis, epsilon, stash_type)." },
        { "axis 1", "" },
    };

    [Theory]
    [MemberData(nameof(OnnxRefusals))]
    public void A_LayerNormalization_the_library_cannot_run_exactly_is_refused(string defect, string message)
    {
        var random = new Random(7);
        var graph = new OnnxGraphBuilder { Opset = 17 }.Input("x", null, 3).Output("y", null, 2)
            .Initializer("w1", [5, 3], OnnxTestModels.RandomValues(random, 15, 1))
            .Initializer("gamma", defect == "scale of 4" ? [4] : [5], OnnxTestModels.RandomValues(random, defect == "scale of 4" ? 4 : 5, 1))
            .Initializer("w2", [2, 5], OnnxTestModels.RandomValues(random, 10, 1))
            .Node("Gemm", "fc1", ["x", "w1"], "z1", ("transB", 1L));
        graph = defect switch
        {
            "axis 0" => graph.Node("LayerNormalization", "norm", ["z1", "gamma"], "n1", ("axis", 0L)),
            "stash_type 0" => graph.Node("LayerNormalization", "norm", ["z1", "gamma"], "n1", ("stash_type", 0L)),
            "epsilon 0" => graph.Node("LayerNormalization", "norm", ["z1", "gamma"], "n1", ("epsilon", 0f)),
            "one input" => graph.Node("LayerNormalization", "norm", ["z1"], "n1"),
            "an unknown attribute" => graph.Node("LayerNormalization", "norm", ["z1", "gamma"], "n1", ("momentum", 0.5f)),
            "axis 1" => graph.Node("LayerNormalization", "norm", ["z1", "gamma"], "n1", ("axis", 1L)),
            _ => graph.Node("LayerNormalization", "norm", ["z1", "gamma"], "n1"),
        };
        if (defect == "Relu after it")
            graph = graph.Node("Relu", "act", ["n1"], "r1").Node("Gemm", "fc2", ["r1", "w2"], "y", ("transB", 1L));
        else
            graph = graph.Node("Gemm", "fc2", ["n1", "w2"], "y", ("transB", 1L));
        if (message.Length == 0)
        {
            // Axis 1 is the last axis of [batch, features]: accepted, the default bias zero.
            Network<float> net = OnnxModel.Import<float>(new MemoryStream(graph.Build())).Network;
            Assert.Equal(LayerKind.LayerNorm, net.Layer(1).Kind);
            Assert.All(net.Biases(1).ToArray(), b => Assert.Equal(0f, b));
            return;
        }
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Import<float>(new MemoryStream(graph.Build())));
        Assert.True(e.Message.EndsWith(message, StringComparison.Ordinal), e.Message);
    }

    [Fact]
    public void The_int8_path_keeps_layer_normalisations_in_fp32_and_a_row_alone_gives_its_bits_in_a_batch()
    {
        Model<float> model = SmallModel(9);
        Model<float> quantized = model.Quantize();
        QuantizedNetwork q = quantized.Quantized!;
        Assert.Equal([true, false, false, true, false, true], Enumerable.Range(0, 6).Select(q.IsQuantized));
        const int batch = 11;
        float[] x = OnnxTestModels.RandomValues(new Random(3), batch * 6, 40);
        float[] all = Predict(quantized, x, batch), fp32 = Predict(model, x, batch);
        for (int r = 0; r < batch; r++)
        {
            float[] alone = Predict(quantized, x.AsSpan(r * 6, 6).ToArray(), 1);
            Assert.Equal(alone, all.AsSpan(r * 3, 3).ToArray());
        }
        // Softmax probabilities of the int8 network stay near the fp32 ones (the bound of the int8 tests is per layer; here
        // only a sanity margin for a three-class head).
        for (int i = 0; i < all.Length; i++)
            Assert.True(Math.Abs(all[i] - fp32[i]) < 0.05, $"output {i}: int8 {all[i]}, fp32 {fp32[i]}");
        // Saved and loaded, and exported to ONNX and imported, it predicts the same bits.
        using var stream = new MemoryStream();
        ModelFile.Save(stream, quantized);
        stream.Position = 0;
        Assert.Equal(all, Predict(ModelFile.Load<float>(stream), x, batch));
        using var onnx = new MemoryStream();
        OnnxModel.Export(quantized, onnx);
        onnx.Position = 0;
        Model<float> imported = OnnxModel.Import<float>(onnx);
        Assert.NotNull(imported.Quantized);
        Assert.Equal(all, Predict(imported, x, batch));
    }
}
