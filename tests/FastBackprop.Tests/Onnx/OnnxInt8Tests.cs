using System.Text;
using FastBackprop.Onnx;

namespace FastBackprop.Tests.Onnx;

/// <summary>
/// A quantized model exports in the form onnxruntime's quantize_dynamic writes (per int8 layer DynamicQuantizeLinear →
/// MatMulInteger → Cast → Mul → Mul → Add, then the activation), and that form imports back as the same int8 layers,
/// so the round trip predicts bit-identically; a graph that strays from the form is refused naming the node and its
/// operator.
/// </summary>
public sealed class OnnxInt8Tests
{
    private static Model<float> Quantized(bool outputInFloat) =>
        new Model<float>(new Network<float>(6, [new(11, Activation.ReLU), LayerSpec.Dropout(0.2), new(5, Activation.Tanh), new(3, Activation.Softmax)], seed: 21),
            new Standardizer<float>([1, 2, 3, 4, 5, 6], [0.5f, 1, 2, 1, 0.25f, 3]), ["a", "b", "c"], Loss.SoftmaxCrossEntropy)
            .Quantize(new QuantizationOptions { KeepOutputLayerInFloat = outputInFloat });

    private static byte[] Exported(Model<float> model)
    {
        var stream = new MemoryStream();
        OnnxModel.Export(model, stream);
        return stream.ToArray();
    }

    private static Model<float> Imported(byte[] bytes) => OnnxModel.Import<float>(new MemoryStream(bytes));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_quantized_model_exports_as_quantize_dynamic_writes_and_imports_back_bit_identically(bool outputInFloat)
    {
        Model<float> model = Quantized(outputInFloat);
        byte[] bytes = Exported(model);
        OnnxGraph graph = OnnxParser.Parse(bytes, null).Graph!;
        string[] int8Layer = ["DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul", "Add"];
        string[] expected = ["Sub", "Mul", .. int8Layer, "Relu", .. int8Layer, "Tanh", .. outputInFloat ? ["Gemm"] : int8Layer, "Softmax"];
        Assert.Equal(expected, graph.Nodes.Select(n => n.OpType));

        // MatMulInteger's B is the layer's codes transposed (inputs×units), int8.
        OnnxTensor w = graph.Initializers["layer0_weight"];
        Assert.Equal(OnnxFields.DataTypeInt8, w.DataType);
        Assert.Equal([6L, 11L], w.Dims);
        Model<float> imported = Imported(bytes);
        Assert.NotNull(imported.Quantized);
        Assert.Equal([true, true, !outputInFloat], Enumerable.Range(0, 3).Select(imported.Quantized!.IsQuantized));
        Bits.Equal<float>(model.Network.Weights(0), imported.Network.Weights(0), "layer 0's weights (scale × code)");
        Assert.Equal(model.Network.Weights(0)[7 * 6 + 4], w.Int8s![4 * 11 + 7] * graph.Initializers["layer0_weight_scale"].Floats![7]);

        float[] x = TestData.Uniform<float>(new Random(3), 17 * 6, -4, 8);
        var expectedOutputs = new float[17 * 3];
        var actual = new float[17 * 3];
        model.Predict(x, 17, expectedOutputs);
        imported.Predict(x, 17, actual);
        Bits.Equal<float>(expectedOutputs, actual, "predictions after export and import");
        Assert.Equal(model.ClassLabels, imported.ClassLabels);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(float.NaN)]
    [InlineData(1e37f)]
    public void A_weight_scale_outside_the_int8_range_is_refused_as_for_QDQ_weights(float bad)
    {
        byte[] bytes = new OnnxGraphBuilder()
            .Input("x", null, 3).Output("y", null, 2)
            .Int8Initializer("W", [3, 2], [1, 1, 1, 1, 1, 1]).Initializer("Wscale", [2], [0.5f, bad]).Initializer("b", [2], [0, 0])
            .Node("DynamicQuantizeLinear", "dql", ["x"], ["xq", "xs", "xz"])
            .Node("MatMulInteger", "mm", ["xq", "W", "xz"], "mm_out")
            .Node("Cast", "cast", ["mm_out"], "cast_out", ("to", 1))
            .Node("Mul", "scales", ["xs", "Wscale"], "scales_out")
            .Node("Mul", "rescale", ["cast_out", "scales_out"], "z0")
            .Node("Add", "bias", ["z0", "b"], "y")
            .Build();
        InvalidDataException e = Refused(bytes, "MatMulInteger");
        Assert.Contains($"MatMulInteger's weights 'W' (scaled by 'Wscale') have scale {bad.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} for unit 1; a scale must be in", e.Message);
    }

    [Fact]
    public void The_per_tensor_form_quantize_dynamic_writes_by_default_imports_with_its_one_scale_for_every_unit()
    {
        // 3 inputs → 2 units, ReLU: W int8 [inputs, units], one weight scale, the scales' Mul before the Cast (either order is the form).
        sbyte[] w = [10, -127, 3, 0, 127, 64];
        byte[] bytes = new OnnxGraphBuilder()
            .Input("x", null, 3).Output("y", null, 2)
            .Int8Initializer("W", [3, 2], w).Int8Initializer("Wzero", [], [0])
            .Initializer("Wscale", [], [0.02f]).Initializer("b", [2], [0.5f, -0.25f])
            .Node("DynamicQuantizeLinear", "dql", ["x"], ["xq", "xs", "xz"])
            .Node("MatMulInteger", "mm", ["xq", "W", "xz", "Wzero"], "mm_out")
            .Node("Mul", "scales", ["xs", "Wscale"], "scales_out")
            .Node("Cast", "cast", ["mm_out"], "cast_out", ("to", 1))
            .Node("Mul", "rescale", ["cast_out", "scales_out"], "z0")
            .Node("Add", "bias", ["z0", "b"], "z")
            .Node("Relu", "relu", ["z"], "y")
            .Build();
        Model<float> model = Imported(bytes);
        Assert.True(model.Quantized!.IsQuantized(0));
        // Weights(0) is units×inputs: W transposed, each code times the one scale.
        Assert.Equal([10 * 0.02f, 3 * 0.02f, 127 * 0.02f, -127 * 0.02f, 0f, 64 * 0.02f], model.Network.Weights(0).ToArray());
        Assert.Equal([0.5f, -0.25f], model.Network.Biases(0).ToArray());

        var y = new float[2];
        model.Predict([1f, 0f, 0f], 1, y);   // codes 127, 0, 0 with the row scale 1/127: y = W[0, :]·scale + b, through ReLU
        Assert.Equal([10 * 0.02f + 0.5f, 0f], y);
    }

    [Fact]
    public void An_int8_graph_imports_only_as_float()
    {
        var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Import<double>(new MemoryStream(Exported(Quantized(false)))));
        Assert.Contains("the graph has int8 layers, which run in float: import it as Model<Single>, not Model<Double>.", e.Message);
    }

    /// <summary>The exported bytes with <paramref name="find"/> (which must occur once) replaced by <paramref name="replace"/> of the same length.</summary>
    private static byte[] Edited(byte[] bytes, byte[] find, byte[] replace)
    {
        Assert.Equal(find.Length, replace.Length);
        int at = bytes.AsSpan().IndexOf(find);
        Assert.True(at >= 0 && bytes.AsSpan(at + 1).IndexOf(find) < 0, "the pattern occurs once");
        byte[] copy = [.. bytes];
        replace.CopyTo(copy, at);
        return copy;
    }

    private static InvalidDataException Refused(byte[] bytes, string node)
    {
        var e = Assert.Throws<InvalidDataException>(() => Imported(bytes));
        Assert.Contains(node, (string)e.Data["Field"]!);
        return e;
    }

    [Fact]
    public void Graphs_that_stray_from_the_form_are_refused_naming_the_node_and_operator()
    {
        byte[] bytes = Exported(Quantized(false));
        byte[] Name(string text) => Encoding.ASCII.GetBytes(text);
        // A tensor is written as dims, data type, name, raw_data (field 9: 0x4A, length, bytes).
        byte[] zeroPoint = [.. Name("layer2_weight_zero_point"), 0x4A, 1, 0];
        Assert.Contains("MatMulInteger's weight zero point 'layer2_weight_zero_point' must be an int8 initializer of zeros",
            Refused(Edited(bytes, zeroPoint, [.. Name("layer2_weight_zero_point"), 0x4A, 1, 3]), "MatMulInteger").Message);

        byte[] codes = [.. Name("layer3_weight"), 0x4A, 15];   // 5 inputs × 3 units
        int first = bytes.AsSpan().IndexOf(codes) + codes.Length;
        byte[] minus128 = [.. bytes];
        minus128[first + 2] = 0x80;
        Assert.Contains("hold -128 at index 2; int8 weights here are symmetric", Refused(minus128, "MatMulInteger").Message);

        // The Cast of layer 0 renamed to another operator of the same length: the layer's group lacks its Cast.
        byte[] castOp = [.. Name("layer0_cast"), 0x22, 4, .. Name("Cast")];
        InvalidDataException noCast = Refused(Edited(bytes, castOp, [.. Name("layer0_cast"), 0x22, 4, .. Name("Ceil")]), "DynamicQuantizeLinear");
        Assert.Contains("no Cast reads 'layer0_matmul_out'", noCast.Message);

        // An attribute is written as its name, then i (field 3: 0x18) and its varint: Cast to int32 (6) instead of float (1).
        Assert.Contains("Cast must convert the integer product to float (to = 1)",
            Refused(EditedFirst(bytes, [.. Name("to"), 0x18, 1], [.. Name("to"), 0x18, 6]), "Cast").Message);
    }

    /// <summary>The bytes with the first occurrence of <paramref name="find"/> replaced.</summary>
    private static byte[] EditedFirst(byte[] bytes, byte[] find, byte[] replace)
    {
        int at = bytes.AsSpan().IndexOf(find);
        Assert.True(at >= 0);
        byte[] copy = [.. bytes];
        replace.CopyTo(copy, at);
        return copy;
    }
}
