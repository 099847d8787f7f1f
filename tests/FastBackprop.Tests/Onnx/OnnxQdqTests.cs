using FastBackprop.Onnx;

namespace FastBackprop.Tests.Onnx;

/// <summary>
/// QDQ graphs (as onnxruntime's quantize_static writes them with QuantFormat.QDQ): int8 weight codes behind a
/// DequantizeLinear import as int8 layers with exactly those codes and scales — predicting bit for bit what the same codes
/// predict in the quantize_dynamic form — dequantized biases as their float values, activation QuantizeLinear →
/// DequantizeLinear pairs as this library's per-row quantization; every other shape of Q/DQ is refused naming the node.
/// </summary>
public sealed class OnnxQdqTests
{
    private const int In = 5, Hidden = 7, Out = 3;
    private const int UInt8 = OnnxFields.DataTypeUInt8, Int8 = OnnxFields.DataTypeInt8, Int32 = OnnxFields.DataTypeInt32;

    /// <summary>The parts of a two-layer QDQ graph (5 → 7 ReLU → 3 softmax): a MatMul with per-channel int8 weights
    /// ([inputs, units], axis 1) and a float bias, then a Gemm (transB = 1) with per-tensor weights and an int32 bias
    /// dequantized; the tests change one part.</summary>
    private sealed record Parts
    {
        public sbyte[] W1 { get; init; } = Codes(new Random(1), In * Hidden);
        public float[] W1Scale { get; init; } = [0.011f, 0.02f, 0.0035f, 0.05f, 0.008f, 0.013f, 0.027f];
        public long[] W1ScaleDims { get; init; } = [Hidden];
        public int W1CodeType { get; init; } = Int8;
        public int[] W1Zero { get; init; } = new int[Hidden];
        public (string, object)[] W1Attributes { get; init; } = [("axis", 1)];
        public float[] B1 { get; init; } = [0.1f, -0.2f, 0.05f, 0, 0.3f, -0.01f, 0.02f];
        public sbyte[] W2 { get; init; } = Codes(new Random(2), Out * Hidden);
        public float W2Scale { get; init; } = 0.017f;
        public int[] B2 { get; init; } = [1200, -45000, 7];
        public float B2Scale { get; init; } = 1.5e-5f;
        public string ZeroStorage { get; init; } = "packed";
        public string PairScale { get; init; } = "h_scale";
        public float HiddenScale { get; init; } = 0.04f;
        public bool SecondReader { get; init; }
        public bool PairBroken { get; init; }
    }

    private static sbyte[] Codes(Random random, int count) => Enumerable.Range(0, count).Select(_ => (sbyte)random.Next(-127, 128)).ToArray();

    private static byte[] Qdq(Parts p)
    {
        var g = new OnnxGraphBuilder().Input("x", null, In).Output("y", null, Out)
            .Initializer("x_scale", [], [0.03f]).IntegerInitializer("x_zero", [], UInt8, [128], p.ZeroStorage)
            .Initializer("h_scale", [], [p.HiddenScale]).IntegerInitializer("h_zero", [], UInt8, [0], p.ZeroStorage)
            .Initializer("other_scale", [], [0.5f])
            .IntegerInitializer("W1_q", [In, Hidden], p.W1CodeType, [.. p.W1.Select(c => (int)c)], "raw")
            .Initializer("W1_scale", p.W1ScaleDims, p.W1Scale).IntegerInitializer("W1_zero", p.W1ScaleDims, p.W1CodeType, p.W1Zero, p.ZeroStorage)
            .Initializer("b1", [Hidden], p.B1)
            .Int8Initializer("W2_q", [Out, Hidden], p.W2).Initializer("W2_scale", [], [p.W2Scale]).IntegerInitializer("W2_zero", [], Int8, [0], p.ZeroStorage)
            .IntegerInitializer("b2_q", [Out], Int32, p.B2, "raw").Initializer("b2_scale", [], [p.B2Scale])
            // quantize_static writes the constants' DequantizeLinear nodes where it likes: one first, one mid-graph.
            .Node("DequantizeLinear", "W2_dq", ["W2_q", "W2_scale", "W2_zero"], "W2")
            .Node("QuantizeLinear", "x_q", ["x", "x_scale", "x_zero"], "x_quantized")
            .Node("DequantizeLinear", "x_dq", ["x_quantized", "x_scale", "x_zero"], "x_dequantized")
            .Node("DequantizeLinear", "W1_dq", ["W1_q", "W1_scale", "W1_zero"], "W1", p.W1Attributes)
            .Node("MatMul", "fc1", ["x_dequantized", "W1"], "fc1_out")
            .Node("Add", "fc1_bias", ["fc1_out", "b1"], "fc1_biased")
            .Node("Relu", "relu", ["fc1_biased"], "h");
        if (p.PairBroken)
            g.Node("QuantizeLinear", "h_q", ["h", "h_scale", "h_zero"], "h_quantized").Node("Relu", "stray", ["h_quantized"], "h_dequantized");
        else
            g.Node("QuantizeLinear", "h_q", ["h", "h_scale", "h_zero"], "h_quantized")
                .Node("DequantizeLinear", "h_dq", ["h_quantized", p.PairScale, "h_zero"], "h_dequantized");
        return g.Node("DequantizeLinear", "b2_dq", ["b2_q", "b2_scale"], "b2")
            .Node("Gemm", "fc2", [p.SecondReader ? "h_quantized" : "h_dequantized", "W2", "b2"], "logits", ("transB", 1))
            .Node("Softmax", "softmax", ["logits"], "y")
            .Build();
    }

    /// <summary>The same codes, scales and biases in the quantize_dynamic form.</summary>
    private static byte[] Dynamic(Parts p)
    {
        var w2 = new sbyte[Hidden * Out];   // MatMulInteger's B is [inputs, units]
        for (int i = 0; i < Out; i++)
            for (int j = 0; j < Hidden; j++)
                w2[j * Out + i] = p.W2[i * Hidden + j];
        float[] b2 = [.. p.B2.Select(c => c * p.B2Scale)];
        var g = new OnnxGraphBuilder().Input("x", null, In).Output("y", null, Out)
            .Int8Initializer("W1", [In, Hidden], p.W1).Initializer("W1s", [Hidden], p.W1Scale).Initializer("b1", [Hidden], p.B1)
            .Int8Initializer("W2", [Hidden, Out], w2).Initializer("W2s", [], [p.W2Scale]).Initializer("b2", [Out], b2);
        string current = "x";
        foreach (var (layer, activation, output) in new[] { ("1", "Relu", "h"), ("2", "Softmax", "y") })
        {
            g.Node("DynamicQuantizeLinear", $"q{layer}", [current], [$"xq{layer}", $"xs{layer}", $"xz{layer}"])
                .Node("MatMulInteger", $"mm{layer}", [$"xq{layer}", $"W{layer}", $"xz{layer}"], $"mm{layer}_out")
                .Node("Cast", $"cast{layer}", [$"mm{layer}_out"], $"cast{layer}_out", ("to", 1))
                .Node("Mul", $"scales{layer}", [$"xs{layer}", $"W{layer}s"], $"scales{layer}_out")
                .Node("Mul", $"rescale{layer}", [$"cast{layer}_out", $"scales{layer}_out"], $"z{layer}_0")
                .Node("Add", $"bias{layer}", [$"z{layer}_0", $"b{layer}"], $"z{layer}")
                .Node(activation, $"act{layer}", [$"z{layer}"], output);
            current = output;
        }
        return g.Build();
    }

    private static Model<float> Imported(byte[] bytes) => OnnxModel.Import<float>(new MemoryStream(bytes));

    [Theory]
    [InlineData("packed")]
    [InlineData("unpacked")]
    [InlineData("raw")]
    public void A_QDQ_graph_imports_as_int8_layers_predicting_what_the_same_codes_predict_in_the_dynamic_form(string zeroStorage)
    {
        var parts = new Parts { ZeroStorage = zeroStorage };
        Model<float> qdq = Imported(Qdq(parts)), dynamic = Imported(Dynamic(parts));
        Assert.NotNull(qdq.Quantized);
        Assert.True(qdq.Quantized!.IsQuantized(0) && qdq.Quantized.IsQuantized(1));
        Assert.Equal(ActivationKind.ReLU, qdq.Network.Layer(0).Activation.Kind);
        Assert.Equal(ActivationKind.Softmax, qdq.Network.Layer(1).Activation.Kind);

        // Weights(l) is units×inputs: layer 0's codes transposed times their unit's scale; layer 1's as stored, one scale.
        ReadOnlySpan<float> w1 = qdq.Network.Weights(0), w2 = qdq.Network.Weights(1);
        for (int j = 0; j < Hidden; j++)
            for (int k = 0; k < In; k++)
                Assert.Equal(parts.W1[k * Hidden + j] * parts.W1Scale[j], w1[j * In + k]);
        for (int i = 0; i < Out * Hidden; i++)
            Assert.Equal(parts.W2[i] * parts.W2Scale, w2[i]);
        // The int32 bias as DequantizeLinear defines it: (float)(code − 0) · scale.
        Assert.Equal(parts.B2.Select(c => (float)c * parts.B2Scale), qdq.Network.Biases(1).ToArray());
        Assert.Equal(parts.B1, qdq.Network.Biases(0).ToArray());

        float[] x = TestData.Uniform<float>(new Random(4), 13 * In, -3, 3);
        var expected = new float[13 * Out];
        var actual = new float[13 * Out];
        dynamic.Predict(x, 13, expected);
        qdq.Predict(x, 13, actual);
        Bits.Equal<float>(expected, actual, "QDQ import against the quantize_dynamic form of the same codes");
    }

    [Fact]
    public void A_layer_whose_weights_are_plain_floats_stays_in_float_beside_the_int8_one()
    {
        byte[] bytes = new OnnxGraphBuilder().Input("x", null, 2).Output("y", null, 1)
            .Int8Initializer("W1_q", [2, 3], [1, -2, 3, 127, -127, 0]).Initializer("W1_scale", [], [0.5f])
            .Initializer("W2", [1, 3], [0.25f, -1, 2]).Initializer("b2", [1], [0.125f])
            .Node("DequantizeLinear", "W1_dq", ["W1_q", "W1_scale"], "W1")
            .Node("MatMul", "fc1", ["x", "W1"], "h")
            .Node("Tanh", "tanh", ["h"], "a")
            .Node("Gemm", "fc2", ["a", "W2", "b2"], "y", ("transB", 1))
            .Build();
        Model<float> model = Imported(bytes);
        Assert.True(model.Quantized!.IsQuantized(0));
        Assert.False(model.Quantized.IsQuantized(1));
        Assert.Equal([0.5f, 63.5f, -1, -63.5f, 1.5f, 0], model.Network.Weights(0).ToArray());
        Assert.Equal([0.25f, -1, 2], model.Network.Weights(1).ToArray());
    }

    [Fact]
    public void A_dequantized_bias_with_a_zero_point_is_its_float_values()
    {
        // uint8 codes with zero point 100, per tensor: (code − 100) · 0.25, exactly; a bias may come from any integer type.
        byte[] bytes = new OnnxGraphBuilder().Input("x", null, 2).Output("y", null, 3)
            .Initializer("W", [3, 2], [1, 0, 0, 1, 1, 1]).IntegerInitializer("b_q", [3], UInt8, [100, 0, 255], "raw")
            .Initializer("b_scale", [1], [0.25f]).IntegerInitializer("b_zero", [1], UInt8, [100])
            .Node("DequantizeLinear", "b_dq", ["b_q", "b_scale", "b_zero"], "b")
            .Node("Gemm", "fc", ["x", "W", "b"], "y", ("transB", 1))
            .Build();
        Model<float> model = Imported(bytes);
        Assert.Null(model.Quantized);
        Assert.Equal([0f, -25f, 38.75f], model.Network.Biases(0).ToArray());
    }

    public static TheoryData<string, string, string> Refusals() => new()
    {
        { "uint8 weights", "node 'fc1' (MatMul)", "codes of data type 2" },
        { "weight zero point", "node 'fc1' (MatMul)", "zero point 3" },
        { "-128", "node 'fc1' (MatMul)", "hold -128 at index 4" },
        { "scale per input", "node 'fc1' (MatMul)", "a scale per index of axis 0, the inputs" },
        { "scale count", "node 'W1_dq' (DequantizeLinear)", "one per index of axis 1 of the codes [5, 7]" },
        { "block size", "node 'W1_dq' (DequantizeLinear)", "block_size = 2" },
        { "unknown attribute", "node 'W1_dq' (DequantizeLinear)", "attribute 'precision'" },
        { "negative scale", "node 'W1_dq' (DequantizeLinear)", "holds -0.0035 at index 2" },
        { "NaN scale", "node 'W1_dq' (DequantizeLinear)", "holds NaN at index 2" },
        { "huge scale", "node 'fc1' (MatMul)", "have scale 1E+37 for unit 2; a scale must be in" },
        { "overflowing scale", "node 'W1_dq' (DequantizeLinear)", "overflows float32" },
        { "pair of other scales", "node 'h_q' (QuantizeLinear)", "followed by the DequantizeLinear of its output 'h_quantized'" },
        { "pair broken", "node 'h_q' (QuantizeLinear)", "followed by the DequantizeLinear" },
        { "second reader", "node 'h_q' (QuantizeLinear)", "read by a node other than the DequantizeLinear" },
        { "zero activation scale", "node 'h_q' (QuantizeLinear)", "one positive scale" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Every_other_shape_of_quantization_is_refused_naming_the_node(string change, string node, string problem)
    {
        var p = new Parts();
        p = change switch
        {
            "uint8 weights" => p with { W1CodeType = UInt8, W1 = [.. p.W1.Select(c => (sbyte)Math.Abs((int)c))] },
            "weight zero point" => p with { W1Zero = [0, 0, 3, 0, 0, 0, 0] },
            "-128" => p with { W1 = [.. p.W1.Select((c, i) => i == 4 ? sbyte.MinValue : c)] },
            "scale per input" => p with { W1Scale = p.W1Scale[..In], W1ScaleDims = [In], W1Zero = new int[In], W1Attributes = [("axis", 0)] },
            "scale count" => p with { W1Scale = p.W1Scale[..In], W1ScaleDims = [In], W1Zero = new int[In] },
            "block size" => p with { W1Attributes = [("axis", 1), ("block_size", 2)] },
            "unknown attribute" => p with { W1Attributes = [("precision", 3)] },
            "negative scale" => p with { W1Scale = [.. p.W1Scale.Select((s, i) => i == 2 ? -s : s)] },
            "NaN scale" => p with { W1Scale = [.. p.W1Scale.Select((s, i) => i == 2 ? float.NaN : s)] },
            // Unit 2's codes all 1, so its values (1e37) are finite floats, but the scale is past what int8 layers take.
            "huge scale" => p with { W1Scale = [.. p.W1Scale.Select((s, i) => i == 2 ? 1e37f : s)], W1 = [.. p.W1.Select((c, i) => i % Hidden == 2 ? (sbyte)1 : c)] },
            "overflowing scale" => p with { W1Scale = [.. p.W1Scale.Select((s, i) => i == 2 ? 1e37f : s)], W1 = [.. p.W1.Select((c, i) => i % Hidden == 2 ? (sbyte)100 : c)] },
            "pair of other scales" => p with { PairScale = "other_scale" },
            "pair broken" => p with { PairBroken = true },
            "second reader" => p with { SecondReader = true },
            "zero activation scale" => p with { HiddenScale = 0 },
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };
        var e = Assert.Throws<InvalidDataException>(() => Imported(Qdq(p)));
        Assert.Contains(node, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void A_DequantizeLinear_of_a_computed_value_without_its_QuantizeLinear_is_refused_as_an_unsupported_operator()
    {
        byte[] bytes = new OnnxGraphBuilder().Input("x", null, 2).Output("y", null, 2)
            .Initializer("W", [2, 2], [1, 0, 0, 1]).Initializer("s", [], [0.1f])
            .Node("Gemm", "fc", ["x", "W"], "h", ("transB", 1))
            .Node("DequantizeLinear", "dq", ["h", "s"], "y")
            .Build();
        var e = Assert.Throws<InvalidDataException>(() => Imported(bytes));
        Assert.Contains("node 'dq' (DequantizeLinear)", e.Message);
        Assert.Contains("operator DequantizeLinear is not supported", e.Message);
    }

    [Theory]
    [InlineData(Int8, new[] { -128, 127, 0 }, "packed", null)]
    [InlineData(Int8, new[] { -1, 5, 100 }, "unpacked", null)]
    [InlineData(UInt8, new[] { 0, 255, 7 }, "packed", null)]
    [InlineData(OnnxFields.DataTypeInt16, new[] { -32768, 32767, 1 }, "raw", null)]
    [InlineData(OnnxFields.DataTypeUInt16, new[] { 0, 65535, 1 }, "packed", null)]
    [InlineData(Int32, new[] { int.MinValue, int.MaxValue, -1 }, "packed", null)]
    [InlineData(Int8, new[] { 0, 128, 0 }, "packed", "int32_data holds 128 at index 1, outside the range [-128, 127]")]
    [InlineData(UInt8, new[] { 0, -1, 0 }, "unpacked", "int32_data holds -1 at index 1, outside the range [0, 255]")]
    [InlineData(Int8, new[] { 1, 2 }, "packed", "its dims [3] make 3 values but it holds 2 values")]
    public void Integer_initializers_read_from_raw_data_and_int32_data_in_their_types_range(int type, int[] values, string storage, string? problem)
    {
        byte[] bytes = new OnnxGraphBuilder().Input("x", null, 3).Output("y", null, 3)
            .IntegerInitializer("codes", [3], type, values, storage).Initializer("W", [3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1])
            .Node("Gemm", "fc", ["x", "W"], "y").Build();
        if (problem is not null)
        {
            var e = Assert.Throws<InvalidDataException>(() => OnnxParser.Parse(bytes, null));
            Assert.Contains("initializer 'codes'", e.Message);
            Assert.Contains(problem, e.Message);
            return;
        }
        OnnxTensor t = OnnxParser.Parse(bytes, null).Graph!.Initializers["codes"];
        Assert.Equal(values, t.Integers);
        Assert.Equal(type == Int8 ? values.Select(v => (sbyte)v).ToArray() : null, t.Int8s);
    }

    [Fact]
    public void Int32_data_in_packed_runs_and_unpacked_fields_between_other_fields_reads_in_order()
    {
        var t = new ProtoWriter().Int64(OnnxFields.TensorDims, 5).Bytes(OnnxFields.TensorInt32Data, [1, 2])
            .Varint(OnnxFields.TensorDataType, Int32).Int64(OnnxFields.TensorInt32Data, 3).Int64(OnnxFields.TensorInt32Data, -4)
            .String(OnnxFields.TensorName, "mixed").Bytes(OnnxFields.TensorInt32Data, []).Bytes(OnnxFields.TensorInt32Data, [5]);
        byte[] bytes = new ProtoWriter().Message(OnnxFields.ModelGraph, new ProtoWriter().Message(OnnxFields.GraphInitializer, t)).ToArray();
        Assert.Equal([1, 2, 3, -4, 5], OnnxParser.Parse(bytes, null).Graph!.Initializers["mixed"].Integers!);
    }

    [Fact]
    public void A_packed_int32_run_that_ends_inside_a_varint_is_refused()
    {
        var t = new ProtoWriter().Int64(OnnxFields.TensorDims, 2).Varint(OnnxFields.TensorDataType, Int32).String(OnnxFields.TensorName, "cut")
            .Bytes(OnnxFields.TensorInt32Data, [7, 0x80]);
        byte[] bytes = new ProtoWriter().Message(OnnxFields.ModelGraph, new ProtoWriter().Message(OnnxFields.GraphInitializer, t)).ToArray();
        var e = Assert.Throws<InvalidDataException>(() => OnnxParser.Parse(bytes, null));
        Assert.Contains("TensorProto.int32_data", e.Message);
        Assert.Contains("ends inside a varint", e.Message);
    }

    /// <summary>An initializer written field by field (dims, type, name, then the given data fields), parsed alone.</summary>
    private static OnnxTensor ParseTensor(long[] dims, int type, Action<ProtoWriter> data)
    {
        var t = new ProtoWriter();
        foreach (long d in dims)
            t.Int64(OnnxFields.TensorDims, d);
        t.Varint(OnnxFields.TensorDataType, (ulong)type).String(OnnxFields.TensorName, "t");
        data(t);
        byte[] bytes = new ProtoWriter().Message(OnnxFields.ModelGraph, new ProtoWriter().Message(OnnxFields.GraphInitializer, t)).ToArray();
        return OnnxParser.Parse(bytes, null).Graph!.Initializers["t"];
    }

    public static TheoryData<string, string> IntegerRefusals() => new()
    {
        { "int16 raw of 5 bytes", "its dims [2] make 2 values but it holds 5 bytes of raw_data." },
        { "int8 raw of 2 bytes for 3", "its dims [3] make 3 values but it holds 2 bytes of raw_data." },
        { "raw and int32_data", "its dims [2] make 2 values but it holds 2 bytes of raw_data and typed data besides." },
        { "int32_data and float_data", "its dims [2] make 2 values but it holds 2 values and typed data besides." },
        { "more values than an array holds", "its dims [70000, 70000] make 2147483648 values but it holds 0 values." },
    };

    [Theory]
    [MemberData(nameof(IntegerRefusals))]
    public void Integer_data_that_does_not_match_its_dims_is_refused_with_both_counts(string change, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => change switch
        {
            "int16 raw of 5 bytes" => ParseTensor([2], OnnxFields.DataTypeInt16, t => t.Bytes(OnnxFields.TensorRawData, [1, 2, 3, 4, 5])),   // 5 / 2 = 2: only the remainder is wrong
            "int8 raw of 2 bytes for 3" => ParseTensor([3], Int8, t => t.Bytes(OnnxFields.TensorRawData, [1, 2])),
            "raw and int32_data" => ParseTensor([2], Int8, t => t.Bytes(OnnxFields.TensorRawData, [1, 2]).Int64(OnnxFields.TensorInt32Data, 3)),
            "int32_data and float_data" => ParseTensor([2], Int32, t => t.Bytes(OnnxFields.TensorInt32Data, [1, 2]).Float(OnnxFields.TensorFloatData, 1)),
            "more values than an array holds" => ParseTensor([70000, 70000], Int8, _ => { }),
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        });
        Assert.Contains("initializer 't'", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Raw_uint16_and_int16_values_are_little_endian_and_an_empty_tensor_has_none()
    {
        Assert.Equal([1, 65535, 256], ParseTensor([3], OnnxFields.DataTypeUInt16, t => t.Bytes(OnnxFields.TensorRawData, [1, 0, 255, 255, 0, 1])).Integers!);
        Assert.Equal([-2, 513], ParseTensor([2], OnnxFields.DataTypeInt16, t => t.Bytes(OnnxFields.TensorRawData, [0xFE, 0xFF, 1, 2])).Integers!);
        Assert.Empty(ParseTensor([0, 4], Int8, _ => { }).Integers!);
    }

    [Fact]
    public void An_int32_data_value_beyond_int32_is_refused()
    {
        var t = new ProtoWriter().Int64(OnnxFields.TensorDims, 1).Varint(OnnxFields.TensorDataType, Int32).String(OnnxFields.TensorName, "big")
            .Int64(OnnxFields.TensorInt32Data, 1L << 40);
        byte[] bytes = new ProtoWriter().Message(OnnxFields.ModelGraph, new ProtoWriter().Message(OnnxFields.GraphInitializer, t)).ToArray();
        var e = Assert.Throws<InvalidDataException>(() => OnnxParser.Parse(bytes, null));
        Assert.Contains("TensorProto.int32_data", e.Message);
        Assert.Contains("1099511627776 does not fit in an int32", e.Message);
    }
}

/// <summary>The folding of a DequantizeLinear of constants, case by case (the first mutation run of OnnxQdq.cs found these
/// untested): a Gemm (transB = 1, weights [units = 2, inputs = 3]) whose weights a DequantizeLinear makes, with one part
/// of that node changed.</summary>
public sealed class OnnxDequantizeFoldingTests
{
    private const int Int8 = OnnxFields.DataTypeInt8, UInt8 = OnnxFields.DataTypeUInt8;
    private static readonly int[] Codes = [1, -2, 3, 127, -127, 5];   // [units, inputs], row-major

    /// <summary>x [batch, 3] → Gemm(x, DQ(codes, scale[, zero]) as W, b) → y [batch, 2].</summary>
    private static byte[] Graph(Action<OnnxGraphBuilder> constants, string[] dqInputs, (string, object)[]? attributes = null,
        string dqOutput = "W", string domain = "", string[]? extraOutputs = null)
    {
        var g = new OnnxGraphBuilder().Input("x", null, 3).Output("y", null, 2).Initializer("b", [2], [0.5f, -0.5f]);
        constants(g);
        if (domain.Length > 0)
            g.DomainNode(domain, "DequantizeLinear", "dq", dqInputs, dqOutput);
        else if (extraOutputs is not null)
            g.Node("DequantizeLinear", "dq", dqInputs, [dqOutput, .. extraOutputs]);
        else
            g.Node("DequantizeLinear", "dq", dqInputs, dqOutput, attributes ?? []);
        return g.Node("Gemm", "fc", ["x", dqOutput, "b"], "y", ("transB", 1)).Build();
    }

    private static Model<float> Import(byte[] bytes) => OnnxModel.Import<float>(new MemoryStream(bytes));

    private static void Refused(byte[] bytes, string node, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => Import(bytes));
        Assert.True(e.Message.Contains(node) && e.Message.Contains(problem), e.Message);
    }

    [Theory]
    [InlineData(0)]    // the units' axis of Gemm's [units, inputs]
    [InlineData(-2)]   // the same, counted from the end
    public void Per_unit_scales_on_the_first_axis_give_each_unit_its_scale(int axis)
    {
        Model<float> model = Import(Graph(g => g.IntegerInitializer("q", [2, 3], Int8, Codes, "raw").Initializer("s", [2], [0.5f, 0.25f]),
            ["q", "s"], [("axis", axis)]));
        Assert.True(model.Quantized!.IsQuantized(0));
        Assert.Equal([0.5f, -1, 1.5f, 31.75f, -31.75f, 1.25f], model.Network.Weights(0).ToArray());
        Assert.Equal([0.5f, -0.5f], model.Network.Biases(0).ToArray());
    }

    [Fact]
    public void Without_an_axis_attribute_per_channel_scales_lie_along_axis_1()
    {
        // MatMul's weights are [inputs, units]: axis 1 (the default) is the units'.
        byte[] bytes = new OnnxGraphBuilder().Input("x", null, 3).Output("y", null, 2)
            .IntegerInitializer("q", [3, 2], Int8, [1, 127, -2, -127, 3, 5], "raw").Initializer("s", [2], [0.5f, 0.25f]).Initializer("b", [2], [0, 0])
            .Node("DequantizeLinear", "dq", ["q", "s", ""], "W")
            .Node("MatMul", "mm", ["x", "W"], "z").Node("Add", "add", ["z", "b"], "y").Build();
        Model<float> model = Import(bytes);
        Assert.Equal([0.5f, -1, 1.5f, 31.75f, -31.75f, 1.25f], model.Network.Weights(0).ToArray());
    }

    public static TheoryData<string, string, string> Refusals() => new()
    {
        { "axis 2", "node 'dq' (DequantizeLinear)", "one value, or one per index of axis 2 of the codes [2, 3]" },
        { "axis -3", "node 'dq' (DequantizeLinear)", "one per index of axis -1 of the codes [2, 3]" },
        { "three scales on axis 0", "node 'dq' (DequantizeLinear)", "one per index of axis 0 of the codes [2, 3]" },
        { "float codes", "node 'dq' (DequantizeLinear)", "its codes 'q' have data type 1; uint8 (2), int8 (3)" },
        { "int8 scale", "node 'dq' (DequantizeLinear)", "its scale 's' has data type 3; float32 (1) is needed" },
        { "zero scale", "node 'dq' (DequantizeLinear)", "holds 0 at index 1; a scale must be positive and finite" },
        { "uint8 zero point", "node 'dq' (DequantizeLinear)", "its zero point 'z' must have the codes' data type (3)" },
        { "one zero point for two scales", "node 'dq' (DequantizeLinear)", "as many values as the scale (2); it has data type 3 and 1 values" },
        { "float16 output", "node 'dq' (DequantizeLinear)", "output_dtype = 10: only float32 (1) is supported" },
        { "unknown attribute", "node 'dq' (DequantizeLinear)", "attribute 'precision' is not supported on DequantizeLinear" },
        { "output named like an initializer", "node 'dq' (DequantizeLinear)", "its output 'b' is also an initializer or a graph input" },
        { "output named like the input", "node 'dq' (DequantizeLinear)", "its output 'x' is also an initializer or a graph input" },
        { "two outputs", "node 'dq' (DequantizeLinear)", "the node has 2 outputs; DequantizeLinear has one" },
        { "another domain", "node 'dq' (DequantizeLinear)", "operator DequantizeLinear of domain 'com.microsoft' is not supported" },
        { "scale past int8 layers", "node 'fc' (Gemm)", "have scale 3E+36 for unit 0; a scale must be in" },
        { "scales per input", "node 'fc' (Gemm)", "a scale per index of axis 1, the inputs" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_malformed_or_unmappable_DequantizeLinear_is_refused_naming_its_node(string change, string node, string problem)
    {
        Action<OnnxGraphBuilder> codes = g => g.IntegerInitializer("q", [2, 3], Int8, Codes, "raw");
        Action<OnnxGraphBuilder> perUnit = g => { codes(g); g.Initializer("s", [2], [0.5f, 0.25f]); };
        byte[] bytes = change switch
        {
            "axis 2" => Graph(perUnit, ["q", "s"], [("axis", 2)]),
            "axis -3" => Graph(perUnit, ["q", "s"], [("axis", -3)]),
            "three scales on axis 0" => Graph(g => { codes(g); g.Initializer("s", [3], [1, 1, 1]); }, ["q", "s"], [("axis", 0)]),
            "float codes" => Graph(g => g.Initializer("q", [2, 3], [1, 2, 3, 4, 5, 6]).Initializer("s", [], [0.5f]), ["q", "s"]),
            "int8 scale" => Graph(g => { codes(g); g.IntegerInitializer("s", [], Int8, [1]); }, ["q", "s"]),
            "zero scale" => Graph(g => { codes(g); g.Initializer("s", [2], [0.5f, 0]); }, ["q", "s"], [("axis", 0)]),
            "uint8 zero point" => Graph(g => { perUnit(g); g.IntegerInitializer("z", [2], UInt8, [0, 0]); }, ["q", "s", "z"], [("axis", 0)]),
            "one zero point for two scales" => Graph(g => { perUnit(g); g.IntegerInitializer("z", [], Int8, [0]); }, ["q", "s", "z"], [("axis", 0)]),
            "float16 output" => Graph(perUnit, ["q", "s"], [("axis", 0), ("output_dtype", 10)]),
            "unknown attribute" => Graph(perUnit, ["q", "s"], [("precision", 3)]),
            "output named like an initializer" => Graph(perUnit, ["q", "s"], [("axis", 0)], dqOutput: "b"),
            "output named like the input" => Graph(perUnit, ["q", "s"], [("axis", 0)], dqOutput: "x"),
            "two outputs" => Graph(g => { codes(g); g.Initializer("s", [], [0.5f]); }, ["q", "s"], extraOutputs: ["W2"]),
            "another domain" => Graph(perUnit, ["q", "s"], domain: "com.microsoft"),
            "scale past int8 layers" => Graph(g => g.IntegerInitializer("q", [2, 3], Int8, [1, 1, 1, 1, 1, 1], "raw").Initializer("s", [], [3e36f]), ["q", "s"]),
            "scales per input" => Graph(g => { codes(g); g.Initializer("s", [3], [0.5f, 0.25f, 1]); }, ["q", "s"], [("axis", 1)]),
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };
        Refused(bytes, node, problem);
    }

    [Theory]
    [InlineData(0, new float[] { 0.5f, -1, 1.5f, 31.75f, -31.75f, 1.25f })]        // scales [0.5, 0.25] along the rows
    [InlineData(1, new float[] { 0.5f, -0.5f, 3, 63.5f, -31.75f, 5 })]           // scales [0.5, 0.25, 1] along the columns
    public void The_folded_constant_is_each_code_times_its_channels_scale(int axis, float[] expected)
    {
        float[] scales = axis == 0 ? [0.5f, 0.25f] : [0.5f, 0.25f, 1];
        byte[] bytes = Graph(g => g.IntegerInitializer("q", [2, 3], Int8, Codes, "raw").Initializer("s", [scales.Length], scales), ["q", "s"], [("axis", axis)]);
        OnnxGraph graph = OnnxParser.Parse(bytes, null).Graph!;
        Assert.Single(OnnxQdq.FoldConstants(graph, null));
        OnnxTensor folded = graph.Initializers["W"];
        Assert.Equal(expected, folded.Floats);
        Assert.Equal([2L, 3L], folded.Dims);
        Assert.Equal(axis, folded.Dequantized!.Axis);
    }

    [Fact]
    public void A_float32_output_dtype_is_accepted()
    {
        Model<float> model = Import(Graph(g => g.IntegerInitializer("q", [2, 3], Int8, Codes, "raw").Initializer("s", [], [0.5f]),
            ["q", "s"], [("output_dtype", 1)]));
        Assert.Equal([0.5f, -1, 1.5f, 63.5f, -63.5f, 2.5f], model.Network.Weights(0).ToArray());
    }
}
