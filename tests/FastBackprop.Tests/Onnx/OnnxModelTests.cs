using System.Numerics;
using FastBackprop.Tests.Data;
using static FastBackprop.Tests.Onnx.OnnxTestModels;
using FastBackprop.Primitives;

namespace FastBackprop.Tests.Onnx;

/// <summary>
/// OnnxModel: export → import predicts bit-identically (float) for every activation, head, dropout and both
/// standardisations; graphs in the shapes other exporters write (MatMul + Add, transB = 0, Flatten, Div scaling,
/// operands swapped) import to the network they describe; anything else is refused by node and operator; truncated,
/// corrupt and hostile files fail with <see cref="InvalidDataException"/> only.
/// </summary>
public sealed class OnnxModelTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static float[] Predict(Model<float> model, float[] x, int batch)
    {
        var y = new float[batch * model.OutputSize];
        model.Predict(x, batch, y);
        return y;
    }

    private static Model<float> RoundTrip(Model<float> model)
    {
        using var stream = new MemoryStream();
        OnnxModel.Export(model, stream);
        stream.Position = 0;
        return OnnxModel.Import<float>(stream);
    }

    private static void AssertSamePredictions(Model<float> expected, Model<float> actual, int seed = 5, double scale = 40)
    {
        const int batch = 17;
        float[] x = RandomValues(new Random(seed), batch * expected.InputSize, scale);
        float[] want = Predict(expected, x, batch), got = Predict(actual, x, batch);
        Assert.Equal(want.Select(BitConverter.SingleToInt32Bits), got.Select(BitConverter.SingleToInt32Bits));
    }

    public static TheoryData<string> Activations => ["Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Step", "SiLU"];

    private static Activation Parse(string name) => name == "LeakyReLU" ? Activation.LeakyReLU(0.173) : Activation.FromKind(Enum.Parse<ActivationKind>(name));

    [Theory]
    [MemberData(nameof(Activations))]
    public void EveryHiddenActivationRoundTripsBitIdentically(string activation)
    {
        Activation a = Parse(activation);
        var model = new Model<float>(Net(1, 5, new(7, a), new(6, a), new(3, Activation.Softmax)), Scaler(2, 5), ["x", "y", "z"], Loss.SoftmaxCrossEntropy);
        Model<float> back = RoundTrip(model);
        Assert.Equal(a, back.Network.Layer(0).Activation);
        Assert.Equal(a, back.Network.Layer(1).Activation);
        AssertSamePredictions(model, back);
    }

    [Theory]
    [MemberData(nameof(Activations))]
    public void EveryOutputActivationRoundTripsBitIdentically(string activation)
    {
        Activation a = Parse(activation);
        var model = new Model<float>(Net(3, 4, new(6, Activation.Tanh), new(2, a)));
        Model<float> back = RoundTrip(model);
        Assert.Equal(a, back.Network.Layer(1).Activation);
        Assert.Null(back.InputStandardization);
        AssertSamePredictions(model, back);
    }

    [Fact]
    public void HeadsLabelsLossAndStandardisationsSurvive()
    {
        // Binary classifier: one sigmoid unit, two labels, binary cross-entropy.
        var binary = new Model<float>(Net(4, 3, new(5, Activation.ReLU), new(1, Activation.Sigmoid)), Scaler(5, 3), ["no", "yés"], Loss.BinaryCrossEntropy);
        Model<float> back = RoundTrip(binary);
        Assert.Equal(["no", "yés"], back.ClassLabels!);
        Assert.Equal(Loss.BinaryCrossEntropy, back.Loss);
        Assert.Equal(binary.InputStandardization!.Mean.ToArray(), back.InputStandardization!.Mean.ToArray());
        Assert.Equal(binary.InputStandardization!.Scale.ToArray(), back.InputStandardization!.Scale.ToArray());
        AssertSamePredictions(binary, back);

        // Regression with standardised targets: the graph undoes them, the import restores them.
        var regression = new Model<float>(Net(6, 4, new(8, Activation.SiLU), new(2, Activation.Identity)), Scaler(7, 4), null,
            Loss.SumSquaredError, Scaler(8, 2, 500));
        back = RoundTrip(regression);
        Assert.Null(back.ClassLabels);
        Assert.Equal(Loss.SumSquaredError, back.Loss);
        Assert.Equal(regression.TargetStandardization!.Mean.ToArray(), back.TargetStandardization!.Mean.ToArray());
        Assert.Equal(regression.TargetStandardization!.Scale.ToArray(), back.TargetStandardization!.Scale.ToArray());
        AssertSamePredictions(regression, back);
    }

    [Fact]
    public void DropoutLayersAreLeftOutAndPredictionsStayTheSame()
    {
        var model = new Model<float>(Net(9, 6, new(10, Activation.ReLU), LayerSpec.Dropout(0.5), new(8, Activation.LeakyReLU(0.01)),
            LayerSpec.Dropout(0.2), new(4, Activation.Softmax)), Scaler(10, 6));
        Model<float> back = RoundTrip(model);
        Assert.Equal(3, back.Network.LayerCount);
        Assert.Equal(0.01, back.Network.Layer(1).Activation.Alpha);   // the float attribute reads back as the decimal slope
        AssertSamePredictions(model, back);
    }

    [Fact]
    public void PathExportIsAtomicAndImportsFromAPath()
    {
        var model = new Model<float>(Net(11, 3, new(4, Activation.Tanh), new(2, Activation.Softmax)), null, ["a", "b"]);
        string path = dir.File("m.onnx");
        OnnxModel.Export(model, path);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp-*"));
        AssertSamePredictions(model, OnnxModel.Import<float>(path));
    }

    [Fact]
    public void DoubleModelsExportAsFloatAndImportAsEither()
    {
        var net = new Network<double>(3, [new(5, Activation.Sigmoid), new(2, Activation.Identity)], seed: 12);
        var model = new Model<double>(net);
        using var stream = new MemoryStream();
        OnnxModel.Export(model, stream);
        stream.Position = 0;
        Model<double> back = OnnxModel.Import<double>(stream);
        double[] x = [0.5, -1, 2], want = new double[2], got = new double[2];
        model.Predict(x, 1, want);
        back.Predict(x, 1, got);
        for (int i = 0; i < 2; i++)
            Assert.Equal(want[i], got[i], 1e-6);
    }

    // ---- Graphs written by other exporters ----

    /// <summary>The reference: our network with W (units×inputs) and b set explicitly.</summary>
    private static Model<float> Reference(int inputs, (float[] W, float[] B, int Units, Activation A)[] layers, Standardizer<float>? scaler = null)
    {
        var net = new Network<float>(inputs, layers.Select(l => new LayerSpec(l.Units, l.A)).ToArray());
        for (int i = 0; i < layers.Length; i++)
        {
            net.SetWeights(i, layers[i].W);
            net.SetBiases(i, layers[i].B);
        }
        return new Model<float>(net, scaler);
    }

    private static float[] Transpose(float[] w, int rows, int cols)
    {
        var t = new float[w.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[c * rows + r] = w[r * cols + c];
        return t;
    }

    private static Model<float> Import(byte[] onnx) => OnnxModel.Import<float>(new MemoryStream(onnx));

    [Fact]
    public void MatMulPlusAddWithWeightsStoredInputsByUnitsImports()
    {
        var random = new Random(20);
        float[] w0 = RandomValues(random, 4 * 3), b0 = RandomValues(random, 4), w1 = RandomValues(random, 2 * 4), b1 = RandomValues(random, 2);
        byte[] onnx = new OnnxGraphBuilder()
            .Input("x", null, 3).Output("y", null, 2)
            .Initializer("w0", [3, 4], Transpose(w0, 4, 3)).Initializer("b0", [4], b0, packedFloatData: true)
            .Initializer("w1", [4, 2], Transpose(w1, 2, 4)).Initializer("b1", [1, 2], b1)
            .Node("MatMul", "/0/MatMul", ["x", "w0"], "m0").Node("Add", "/0/Add", ["b0", "m0"], "a0")     // bias first: Add commutes
            .Node("Relu", "/1/Relu", ["a0"], "r0")
            .Node("MatMul", "/2/MatMul", ["r0", "w1"], "m1").Node("Add", "/2/Add", ["m1", "b1"], "y")
            .Build();
        Model<float> model = Import(onnx);
        AssertSamePredictions(Reference(3, [(w0, b0, 4, Activation.ReLU), (w1, b1, 2, Activation.Identity)]), model);
    }

    [Fact]
    public void GemmWithTransBZeroFlattenIdentityAndDropoutImports()
    {
        var random = new Random(21);
        float[] w0 = RandomValues(random, 5 * 6), b0 = RandomValues(random, 5), w1 = RandomValues(random, 3 * 5), b1 = RandomValues(random, 3);
        byte[] onnx = new OnnxGraphBuilder { Opset = 11 }
            .Input("image", null, 2, 3).Output("probabilities", null, 3)
            .Initializer("fc0.weight", [6, 5], Transpose(w0, 5, 6)).Initializer("fc0.bias", [5], b0)
            .Initializer("fc1.weight", [3, 5], w1).Initializer("fc1.bias", [3], b1)
            .Node("Flatten", "flatten", ["image"], "f", ("axis", 1))
            .Node("Gemm", "fc0", ["f", "fc0.weight", "fc0.bias"], "z0", ("alpha", 1f), ("beta", 1f), ("transB", 0))
            .Node("LeakyRelu", "act0", ["z0"], "a0", ("alpha", 0.2f))
            .Node("Dropout", "drop", ["a0"], "d0")
            .Node("Identity", "id", ["d0"], "i0")
            .Node("Gemm", "fc1", ["i0", "fc1.weight", "fc1.bias"], "z1", ("transB", 1))
            .Node("Softmax", "softmax", ["z1"], "probabilities")   // opset 11: default axis 1, the last of [batch, 3]
            .Build();
        Model<float> model = Import(onnx);
        Assert.Equal(6, model.InputSize);
        AssertSamePredictions(Reference(6, [(w0, b0, 5, Activation.LeakyReLU(0.2)), (w1, b1, 3, Activation.Softmax)]), model);
    }

    [Fact]
    public void SubThenDivStandardisationImportsAsTheModelsScaler()
    {
        var random = new Random(22);
        float[] w = RandomValues(random, 2 * 3), b = RandomValues(random, 2);
        float[] mean = [1, -2, 30], std = [0.5f, 4, 10];
        byte[] onnx = new OnnxGraphBuilder()
            .Input("x", null, 3).Output("y", null, 2)
            .Initializer("mean", [3], mean).Initializer("std", [3], std)
            .Initializer("w", [2, 3], w).Initializer("b", [2], b)
            .Node("Sub", "sub", ["x", "mean"], "c").Node("Div", "div", ["c", "std"], "s")
            .Node("Gemm", "fc", ["s", "w", "b"], "z", ("transB", 1)).Node("Tanh", "tanh", ["z"], "y")
            .Build();
        Model<float> model = Import(onnx);
        Assert.Equal(mean, model.InputStandardization!.Mean.ToArray());
        float[] x = [2, 2, 2], got = Predict(model, x, 1);
        var reference = Reference(3, [(w, b, 2, Activation.Tanh)]);
        float[] standardised = x.Select((v, i) => (v - mean[i]) / std[i]).ToArray(), want = Predict(reference, standardised, 1);
        for (int i = 0; i < 2; i++)
            Assert.Equal(want[i], got[i], 1e-6f);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Float64AndUnpackedFloatInitializersImport(bool packed)
    {
        var random = new Random(23);
        float[] w = RandomValues(random, 3 * 4), b = RandomValues(random, 3);
        byte[] onnx = new OnnxGraphBuilder()
            .Input("x", null, 4).Output("y", null, 3)
            .DoubleInitializer("w", [3, 4], w.Select(v => (double)v).ToArray(), packed)
            .UnpackedFloatInitializer("b", [3], b)
            .Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Sigmoid", "s", ["z"], "y")
            .Build();
        AssertSamePredictions(Reference(4, [(w, b, 3, Activation.Sigmoid)]), Import(onnx));
    }

    // ---- Refusals ----

    private static InvalidDataException Refused(byte[] onnx) => Assert.Throws<InvalidDataException>(() => Import(onnx));

    private static OnnxGraphBuilder OneLayer(string input = "x") => new OnnxGraphBuilder()
        .Input(input, null, 4).Output("y", null, 2)
        .Initializer("w", [2, 4], new float[8]).Initializer("b", [2], new float[2]);

    [Fact]
    public void AnUnsupportedOperatorIsRefusedByNodeAndOperator()
    {
        byte[] onnx = OneLayer().Initializer("k", [2, 4, 1, 1], new float[8])
            .Node("Conv", "features.0", ["x", "k"], "c").Node("Gemm", "fc", ["c", "w", "b"], "y", ("transB", 1)).Build();
        InvalidDataException e = Refused(onnx);
        Assert.Contains("node 'features.0' (Conv)", e.Message);
        Assert.Contains("operator Conv is not supported", e.Message);
    }

    [Theory]
    [InlineData("transA", "transA = 1")]
    [InlineData("alpha", "alpha and beta must be 1")]
    [InlineData("softmax0", "axis = 0")]
    [InlineData("branch", "not a chain")]
    [InlineData("twoInputs", "2 inputs that are not initializers")]
    [InlineData("domain", "domain 'com.microsoft'")]
    [InlineData("unknownAttribute", "attribute 'foo' is not supported")]
    [InlineData("int64Weights", "data type 7")]
    [InlineData("wrongShape", "layer before it has 2 units")]
    [InlineData("softmaxHidden", "follows a Softmax")]
    [InlineData("twoActivations", "does not follow a Gemm or MatMul")]
    [InlineData("outputNotLast", "is not the last node's output")]
    [InlineData("opset", "opset 99")]
    [InlineData("badLabels", "not a JSON array of strings")]
    [InlineData("labelCount", "classLabels has 3 names")]
    [InlineData("negativeScale", "scale[0]")]
    [InlineData("flattenAxis", "axis = 2")]
    public void GraphsThatCannotBeMappedExactlyAreRefused(string kind, string expected)
    {
        OnnxGraphBuilder g = OneLayer();
        byte[] onnx = kind switch
        {
            "transA" => g.Node("Gemm", "fc", ["x", "w", "b"], "y", ("transA", 1)).Build(),
            "alpha" => g.Node("Gemm", "fc", ["x", "w", "b"], "y", ("alpha", 2f), ("transB", 1)).Build(),
            "softmax0" => g.Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Softmax", "sm", ["z"], "y", ("axis", 0)).Build(),
            "branch" => g.Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Relu", "r", ["z"], "a")
                .Node("Add", "skip", ["a", "z"], "y").Build(),
            "twoInputs" => g.Input("x2", null, 4).Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build(),
            "domain" => g.DomainNode("com.microsoft", "FusedGemm", "fc", ["x", "w", "b"], "y").Build(),
            "unknownAttribute" => g.Node("Gemm", "fc", ["x", "w", "b"], "y", ("foo", 1)).Build(),
            "int64Weights" => g.Initializer("wi", [2, 4], new float[16], dataType: 7).Node("Gemm", "fc", ["x", "wi", "b"], "y", ("transB", 1)).Build(),
            "wrongShape" => g.Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Gemm", "fc2", ["z", "w", "b"], "y", ("transB", 1)).Build(),
            "softmaxHidden" => g.Initializer("w2", [2, 2], new float[4]).Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1))
                .Node("Softmax", "sm", ["z"], "s").Node("Gemm", "fc2", ["s", "w2", "b"], "y", ("transB", 1)).Build(),
            "twoActivations" => g.Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Relu", "r", ["z"], "a").Node("Tanh", "t", ["a"], "y").Build(),
            "outputNotLast" => g.Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Build(),
            "opset" => new OnnxGraphBuilder { Opset = 99 }.Input("x", null, 4).Output("y", null, 2).Initializer("w", [2, 4], new float[8])
                .Node("Gemm", "fc", ["x", "w"], "y", ("transB", 1)).Build(),
            "badLabels" => g.Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Metadata(OnnxModel.ClassLabelsKey, "{\"a\":1}").Build(),
            "labelCount" => g.Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Metadata(OnnxModel.ClassLabelsKey, "[\"a\",\"b\",\"c\"]").Build(),
            "negativeScale" => g.Initializer("s", [4], [-1, 1, 1, 1]).Node("Mul", "scale", ["x", "s"], "m")
                .Node("Gemm", "fc", ["m", "w", "b"], "y", ("transB", 1)).Build(),
            "flattenAxis" => g.Node("Flatten", "flat", ["x"], "f", ("axis", 2)).Node("Gemm", "fc", ["f", "w", "b"], "y", ("transB", 1)).Build(),
            _ => throw new ArgumentException(kind),
        };
        InvalidDataException e = Refused(onnx);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ExternalDataIsRefused()
    {
        byte[] onnx = new OnnxGraphBuilder().Input("x", null, 4).Output("y", null, 2).ExternalInitializer("w", [2, 4])
            .Node("Gemm", "fc", ["x", "w"], "y", ("transB", 1)).Build();
        Assert.Contains("external", Refused(onnx).Message);
    }

    [Fact]
    public void EveryTruncationFailsCleanly()
    {
        var model = new Model<float>(Net(30, 3, new(4, Activation.ReLU), new(2, Activation.Softmax)), Scaler(31, 3), ["a", "b"], Loss.SoftmaxCrossEntropy);
        using var stream = new MemoryStream();
        OnnxModel.Export(model, stream);
        byte[] full = stream.ToArray();
        int succeeded = 0;
        for (int length = 0; length < full.Length; length++)
        {
            try
            {
                Import(full[..length]);
                succeeded++;   // a cut exactly between the model's trailing metadata fields leaves a valid, smaller model
            }
            catch (InvalidDataException)
            {
            }
        }
        Assert.True(succeeded <= 2, $"{succeeded} truncations imported");
    }

    [Fact]
    public void RandomCorruptionGivesOnlyInvalidDataExceptions()
    {
        var model = new Model<float>(Net(32, 3, new(4, Activation.SiLU), new(2, Activation.Identity)), Scaler(33, 3), null, null, Scaler(34, 2));
        using var stream = new MemoryStream();
        OnnxModel.Export(model, stream);
        byte[] full = stream.ToArray();
        var random = new Random(35);
        for (int trial = 0; trial < 3000; trial++)
        {
            byte[] bytes = (byte[])full.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            try
            {
                Import(bytes);   // a flip inside a weight's bits gives another valid model
            }
            catch (InvalidDataException)
            {
            }
        }
    }

    [Theory]
    [InlineData(new byte[] { }, "empty")]
    [InlineData(new byte[] { 0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 }, "more than the 0 bytes left")]                        // graph claiming 2 GiB
    [InlineData(new byte[] { 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, "varint")]      // an 11-byte varint
    [InlineData(new byte[] { 0x0B }, "wire type 3")]                                                                      // a group
    [InlineData(new byte[] { 0x08, 0x08 }, "no graph")]
    public void HostileBytesGetClearErrors(byte[] bytes, string expected)
        => Assert.Contains(expected, Refused(bytes).Message);

    [Fact]
    public void ManyTinyMessagesAreCappedBeforeTheyBecomeManyObjects()
    {
        string[] inputs = Enumerable.Repeat("x", FastBackprop.Onnx.OnnxParser.MaxPerNode + 1).ToArray();
        byte[] onnx = OneLayer().Node("Gemm", "fc", inputs, "y").Build();
        Assert.Contains("NodeProto.input: more than 64", Refused(onnx).Message);
    }

    [Fact]
    public void ATensorClaimingMoreValuesThanItHoldsFailsBeforeAllocating()
    {
        byte[] onnx = new OnnxGraphBuilder().Input("x", null, 4).Output("y", null, 2)
            .Initializer("w", [1L << 30, 1L << 30], new float[8])
            .Node("Gemm", "fc", ["x", "w"], "y", ("transB", 1)).Build();
        Assert.Contains("initializer 'w'", Refused(onnx).Message);
    }
}
