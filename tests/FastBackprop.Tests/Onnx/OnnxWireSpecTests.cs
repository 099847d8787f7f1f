using FastBackprop.Onnx;

namespace FastBackprop.Tests.Onnx;

/// <summary>
/// What the ONNX reader says about each field it reads, as a specification: a well-formed model with one defect placed in
/// one message — a field of the wrong wire type, an unknown field cut short, an obsolete group, too many entries, a tensor
/// whose values do not match its dims — is refused naming that message's field as onnx.proto spells it
/// ("NodeProto.op_type", "TypeProto.Tensor.elem_type", …) and the problem. The model is written byte by byte here
/// (not with the exporter), so every message of onnx.proto the reader knows is reached.
/// </summary>
public class OnnxWireSpecTests
{
    // ---- a small model, every message present, with room for one defect -----------------------------------------------

    private static byte[] Key(int field, int wire) => Varint((ulong)((field << 3) | wire));

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }
        bytes.Add((byte)value);
        return [.. bytes];
    }

    private static byte[] Join(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] Field(int field, byte[] message) => Join(Key(field, 2), Varint((ulong)message.Length), message);

    private static byte[] VarintField(int field, ulong value) => Join(Key(field, 0), Varint(value));

    private static byte[] Text(int field, string value) => Field(field, System.Text.Encoding.UTF8.GetBytes(value));

    /// <summary>The model, with <paramref name="extra"/> appended to the message named <paramref name="where"/>.</summary>
    private static byte[] Model(string where, byte[] extra)
    {
        byte[] In(string name) => where == name ? extra : [];
        byte[] dim = Join(VarintField(OnnxFields.DimValue, 2), In("dim"));
        byte[] shape = Join(Field(OnnxFields.ShapeDim, dim), In("shape"));
        byte[] tensorType = Join(VarintField(OnnxFields.TensorTypeElemType, 1), Field(OnnxFields.TensorTypeShape, shape), In("tensortype"));
        byte[] type = Join(Field(OnnxFields.TypeTensorType, tensorType), In("type"));
        byte[] input = Join(Text(OnnxFields.ValueInfoName, "x"), Field(OnnxFields.ValueInfoType, type), In("valueinfo"));
        byte[] output = Join(Text(OnnxFields.ValueInfoName, "y"), Field(OnnxFields.ValueInfoType, type));
        byte[] attribute = Join(Text(OnnxFields.AttributeName, "transB"), VarintField(OnnxFields.AttributeI, 1),
            VarintField(OnnxFields.AttributeType, OnnxFields.AttributeTypeInt), In("attribute"));
        byte[] node = Join(Text(OnnxFields.NodeInput, "x"), Text(OnnxFields.NodeInput, "w"), Text(OnnxFields.NodeOutput, "y"),
            Text(OnnxFields.NodeName, "fc"), Text(OnnxFields.NodeOpType, "Gemm"), Field(OnnxFields.NodeAttribute, attribute), In("node"));
        byte[] tensor = Join(VarintField(OnnxFields.TensorDims, 2), VarintField(OnnxFields.TensorDims, 2),
            VarintField(OnnxFields.TensorDataType, OnnxFields.DataTypeFloat), Text(OnnxFields.TensorName, "w"),
            Field(OnnxFields.TensorRawData, new byte[16]), In("tensor"));
        byte[] graph = Join(Field(OnnxFields.GraphNode, node), Text(OnnxFields.GraphName, "g"), Field(OnnxFields.GraphInitializer, tensor),
            Field(OnnxFields.GraphInput, input), Field(OnnxFields.GraphOutput, output), In("graph"));
        byte[] opset = Join(Text(OnnxFields.OpsetDomain, ""), VarintField(OnnxFields.OpsetVersion, 17), In("opset"));
        byte[] entry = Join(Text(OnnxFields.EntryKey, "k"), Text(OnnxFields.EntryValue, "v"), In("entry"));
        return Join(VarintField(OnnxFields.ModelIrVersion, 8), Field(OnnxFields.ModelOpsetImport, opset),
            Field(OnnxFields.ModelMetadataProps, entry), Field(OnnxFields.ModelGraph, graph), In("model"));
    }

    private static string Refusal(byte[] bytes) => Assert.Throws<InvalidDataException>(() => OnnxParser.Parse(bytes, null)).Message;

    [Fact]
    public void The_model_without_a_defect_is_read_whole()
    {
        OnnxModelProto model = OnnxParser.Parse(Model("none", []), null);
        OnnxGraph graph = model.Graph!;
        Assert.Equal(17, model.Opsets[""]);
        Assert.Equal("v", model.Metadata["k"]);
        Assert.Equal(["x", "w"], graph.Nodes[0].Inputs);
        Assert.Equal(("fc", "Gemm", "transB", 1L), (graph.Nodes[0].Name, graph.Nodes[0].OpType, graph.Nodes[0].Attributes[0].Name, graph.Nodes[0].Attributes[0].I));
        Assert.Equal([2L, 2], graph.Initializers["w"].Dims);
        Assert.Equal(4, graph.Initializers["w"].Count);
        Assert.Equal(("x", 1, 2L), (graph.Inputs[0].Name, graph.Inputs[0].ElementType, graph.Inputs[0].Dims![0]));
        Assert.Equal("y", graph.Outputs[0].Name);
    }

    /// <summary>A length-delimited field written as a varint, and a varint field written length-delimited.</summary>
    private static byte[] WrongWire(int field, bool lengthDelimited) => lengthDelimited ? VarintField(field, 1) : Field(field, [1]);

    public static TheoryData<string, int, bool, string> WrongWireTypes => new()
    {
        { "model", OnnxFields.ModelIrVersion, false, "ModelProto.ir_version" },
        { "model", OnnxFields.ModelOpsetImport, true, "ModelProto.opset_import" },
        { "model", OnnxFields.ModelMetadataProps, true, "ModelProto.metadata_props" },
        { "opset", OnnxFields.OpsetDomain, true, "OperatorSetIdProto.domain" },
        { "opset", OnnxFields.OpsetVersion, false, "OperatorSetIdProto.version" },
        { "entry", OnnxFields.EntryKey, true, "metadata_props.key" },
        { "entry", OnnxFields.EntryValue, true, "metadata_props.value" },
        { "graph", OnnxFields.GraphNode, true, "GraphProto.node" },
        { "graph", OnnxFields.GraphInitializer, true, "GraphProto.initializer" },
        { "graph", OnnxFields.GraphInput, true, "GraphProto.input/output" },
        { "graph", OnnxFields.GraphOutput, true, "GraphProto.input/output" },
        { "node", OnnxFields.NodeInput, true, "NodeProto.input" },
        { "node", OnnxFields.NodeOutput, true, "NodeProto.output" },
        { "node", OnnxFields.NodeName, true, "NodeProto.name" },
        { "node", OnnxFields.NodeOpType, true, "NodeProto.op_type" },
        { "node", OnnxFields.NodeDomain, true, "NodeProto.domain" },
        { "node", OnnxFields.NodeAttribute, true, "NodeProto.attribute" },
        { "attribute", OnnxFields.AttributeName, true, "AttributeProto.name" },
        { "attribute", OnnxFields.AttributeType, false, "AttributeProto.type" },
        { "attribute", OnnxFields.AttributeF, false, "AttributeProto.f" },
        { "attribute", OnnxFields.AttributeI, false, "AttributeProto.i" },
        { "attribute", OnnxFields.AttributeS, true, "AttributeProto.s" },
        { "tensor", OnnxFields.TensorDataType, false, "TensorProto.data_type" },
        { "tensor", OnnxFields.TensorName, true, "TensorProto.name" },
        { "tensor", OnnxFields.TensorRawData, true, "TensorProto.raw_data" },
        { "tensor", OnnxFields.TensorDataLocation, false, "TensorProto.data_location" },
        { "valueinfo", OnnxFields.ValueInfoName, true, "ValueInfoProto.name" },
        { "valueinfo", OnnxFields.ValueInfoType, true, "ValueInfoProto.type" },
        { "type", OnnxFields.TypeTensorType, true, "TypeProto.tensor_type" },
        { "tensortype", OnnxFields.TensorTypeElemType, false, "TypeProto.Tensor.elem_type" },
        { "tensortype", OnnxFields.TensorTypeShape, true, "TypeProto.Tensor.shape" },
        { "shape", OnnxFields.ShapeDim, true, "TensorShapeProto.dim" },
        { "dim", OnnxFields.DimValue, false, "Dimension.dim_value" },
    };

    [Theory]
    [MemberData(nameof(WrongWireTypes))]
    public void A_field_of_the_wrong_wire_type_is_refused_naming_it(string where, int field, bool lengthDelimited, string name)
    {
        string message = Refusal(Model(where, WrongWire(field, lengthDelimited)));
        Assert.Contains($", {name}: wire type {(lengthDelimited ? 0 : 2)} where ONNX defines", message);
    }

    public static TheoryData<string, string> Messages => new()
    {
        { "model", "ModelProto" },
        { "opset", "OperatorSetIdProto" },
        { "entry", "StringStringEntryProto" },
        { "graph", "GraphProto" },
        { "node", "NodeProto" },
        { "attribute", "AttributeProto" },
        { "tensor", "TensorProto" },
        { "valueinfo", "ValueInfoProto" },
        { "type", "TypeProto" },
        { "tensortype", "TypeProto.Tensor" },
        { "shape", "TensorShapeProto" },
        { "dim", "TensorShapeProto.Dimension" },
    };

    /// <summary>An unknown field is skipped — unless it is cut short, or an obsolete group: then the message is named.</summary>
    [Theory]
    [MemberData(nameof(Messages))]
    public void Unknown_fields_are_skipped_and_a_broken_one_names_its_message(string where, string name)
    {
        // Skipped whole: a length-delimited, a varint, a fixed32 and a fixed64 field the reader does not know.
        byte[] skipped = Join(Field(99, [1, 2, 3]), VarintField(98, 300), Key(97, 5), [0, 0, 0, 0], Key(96, 1), new byte[8]);
        Assert.NotNull(OnnxParser.Parse(Model(where, skipped), null).Graph);
        // Cut short: a length of 100 with no bytes after it, inside the message.
        Assert.Contains($", {name}: its length 100 is more than the 0 bytes left in the enclosing message", Refusal(Model(where, Join(Key(99, 2), Varint(100)))));
        // A group (wire type 3).
        Assert.Contains($", {name}: field 99 has wire type 3, which ONNX never uses", Refusal(Model(where, Key(99, 3))));
    }

    [Theory]
    [InlineData("model", OnnxFields.ModelOpsetImport, "ModelProto.opset_import")]
    [InlineData("model", OnnxFields.ModelMetadataProps, "ModelProto.metadata_props")]
    [InlineData("node", OnnxFields.NodeOutput, "NodeProto.output")]
    [InlineData("node", OnnxFields.NodeAttribute, "NodeProto.attribute")]
    public void More_than_64_entries_per_node_or_model_are_refused(string where, int field, string name)
    {
        // Entries that are themselves valid, 64 of them beside the model's own: distinct opset domains and metadata keys
        // (field 1 of both; the same one would only replace the entry before), empty output names and attributes.
        byte[] entries = Join(Enumerable.Range(0, OnnxParser.MaxPerNode)
            .Select(i => Field(field, where == "model" ? Text(1, $"e{i}") : [])).ToArray());
        Assert.Contains($", {name}: more than {OnnxParser.MaxPerNode}; no network the importer can map has that many.", Refusal(Model(where, entries)));
    }

    [Fact]
    public void More_than_32_dimensions_are_refused_in_a_tensor_and_in_a_shape()
    {
        byte[] dims = Join(Enumerable.Repeat(VarintField(OnnxFields.TensorDims, 1), OnnxParser.MaxDims).ToArray());
        Assert.Contains(", TensorProto.dims: more than 32 dimensions.", Refusal(Model("tensor", dims)));
        byte[] packed = Field(OnnxFields.TensorDims, Join(Enumerable.Repeat(Varint(1), OnnxParser.MaxDims + 1).ToArray()));
        Assert.Contains(", TensorProto.dims: more than 32 dimensions.", Refusal(Model("tensor", packed)));
        byte[] shape = Join(Enumerable.Repeat(Field(OnnxFields.ShapeDim, VarintField(OnnxFields.DimValue, 1)), OnnxParser.MaxDims).ToArray());
        Assert.Contains(", TensorShapeProto.dim: more than 32 dimensions.", Refusal(Model("shape", shape)));
        // Exactly 32 of each are read.
        Assert.NotNull(OnnxParser.Parse(Model("shape", Join(Enumerable.Repeat(Field(OnnxFields.ShapeDim, VarintField(OnnxFields.DimValue, 1)), OnnxParser.MaxDims - 1).ToArray())), null).Graph);
    }

    [Fact]
    public void Packed_dims_are_read_as_varints()
    {
        // The tensor's own two dims (2, 2) and a packed run (1, 1): [2, 2, 1, 1] = 4 values, what raw_data holds.
        OnnxModelProto model = OnnxParser.Parse(Model("tensor", Field(OnnxFields.TensorDims, Join(Varint(1), Varint(1)))), null);
        Assert.Equal([2L, 2, 1, 1], model.Graph!.Initializers["w"].Dims);
        Assert.Contains(", TensorProto.dims: the message ends inside a varint", Refusal(Model("tensor", Field(OnnxFields.TensorDims, [0x80]))));
    }

    /// <summary>The tensor block of <see cref="Model"/> replaced by these fields (named "w").</summary>
    private static byte[] WithTensor(params byte[][] fields)
    {
        byte[] model = Model("none", []);
        byte[] tensor = Join(fields);
        byte[] graph = Join(Field(OnnxFields.GraphInitializer, Join(Text(OnnxFields.TensorName, "w"), tensor)));
        return Join(VarintField(OnnxFields.ModelIrVersion, 8), Field(OnnxFields.ModelGraph, graph));
    }

    [Fact]
    public void A_tensor_whose_values_do_not_match_its_dims_is_refused_saying_what_it_holds()
    {
        byte[] dims = VarintField(OnnxFields.TensorDims, 2), floats = VarintField(OnnxFields.TensorDataType, OnnxFields.DataTypeFloat);
        Assert.Contains("initializer 'w': its dims [2] make 2 values but it holds 12 bytes of raw_data.",
            Refusal(WithTensor(dims, floats, Field(OnnxFields.TensorRawData, new byte[12]))));
        Assert.Contains("initializer 'w': its dims [2] make 2 values but it holds 6 bytes of raw_data.",
            Refusal(WithTensor(dims, floats, Field(OnnxFields.TensorRawData, new byte[6]))));
        Assert.Contains("initializer 'w': its dims [2] make 2 values but it holds 8 bytes of raw_data and typed data besides.",
            Refusal(WithTensor(dims, floats, Field(OnnxFields.TensorRawData, new byte[8]), Field(OnnxFields.TensorFloatData, new byte[8]))));
        Assert.Contains("initializer 'w': its dims [2] make 2 values but it holds 3 values.",
            Refusal(WithTensor(dims, floats, Field(OnnxFields.TensorFloatData, new byte[12]))));
        Assert.Contains("initializer 'w': its dims [2] make 2 values but it holds 1 values.",
            Refusal(WithTensor(dims, VarintField(OnnxFields.TensorDataType, OnnxFields.DataTypeDouble), Field(OnnxFields.TensorDoubleData, new byte[8]))));
        Assert.Contains("initializer 'w': dimension -1 is negative.",
            Refusal(WithTensor(VarintField(OnnxFields.TensorDims, unchecked((ulong)-1L)), floats)));
        // Dims whose product passes int.MaxValue are counted as more than it, not wrapped round to a small count.
        Assert.Contains("initializer 'w': its dims [65536, 65536] make 2147483648 values but it holds 0 bytes of raw_data.",
            Refusal(WithTensor(VarintField(OnnxFields.TensorDims, 65536), VarintField(OnnxFields.TensorDims, 65536), floats, Field(OnnxFields.TensorRawData, []))));
        Assert.Contains("initializer 'w': its dims [46341, 46341] make 2147483648 values but it holds 0 bytes of raw_data.",
            Refusal(WithTensor(VarintField(OnnxFields.TensorDims, 46341), VarintField(OnnxFields.TensorDims, 46341), floats, Field(OnnxFields.TensorRawData, []))));
    }

    [Fact]
    public void Typed_float_data_packed_or_not_and_raw_data_give_the_values_in_order()
    {
        byte[] dims = VarintField(OnnxFields.TensorDims, 2);
        byte[] two = Join(BitConverter.GetBytes(1.5f), BitConverter.GetBytes(-2.25f));
        OnnxTensor Read(params byte[][] fields) => OnnxParser.Parse(WithTensor([dims, .. fields]), null).Graph!.Initializers["w"];
        OnnxTensor raw = Read(VarintField(OnnxFields.TensorDataType, OnnxFields.DataTypeFloat), Field(OnnxFields.TensorRawData, two));
        OnnxTensor packed = Read(VarintField(OnnxFields.TensorDataType, OnnxFields.DataTypeFloat), Field(OnnxFields.TensorFloatData, two));
        OnnxTensor unpacked = Read(VarintField(OnnxFields.TensorDataType, OnnxFields.DataTypeFloat),
            Key(OnnxFields.TensorFloatData, 5), BitConverter.GetBytes(1.5f), Key(OnnxFields.TensorFloatData, 5), BitConverter.GetBytes(-2.25f));
        foreach (OnnxTensor t in new[] { raw, packed, unpacked })
            Assert.Equal((1.5, -2.25), (t[0], t[1]));
        byte[] twoDoubles = Join(BitConverter.GetBytes(0.1), BitConverter.GetBytes(-7.0));
        OnnxTensor rawDoubles = Read(VarintField(OnnxFields.TensorDataType, OnnxFields.DataTypeDouble), Field(OnnxFields.TensorRawData, twoDoubles));
        OnnxTensor unpackedDoubles = Read(VarintField(OnnxFields.TensorDataType, OnnxFields.DataTypeDouble),
            Key(OnnxFields.TensorDoubleData, 1), BitConverter.GetBytes(0.1), Key(OnnxFields.TensorDoubleData, 1), BitConverter.GetBytes(-7.0));
        Assert.Equal((0.1, -7.0), (rawDoubles[0], rawDoubles[1]));
        Assert.Equal((0.1, -7.0), (unpackedDoubles[0], unpackedDoubles[1]));
        sbyte[] codes = Read(VarintField(OnnxFields.TensorDataType, OnnxFields.DataTypeInt8), Field(OnnxFields.TensorRawData, [0xFF, 0x7F])).Int8s!;
        Assert.Equal(new sbyte[] { -1, 127 }, codes);
        // A float value in the wire type of another width, and a packed run that is not whole values.
        Assert.Contains(", TensorProto.float_data/double_data: wire type 1 for a 32-bit float.",
            Refusal(WithTensor(dims, Key(OnnxFields.TensorFloatData, 1), new byte[8])));
        Assert.Contains(", TensorProto.float_data/double_data: wire type 5 for a 64-bit float.",
            Refusal(WithTensor(dims, Key(OnnxFields.TensorDoubleData, 5), new byte[4])));
        Assert.Contains(", TensorProto.float_data/double_data: a packed run of 6 bytes is not a whole number of 4-byte values.",
            Refusal(WithTensor(dims, Field(OnnxFields.TensorFloatData, new byte[6]))));
        Assert.Contains(", TensorProto.float_data/double_data: a packed run of 12 bytes is not a whole number of 8-byte values.",
            Refusal(WithTensor(dims, Field(OnnxFields.TensorDoubleData, new byte[12]))));
    }

    [Fact]
    public void External_data_and_sparse_initializers_are_refused_naming_the_initializer()
    {
        Assert.Contains(", TensorProto.data_location: initializer 'w' keeps its data in an external file, which the importer does not read",
            Refusal(Model("tensor", VarintField(OnnxFields.TensorDataLocation, OnnxFields.DataLocationExternal))));
        Assert.NotNull(OnnxParser.Parse(Model("tensor", VarintField(OnnxFields.TensorDataLocation, 0)), null).Graph);
        Assert.Contains(", TensorProto.external_data: initializer 'w' refers to external data, which the importer does not read",
            Refusal(Model("tensor", Field(OnnxFields.TensorExternalData, []))));
        Assert.Contains(", GraphProto.sparse_initializer: sparse initializers are not supported.",
            Refusal(Model("graph", Field(OnnxFields.GraphSparseInitializer, []))));
    }
}
