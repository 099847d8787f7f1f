using FastBackprop.Onnx;

namespace FastBackprop.Tests.Onnx;

/// <summary>
/// The importer's refusals of graphs that are not a chain of layers, each pinned with the whole sentence it promises
/// (which field, which count, which names), and the boundaries of the opsets it reads. A user fixing an exporter reads
/// these messages, so a word lost is a defect (the survivors of the first mutation run of Serialization).
/// </summary>
public class OnnxImportSpecTests
{
    private static Model<float> Import(byte[] onnx) => OnnxModel.Import<float>(new MemoryStream(onnx));

    private static string Refusal(byte[] onnx) => Assert.Throws<InvalidDataException>(() => Import(onnx)).Message;

    /// <summary>x (4 features) → Gemm → y (2 outputs), with the graph's pieces left to each test.</summary>
    private static OnnxGraphBuilder Layer(OnnxGraphBuilder? builder = null) => (builder ?? new OnnxGraphBuilder())
        .Initializer("w", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]).Initializer("b", [2], [0.5f, -0.5f]);

    [Theory]
    [InlineData(OnnxModel.MinImportOpset)]
    [InlineData(OnnxModel.MaxImportOpset)]
    public void The_first_and_last_opsets_it_knows_are_read(long opset)
    {
        byte[] onnx = Layer(new OnnxGraphBuilder { Opset = opset }).Input("x", null, 4).Output("y", null, 2)
            .Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build();
        Assert.Equal(2, Import(onnx).OutputSize);
    }

    [Theory]
    [InlineData(OnnxModel.MinImportOpset - 1)]
    [InlineData(OnnxModel.MaxImportOpset + 1)]
    public void Opsets_outside_those_are_refused_naming_the_range(long opset)
    {
        byte[] onnx = Layer(new OnnxGraphBuilder { Opset = opset }).Input("x", null, 4).Output("y", null, 2)
            .Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build();
        Assert.EndsWith($"ModelProto.opset_import: opset {opset} of the default domain is outside the 7–23 the importer knows.", Refusal(onnx));
    }

    [Fact]
    public void A_model_without_the_default_domain_is_refused()
    {
        byte[] onnx = Layer(new OnnxGraphBuilder { OpsetDomain = "com.example" }).Input("x", null, 4).Output("y", null, 2)
            .Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build();
        Assert.EndsWith("offset 0, ModelProto.opset_import: the model imports no opset of the default ONNX domain.", Refusal(onnx));
    }

    [Fact]
    public void Two_graph_inputs_are_refused_naming_both()
    {
        byte[] onnx = Layer().Input("x", null, 4).Input("mask", null, 4).Output("y", null, 2)
            .Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build();
        Assert.EndsWith("GraphProto.input: the graph has 2 inputs that are not initializers ('x', 'mask'); a network has exactly one.", Refusal(onnx));
    }

    [Fact]
    public void Inputs_that_are_initializers_are_constants_not_inputs()
    {
        // keep_initializers_as_inputs: the weights are listed as graph inputs too.
        byte[] onnx = Layer().Input("x", null, 4).Input("w", 2, 4).Input("b", 2).Output("y", null, 2)
            .Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build();
        Assert.Equal(4, Import(onnx).InputSize);
    }

    [Fact]
    public void Two_graph_outputs_are_refused()
    {
        byte[] onnx = Layer().Input("x", null, 4).Output("y", null, 2).Output("z", null, 2)
            .Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build();
        Assert.EndsWith("GraphProto.output: the graph has 2 outputs; a network has exactly one.", Refusal(onnx));
    }

    [Fact]
    public void A_node_without_an_output_is_refused()
    {
        byte[] onnx = Layer().Input("x", null, 4).Output("y", null, 2)
            .Node("Gemm", "fc", ["x", "w", "b"], Array.Empty<string>()).Build();
        Assert.EndsWith("the node has no output.", Refusal(onnx));
    }

    [Fact]
    public void A_node_with_two_outputs_is_refused_unless_dropout_or_dynamic_quantization()
    {
        byte[] onnx = Layer().Input("x", null, 4).Output("y", null, 2)
            .Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Relu", "act", ["z"], ["y", "extra"]).Build();
        string message = Refusal(onnx);
        Assert.Contains("node 'act' (Relu)", message);
        Assert.EndsWith("the node has 2 outputs; a network's operators have one.", message);

        byte[] dropout = Layer().Input("x", null, 4).Output("y", null, 2)
            .Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Dropout", "drop", ["z"], ["y", "mask"]).Build();
        Assert.Equal(2, Import(dropout).OutputSize);
    }

    [Fact]
    public void A_node_off_the_chain_is_refused_naming_its_inputs_and_the_value_expected()
    {
        byte[] one = Layer().Input("x", null, 4).Output("y", null, 2)
            .Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Relu", "act", ["q"], "y").Build();
        Assert.EndsWith("its input ('q') do not start with 'z', the value the node before it writes: the graph is not a chain of layers.", Refusal(one));

        byte[] two = Layer().Input("x", null, 4).Output("y", null, 2)
            .Node("Gemm", "fc", ["w", "x", "b"], "y", ("transB", 1)).Build();
        Assert.EndsWith("its inputs ('w', 'x', 'b') do not start with 'x', the value the node before it writes: the graph is not a chain of layers.", Refusal(two));
    }

    [Fact]
    public void Only_add_and_mul_may_take_the_chain_as_their_second_operand()
    {
        // Add(bias, z) is the same layer as Add(z, bias); Sub(bias, z) is not, and is refused.
        byte[] add = Layer().Input("x", null, 4).Output("y", null, 2).Initializer("c", [2], [1, 2])
            .Node("MatMul", "mm", ["x", "wt"], "z").Initializer("wt", [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]).Node("Add", "bias", ["c", "z"], "y").Build();
        Assert.Equal(2, Import(add).OutputSize);

        byte[] sub = Layer().Input("x", null, 4).Output("y", null, 2).Initializer("c", [2], [1, 2])
            .Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Sub", "minus", ["c", "z"], "y").Build();
        Assert.Contains("do not start with 'z'", Refusal(sub));
    }

    [Theory]
    [InlineData("Gemm", 1, "it has 1 inputs; 2 to 3 expected.")]
    [InlineData("Gemm", 4, "it has 4 inputs; 2 to 3 expected.")]
    [InlineData("Relu", 2, "it has 2 inputs; 1 expected.")]
    public void Operators_with_the_wrong_number_of_inputs_are_refused_naming_the_count_expected(string op, int count, string expected)
    {
        string[] inputs = new[] { "x", "w", "b", "b" }[..count];
        byte[] onnx = Layer().Input("x", null, 4).Output("y", null, 2)
            .Node(op, "n", inputs, "y", op == "Gemm" ? new (string, object)[] { ("transB", 1) } : Array.Empty<(string, object)>()).Build();
        Assert.EndsWith(expected, Refusal(onnx));
    }

    [Fact]
    public void Non_finite_weights_are_refused_naming_the_tensor_and_index()
    {
        byte[] onnx = new OnnxGraphBuilder().Initializer("w", [2, 4], [1, 2, 3, float.NaN, 5, 6, 7, 8]).Initializer("b", [2], [0, 0])
            .Input("x", null, 4).Output("y", null, 2).Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build();
        Assert.EndsWith("its weight 'w' holds NaN at index 3; weights must be finite.", Refusal(onnx));

        byte[] bias = new OnnxGraphBuilder().Initializer("w", [2, 4], new float[8]).Initializer("b", [2], [0, float.NaN])
            .Input("x", null, 4).Output("y", null, 2).Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build();
        Assert.EndsWith("its bias 'b' holds NaN at index 1; weights must be finite.", Refusal(bias));
    }

    /// <summary>Each operator's own checks: its input count, its attributes (naming those it accepts), and where in the
    /// chain it may stand, each refusal with its sentence.</summary>
    [Theory]
    [InlineData("gemmAttribute", "attribute 'foo' is not supported on Gemm (only alpha, beta, transA, transB).")]
    [InlineData("matmulAttribute", "attribute 'foo' is not supported on MatMul.")]
    [InlineData("matmulArity", "it has 3 inputs; 2 expected.")]
    [InlineData("biasAttribute", "attribute 'foo' is not supported on Add.")]
    [InlineData("reluAttribute", "attribute 'foo' is not supported on Relu.")]
    [InlineData("subLate", "Sub is supported only once, before the first layer, as the input standardisation's mean.")]
    [InlineData("subTwice", "Sub is supported only once, before the first layer, as the input standardisation's mean.")]
    [InlineData("addFirst", "Add is supported only as a MatMul's bias or, once, at the end as the target de-standardisation")]
    [InlineData("divSoftmax", "Div after a Softmax: a target standardisation belongs to a regression model.")]
    [InlineData("layerAfterTail", "a dense layer follows the output de-standardisation (Div/Add), which must come last.")]
    [InlineData("vectorWeight", "its weight 'v' has dims [8]; a weight matrix of two positive dimensions is needed")]
    [InlineData("floatAlpha", "attribute 'transB' is not an integer.")]
    public void Operators_are_refused_where_they_cannot_be_mapped(string kind, string expected)
    {
        OnnxGraphBuilder g = Layer().Input("x", null, 4).Output("y", null, 2).Initializer("wt", [4, 2], new float[8])
            .Initializer("m", [4], new float[4]).Initializer("c", [2], [1, 2]).Initializer("v", [8], new float[8]);
        byte[] onnx = kind switch
        {
            "gemmAttribute" => g.Node("Gemm", "fc", ["x", "w", "b"], "y", ("foo", 1)).Build(),
            "matmulAttribute" => g.Node("MatMul", "mm", ["x", "wt"], "y", ("foo", 1)).Build(),
            "matmulArity" => g.Node("MatMul", "mm", ["x", "wt", "c"], "y").Build(),
            "biasAttribute" => g.Node("MatMul", "mm", ["x", "wt"], "z").Node("Add", "bias", ["z", "c"], "y", ("foo", 1)).Build(),
            "reluAttribute" => g.Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Relu", "act", ["z"], "y", ("foo", 1)).Build(),
            "subLate" => g.Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Sub", "minus", ["z", "c"], "y").Build(),
            "subTwice" => g.Node("Sub", "s1", ["x", "m"], "s").Node("Sub", "s2", ["s", "m"], "t").Node("Gemm", "fc", ["t", "w", "b"], "y", ("transB", 1)).Build(),
            "addFirst" => g.Node("Add", "plus", ["x", "m"], "a").Node("Gemm", "fc", ["a", "w", "b"], "y", ("transB", 1)).Build(),
            "divSoftmax" => g.Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Softmax", "sm", ["z"], "p").Node("Div", "d", ["p", "c"], "y").Build(),
            "layerAfterTail" => g.Initializer("w2", [2, 2], new float[4]).Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1))
                .Node("Div", "d", ["z", "c"], "q").Node("Gemm", "fc2", ["q", "w2"], "y", ("transB", 1)).Build(),
            "vectorWeight" => g.Node("MatMul", "mm", ["x", "v"], "y").Build(),
            "floatAlpha" => g.Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1f)).Build(),
            _ => throw new ArgumentException(kind),
        };
        Assert.Contains(expected, Refusal(onnx));
    }

    [Fact]
    public void A_missing_constant_is_refused_naming_its_role()
    {
        byte[] onnx = Layer().Input("x", null, 4).Output("y", null, 2)
            .Node("Gemm", "fc", ["x", "", "b"], "y", ("transB", 1)).Build();
        Assert.EndsWith("the weight input is missing.", Refusal(onnx));
    }
}

/// <summary>The protobuf layer's refusals: what an empty, graphless, doubled or truncated file is told, with the field
/// that was being read named in every message.</summary>
public class OnnxProtoSpecTests
{
    private static string Refusal(byte[] onnx)
        => Assert.Throws<InvalidDataException>(() => OnnxModel.Import<float>(new MemoryStream(onnx))).Message;

    private static byte[] Valid() => new OnnxGraphBuilder().Initializer("w", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]).Initializer("b", [2], [1, 2])
        .Input("x", null, 4).Output("y", null, 2).Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1)).Node("Relu", "", ["z"], "y")
        .Metadata("note", "kept").Build();

    private static byte[] Append(byte[] model, ProtoWriter more) => [.. model, .. more.ToArray()];

    [Fact]
    public void An_empty_file_is_refused() => Assert.EndsWith("offset 0, ModelProto: the file is empty.", Refusal([]));

    [Fact]
    public void A_file_without_a_graph_is_refused()
    {
        byte[] onnx = new ProtoWriter().Varint(OnnxFields.ModelIrVersion, 7)
            .Message(OnnxFields.ModelOpsetImport, new ProtoWriter().String(OnnxFields.OpsetDomain, "").Varint(OnnxFields.OpsetVersion, 13)).ToArray();
        Assert.EndsWith("ModelProto.graph: the file holds no graph (is it an ONNX model?).", Refusal(onnx));
    }

    [Fact]
    public void Two_graphs_are_refused()
        => Assert.EndsWith("ModelProto.graph: the model holds two graphs.", Refusal(Append(Valid(), new ProtoWriter().Message(OnnxFields.ModelGraph, new ProtoWriter()))));

    [Fact]
    public void Local_functions_are_refused()
        => Assert.EndsWith("ModelProto.functions: the model defines local functions, which the importer does not support.",
            Refusal(Append(Valid(), new ProtoWriter().Message(OnnxFields.ModelFunctions, new ProtoWriter()))));

    [Fact]
    public void Two_initializers_of_one_name_are_refused()
    {
        byte[] onnx = new OnnxGraphBuilder().Initializer("w", [2, 4], new float[8]).Initializer("w", [2, 4], new float[8])
            .Input("x", null, 4).Output("y", null, 2).Node("Gemm", "fc", ["x", "w"], "y", ("transB", 1)).Build();
        Assert.EndsWith("GraphProto.initializer: two initializers are named 'w'.", Refusal(onnx));
    }

    [Fact]
    public void The_ai_onnx_domain_is_the_default_domain_and_unknown_fields_are_skipped()
    {
        byte[] onnx = Append(new OnnxGraphBuilder { OpsetDomain = "ai.onnx" }.Initializer("w", [2, 4], new float[8])
            .Input("x", null, 4).Output("y", null, 2).Node("Gemm", "fc", ["x", "w"], "y", ("transB", 1)).Build(),
            new ProtoWriter().Message(OnnxFields.ModelMetadataProps, new ProtoWriter().String(OnnxFields.EntryKey, "k")
                .String(OnnxFields.EntryValue, "v").Varint(9, 1)));
        Assert.Equal(2, OnnxModel.Import<float>(new MemoryStream(onnx)).OutputSize);
    }

    [Fact]
    public void A_node_without_a_name_is_named_by_its_place()
    {
        byte[] onnx = new OnnxGraphBuilder().Initializer("w", [2, 4], new float[8])
            .Input("x", null, 4).Output("y", null, 2).Node("Gemm", "fc", ["x", "w"], "z", ("transB", 1)).Node("Conv", "", ["z"], "y").Build();
        Assert.Contains("node #1 (Conv): operator Conv is not supported", Refusal(onnx));
    }

    /// <summary>Every cut of a valid model is refused with the offset and the field being read — a protobuf path such as
    /// <c>GraphProto.node</c> — except the one cut protobuf cannot see: at the end of a whole top-level field (here,
    /// before the metadata entry), which is a valid model without what follows.</summary>
    [Fact]
    public void Every_truncation_is_refused_naming_the_field_being_read()
    {
        byte[] valid = Valid();
        int withoutMetadata = valid.Length - new ProtoWriter().Message(OnnxFields.ModelMetadataProps,
            new ProtoWriter().String(OnnxFields.EntryKey, "note").String(OnnxFields.EntryValue, "kept")).ToArray().Length;
        var fields = new HashSet<string>();
        for (int length = 1; length < valid.Length; length++)
        {
            if (length == withoutMetadata)
            {
                Assert.Equal(2, OnnxModel.Import<float>(new MemoryStream(valid[..length])).OutputSize);
                continue;
            }
            string message = Refusal(valid[..length]);
            var match = System.Text.RegularExpressions.Regex.Match(message, @"^<stream>, offset (\d+), ([A-Za-z_]+(\.[a-z_]+)*( '[^']*')?( #\d+)?)( \([A-Za-z]+\))?: \S");
            Assert.True(match.Success, $"cut at {length}: '{message}'");
            Assert.InRange(long.Parse(match.Groups[1].Value), 0, length);
            fields.Add(match.Groups[2].Value.Split(' ')[0]);
        }
        // A cut inside a nested message is seen where its length runs past the end: at the model's own fields.
        Assert.Equal(new HashSet<string> { "ModelProto", "ModelProto.ir_version", "ModelProto.graph", "ModelProto.opset_import",
            "ModelProto.metadata_props" }, fields);
    }
}
