using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace FastBackprop.Onnx;

// The subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) that dense networks need, with
// its field numbers. Fields not listed are skipped on reading, except those that would change what the graph
// computes without the importer noticing (sparse initializers, external tensor data, functions): those are refused.

/// <summary>Field numbers and enum values of onnx.proto.</summary>
internal static class OnnxFields
{
    // ModelProto
    public const int ModelIrVersion = 1, ModelProducerName = 2, ModelProducerVersion = 3, ModelGraph = 7, ModelOpsetImport = 8,
        ModelMetadataProps = 14, ModelFunctions = 25;
    // OperatorSetIdProto
    public const int OpsetDomain = 1, OpsetVersion = 2;
    // StringStringEntryProto
    public const int EntryKey = 1, EntryValue = 2;
    // GraphProto
    public const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12, GraphSparseInitializer = 15;
    // NodeProto
    public const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5, NodeDomain = 7;
    // AttributeProto
    public const int AttributeName = 1, AttributeF = 2, AttributeI = 3, AttributeS = 4, AttributeType = 20;
    public const int AttributeTypeFloat = 1, AttributeTypeInt = 2, AttributeTypeString = 3;
    // TensorProto
    public const int TensorDims = 1, TensorDataType = 2, TensorFloatData = 4, TensorInt32Data = 5, TensorName = 8, TensorRawData = 9,
        TensorDoubleData = 10, TensorExternalData = 13, TensorDataLocation = 14;
    public const int DataTypeFloat = 1, DataTypeUInt8 = 2, DataTypeInt8 = 3, DataTypeUInt16 = 4, DataTypeInt16 = 5, DataTypeInt32 = 6,
        DataTypeDouble = 11, DataLocationExternal = 1;
    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, TensorShapeProto.Dimension
    public const int ValueInfoName = 1, ValueInfoType = 2, TypeTensorType = 1, TensorTypeElemType = 1, TensorTypeShape = 2,
        ShapeDim = 1, DimValue = 1, DimParam = 2;
}

internal sealed record OnnxAttribute(string Name, int Type, float F, long I, string? S);

internal sealed class OnnxNode
{
    public required int Offset { get; init; }
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];
    public string Name { get; set; } = "";
    public string OpType { get; set; } = "";
    public string Domain { get; set; } = "";
    public List<OnnxAttribute> Attributes { get; } = [];

    /// <summary>How error messages name the node: <c>node 'fc1' (Gemm)</c>, or its position when it has no name.</summary>
    public string Describe(int index) => Name.Length > 0 ? $"node '{Name}' ({OpType})" : $"node #{index} ({OpType})";
}

/// <summary>An initializer: dims and the values in row-major order, as float or double (whichever the file holds).</summary>
internal sealed class OnnxTensor
{
    public required int Offset { get; init; }
    public string Name { get; set; } = "";
    public long[] Dims { get; set; } = [];
    public int DataType { get; set; }
    public float[]? Floats { get; set; }
    public double[]? Doubles { get; set; }
    /// <summary>An int8 tensor's values (data type 3, from raw_data or int32_data), or null.</summary>
    public sbyte[]? Int8s { get; set; }
    /// <summary>The values of a tensor of an integer type of at most 32 bits (uint8, int8, uint16, int16, int32: the types
    /// of quantized weights, biases and zero points), from raw_data or int32_data, or null.</summary>
    public int[]? Integers { get; set; }
    /// <summary>Set on the float constant a DequantizeLinear of constants computes (<see cref="OnnxQdq.FoldConstants"/>):
    /// the codes and scales it came from.</summary>
    public OnnxQuantization? Dequantized { get; init; }
    public int Count => Floats?.Length ?? Doubles?.Length ?? 0;

    /// <summary>Whether the values were read (float32 or float64); other types keep only their dims.</summary>
    public bool HasValues => Floats is not null || Doubles is not null;

    public double this[int index] => Floats is not null ? Floats[index] : Doubles![index];
}

/// <summary>A graph input or output: its name, element type and dims (null for a symbolic or missing dimension;
/// Dims null when the shape is not given).</summary>
internal sealed record OnnxValueInfo(string Name, int Offset, int ElementType, long?[]? Dims);

internal sealed class OnnxGraph
{
    public List<OnnxNode> Nodes { get; } = [];
    public Dictionary<string, OnnxTensor> Initializers { get; } = new(StringComparer.Ordinal);
    public List<OnnxValueInfo> Inputs { get; } = [];
    public List<OnnxValueInfo> Outputs { get; } = [];
    public int Offset { get; init; }
}

internal sealed class OnnxModelProto
{
    public long IrVersion { get; set; }
    public Dictionary<string, long> Opsets { get; } = new(StringComparer.Ordinal);
    public OnnxGraph? Graph { get; set; }
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);
}

/// <summary>Parses a <c>ModelProto</c> into the classes above, bounded (see <see cref="ProtoReader"/>).</summary>
internal static class OnnxParser
{
    /// <summary>The longest name (node, tensor, operator, attribute) accepted, in bytes.</summary>
    public const int MaxNameBytes = 1 << 16;

    /// <summary>The most dimensions a tensor may have (ONNX has no limit; dense networks need two).</summary>
    public const int MaxDims = 32;

    /// <summary>The most nodes, initializers, graph inputs/outputs, metadata entries and opset imports a file may hold:
    /// eight times <see cref="ModelFile.MaxLayers"/>, far more than any network the importer can map needs. Without a
    /// cap a file of tiny messages would make objects many times its own size.</summary>
    public const int MaxItems = 8 * ModelFile.MaxLayers;

    /// <summary>The most inputs, outputs or attributes one node may have (the supported operators have at most five).</summary>
    public const int MaxPerNode = 64;

    private static void Count(ref ProtoReader r, int count, int max, string field)
    {
        if (count >= max)
            throw r.Error(r.FieldStart, field, $"more than {max}; no network the importer can map has that many.");
    }

    public static OnnxModelProto Parse(ReadOnlySpan<byte> data, string? name)
    {
        var r = new ProtoReader(data, 0, data.Length, name);
        if (data.Length == 0)
            throw r.Error(0, "ModelProto", "the file is empty.");
        var model = new OnnxModelProto();
        while (r.Next("ModelProto", out int field, out WireType wire))
        {
            switch (field)
            {
                case OnnxFields.ModelIrVersion:
                    model.IrVersion = r.Int64(wire, "ModelProto.ir_version");
                    break;
                case OnnxFields.ModelOpsetImport:
                    {
                        Count(ref r, model.Opsets.Count, MaxPerNode, "ModelProto.opset_import");
                        var o = r.Message(wire, "ModelProto.opset_import");
                        string domain = "";
                        long version = 0;
                        while (o.Next("OperatorSetIdProto", out int f, out WireType w))
                        {
                            if (f == OnnxFields.OpsetDomain) domain = o.String(w, "OperatorSetIdProto.domain", MaxNameBytes);
                            else if (f == OnnxFields.OpsetVersion) version = o.Int64(w, "OperatorSetIdProto.version");
                            else o.Skip(w, "OperatorSetIdProto");
                        }
                        model.Opsets[domain == "ai.onnx" ? "" : domain] = version;
                        break;
                    }
                case OnnxFields.ModelGraph:
                    {
                        int offset = r.FieldStart;
                        if (model.Graph is not null)
                            throw r.Error(offset, "ModelProto.graph", "the model holds two graphs.");
                        var g = r.Message(wire, "ModelProto.graph");
                        model.Graph = ParseGraph(ref g, offset);
                        break;
                    }
                case OnnxFields.ModelMetadataProps:
                    {
                        Count(ref r, model.Metadata.Count, MaxPerNode, "ModelProto.metadata_props");
                        var e = r.Message(wire, "ModelProto.metadata_props");
                        string key = "", value = "";
                        while (e.Next("StringStringEntryProto", out int f, out WireType w))
                        {
                            if (f == OnnxFields.EntryKey) key = e.String(w, "metadata_props.key", MaxNameBytes);
                            else if (f == OnnxFields.EntryValue) value = e.String(w, "metadata_props.value", int.MaxValue);
                            else e.Skip(w, "StringStringEntryProto");
                        }
                        model.Metadata[key] = value;
                        break;
                    }
                case OnnxFields.ModelFunctions:
                    throw r.Error(r.FieldStart, "ModelProto.functions", "the model defines local functions, which the importer does not support.");
                default:
                    r.Skip(wire, "ModelProto");
                    break;
            }
        }
        if (model.Graph is null)
            throw r.Error(0, "ModelProto.graph", "the file holds no graph (is it an ONNX model?).");
        return model;
    }

    private static OnnxGraph ParseGraph(ref ProtoReader r, int offset)
    {
        var graph = new OnnxGraph { Offset = offset };
        while (r.Next("GraphProto", out int field, out WireType wire))
        {
            int start = r.FieldStart;
            switch (field)
            {
                case OnnxFields.GraphNode:
                    {
                        Count(ref r, graph.Nodes.Count, MaxItems, "GraphProto.node");
                        var n = r.Message(wire, "GraphProto.node");
                        graph.Nodes.Add(ParseNode(ref n, start));
                        break;
                    }
                case OnnxFields.GraphInitializer:
                    {
                        Count(ref r, graph.Initializers.Count, MaxItems, "GraphProto.initializer");
                        var t = r.Message(wire, "GraphProto.initializer");
                        OnnxTensor tensor = ParseTensor(ref t, start);
                        if (!graph.Initializers.TryAdd(tensor.Name, tensor))
                            throw r.Error(start, "GraphProto.initializer", $"two initializers are named '{tensor.Name}'.");
                        break;
                    }
                case OnnxFields.GraphInput or OnnxFields.GraphOutput:
                    {
                        Count(ref r, graph.Inputs.Count + graph.Outputs.Count, MaxItems, "GraphProto.input/output");
                        var v = r.Message(wire, "GraphProto.input/output");
                        (field == OnnxFields.GraphInput ? graph.Inputs : graph.Outputs).Add(ParseValueInfo(ref v, start));
                        break;
                    }
                case OnnxFields.GraphSparseInitializer:
                    throw r.Error(start, "GraphProto.sparse_initializer", "sparse initializers are not supported.");
                default:
                    r.Skip(wire, "GraphProto");
                    break;
            }
        }
        return graph;
    }

    private static OnnxNode ParseNode(ref ProtoReader r, int offset)
    {
        var node = new OnnxNode { Offset = offset };
        while (r.Next("NodeProto", out int field, out WireType wire))
        {
            switch (field)
            {
                case OnnxFields.NodeInput:
                    Count(ref r, node.Inputs.Count, MaxPerNode, "NodeProto.input");
                    node.Inputs.Add(r.String(wire, "NodeProto.input", MaxNameBytes));
                    break;
                case OnnxFields.NodeOutput:
                    Count(ref r, node.Outputs.Count, MaxPerNode, "NodeProto.output");
                    node.Outputs.Add(r.String(wire, "NodeProto.output", MaxNameBytes));
                    break;
                case OnnxFields.NodeName: node.Name = r.String(wire, "NodeProto.name", MaxNameBytes); break;
                case OnnxFields.NodeOpType: node.OpType = r.String(wire, "NodeProto.op_type", MaxNameBytes); break;
                case OnnxFields.NodeDomain: node.Domain = r.String(wire, "NodeProto.domain", MaxNameBytes); break;
                case OnnxFields.NodeAttribute:
                    {
                        Count(ref r, node.Attributes.Count, MaxPerNode, "NodeProto.attribute");
                        var a = r.Message(wire, "NodeProto.attribute");
                        string name = "";
                        int type = 0;
                        float f = 0;
                        long i = 0;
                        string? s = null;
                        while (a.Next("AttributeProto", out int af, out WireType aw))
                        {
                            switch (af)
                            {
                                case OnnxFields.AttributeName: name = a.String(aw, "AttributeProto.name", MaxNameBytes); break;
                                case OnnxFields.AttributeType: type = (int)a.Int64(aw, "AttributeProto.type"); break;
                                case OnnxFields.AttributeF: f = a.Float(aw, "AttributeProto.f"); break;
                                case OnnxFields.AttributeI: i = a.Int64(aw, "AttributeProto.i"); break;
                                case OnnxFields.AttributeS: s = a.String(aw, "AttributeProto.s", MaxNameBytes); break;
                                default: a.Skip(aw, "AttributeProto"); break;   // tensors, graphs, lists: no supported operator takes them
                            }
                        }
                        node.Attributes.Add(new OnnxAttribute(name, type, f, i, s));
                        break;
                    }
                default:
                    r.Skip(wire, "NodeProto");
                    break;
            }
        }
        return node;
    }

    private static OnnxTensor ParseTensor(ref ProtoReader r, int offset)
    {
        var tensor = new OnnxTensor { Offset = offset };
        var dims = new List<long>();
        (int Start, int Length) raw = (-1, 0);
        var packed = new List<(int Start, int Length, WireType Wire)>();
        int floatCount = 0, doubleCount = 0;
        // int32_data is counted while parsing and decoded once the type and dims are known: where its bytes lie (a packed
        // run, or a stretch of consecutive unpacked fields), never a value per entry, so a hostile file cannot make lists
        // several times its size before the count is checked against the dims.
        var int32Runs = new List<(int Start, int End, bool Packed)>();
        long int32Count = 0;
        while (r.Next("TensorProto", out int field, out WireType wire))
        {
            int start = r.FieldStart;
            switch (field)
            {
                case OnnxFields.TensorDims:
                    if (wire == WireType.LengthDelimited)
                    {
                        // Packed repeated int64 (proto3 writers may pack it).
                        var d = r.Message(wire, "TensorProto.dims");
                        while (d.Remaining > 0 && dims.Count <= MaxDims)
                            dims.Add(unchecked((long)d.Varint("TensorProto.dims")));
                    }
                    else
                        dims.Add(r.Int64(wire, "TensorProto.dims"));
                    if (dims.Count > MaxDims)
                        throw r.Error(start, "TensorProto.dims", $"more than {MaxDims} dimensions.");
                    break;
                case OnnxFields.TensorDataType: tensor.DataType = (int)r.Int64(wire, "TensorProto.data_type"); break;
                case OnnxFields.TensorName: tensor.Name = r.String(wire, "TensorProto.name", MaxNameBytes); break;
                case OnnxFields.TensorRawData: raw = r.LengthDelimited(wire, "TensorProto.raw_data"); break;
                case OnnxFields.TensorFloatData or OnnxFields.TensorDoubleData:
                    {
                        // Packed (one length-delimited run) or not (one fixed32/fixed64 per value): remember where,
                        // decode once the count is known to match the dims.
                        int size = field == OnnxFields.TensorFloatData ? 4 : 8;
                        int valueStart = r.Position;
                        if (wire == WireType.LengthDelimited)
                        {
                            var (s, length) = r.LengthDelimited(wire, "TensorProto.float_data/double_data");
                            if (length % size != 0)
                                throw r.Error(start, "TensorProto.float_data/double_data", $"a packed run of {length} bytes is not a whole number of {size}-byte values.");
                            packed.Add((s, length, wire));
                            if (size == 4) floatCount += length / 4; else doubleCount += length / 8;
                        }
                        else
                        {
                            if (wire != (size == 4 ? WireType.Fixed32 : WireType.Fixed64))
                                throw r.Error(start, "TensorProto.float_data/double_data", $"wire type {(int)wire} for a {size * 8}-bit float.");
                            r.Skip(wire, "TensorProto.float_data/double_data");
                            packed.Add((valueStart, size, wire));
                            if (size == 4) floatCount++; else doubleCount++;
                        }
                        break;
                    }
                case OnnxFields.TensorInt32Data:
                    // Packed (one run of varints) or one varint field per value.
                    if (wire == WireType.LengthDelimited)
                    {
                        var (runStart, length) = r.LengthDelimited(wire, "TensorProto.int32_data");
                        ReadOnlySpan<byte> run = r.Data.Slice(runStart, length);
                        if (length > 0 && run[^1] >= 0x80)
                            throw r.Error(start, "TensorProto.int32_data", "the packed run ends inside a varint.");
                        int32Count += CountVarintEnds(run);
                        if (length > 0)
                            int32Runs.Add((runStart, runStart + length, true));
                    }
                    else
                    {
                        r.Int64(wire, "TensorProto.int32_data");
                        int32Count++;
                        if (int32Runs.Count > 0 && int32Runs[^1] is { Packed: false } last && last.End == start)
                            int32Runs[^1] = (last.Start, r.Position, false);
                        else
                            int32Runs.Add((start, r.Position, false));
                    }
                    break;
                case OnnxFields.TensorDataLocation:
                    if (r.Int64(wire, "TensorProto.data_location") == OnnxFields.DataLocationExternal)
                        throw r.Error(start, "TensorProto.data_location", $"initializer '{tensor.Name}' keeps its data in an external file, which the importer does not read (save the model with its weights inside).");
                    break;
                case OnnxFields.TensorExternalData:
                    throw r.Error(start, "TensorProto.external_data", $"initializer '{tensor.Name}' refers to external data, which the importer does not read (save the model with its weights inside).");
                default:
                    r.Skip(wire, "TensorProto");
                    break;
            }
        }
        tensor.Dims = [.. dims];
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0)
                throw r.Error(offset, $"initializer '{tensor.Name}'", $"dimension {d} is negative.");
            count = d == 0 ? 0 : count > int.MaxValue / d ? int.MaxValue + 1L : count * d;
        }
        if (IntegerRange(tensor.DataType) is (int min, int max, int integerSize))
        {
            ReadIntegers(ref r, tensor, offset, count, raw, int32Runs, int32Count, packed.Count > 0, min, max, integerSize);
            return tensor;
        }
        int elementSize = tensor.DataType switch
        {
            OnnxFields.DataTypeFloat => 4,
            OnnxFields.DataTypeDouble => 8,
            _ => 0,
        };
        if (elementSize == 0)
            return tensor;  // no values: refused by the importer, naming the node, if a node uses it as weights
        // The values come from raw_data or from float_data/double_data; either way their byte count is already
        // bounded by the file, and it must match the dims before anything is allocated.
        long available = raw.Start >= 0 ? raw.Length / elementSize : elementSize switch { 4 => floatCount, 8 => doubleCount, _ => 0 };
        if (raw.Start >= 0 && raw.Length % elementSize != 0 || available != count || raw.Start >= 0 && packed.Count > 0)
            throw r.Error(offset, $"initializer '{tensor.Name}'",
                $"its dims [{string.Join(", ", dims)}] make {count} values but it holds {(raw.Start >= 0 ? $"{raw.Length} bytes of raw_data" : $"{available} values")}{(raw.Start >= 0 && packed.Count > 0 ? " and typed data besides" : "")}.");
        ReadOnlySpan<byte> data = r.Data;
        if (elementSize == 4)
        {
            var values = new float[count];
            int k = 0;
            if (raw.Start >= 0)
                for (int i = 0; i < values.Length; i++)
                    values[i] = BinaryPrimitives.ReadSingleLittleEndian(data.Slice(raw.Start + 4 * i, 4));
            else
                foreach (var (s, length, _) in packed)
                    for (int p = s; p < s + length; p += 4)
                        values[k++] = BinaryPrimitives.ReadSingleLittleEndian(data.Slice(p, 4));
            tensor.Floats = values;
        }
        else
        {
            var values = new double[count];
            int k = 0;
            if (raw.Start >= 0)
                for (int i = 0; i < values.Length; i++)
                    values[i] = BinaryPrimitives.ReadDoubleLittleEndian(data.Slice(raw.Start + 8 * i, 8));
            else
                foreach (var (s, length, _) in packed)
                    for (int p = s; p < s + length; p += 8)
                        values[k++] = BinaryPrimitives.ReadDoubleLittleEndian(data.Slice(p, 8));
            tensor.Doubles = values;
        }
        return tensor;
    }

    /// <summary>The range and byte size of the integer types whose values are read (those quantized tensors use), or
    /// null for any other type.</summary>
    private static (int Min, int Max, int Size)? IntegerRange(int dataType) => dataType switch
    {
        OnnxFields.DataTypeUInt8 => (byte.MinValue, byte.MaxValue, 1),
        OnnxFields.DataTypeInt8 => (sbyte.MinValue, sbyte.MaxValue, 1),
        OnnxFields.DataTypeUInt16 => (ushort.MinValue, ushort.MaxValue, 2),
        OnnxFields.DataTypeInt16 => (short.MinValue, short.MaxValue, 2),
        OnnxFields.DataTypeInt32 => (int.MinValue, int.MaxValue, 4),
        _ => null,
    };

    /// <summary>How many varints a packed run holds: the bytes that end one (high bit clear).</summary>
    private static int CountVarintEnds(ReadOnlySpan<byte> run)
    {
        int ends = 0;
        foreach (byte b in run)
            ends += b < 0x80 ? 1 : 0;
        return ends;
    }

    /// <summary>An int32_data value: an int32 written as a varint, negative ones sign-extended to 64 bits.</summary>
    private static int Int32Value(ref ProtoReader r, int start, ulong varint)
    {
        long value = unchecked((long)varint);
        if (value is < int.MinValue or > int.MaxValue)
            throw r.Error(start, "TensorProto.int32_data", $"{value} does not fit in an int32.");
        return (int)value;
    }

    /// <summary>An integer tensor's values, little-endian from raw_data or from int32_data (each in the type's range);
    /// the count must match the dims, as for floats, before anything is allocated.</summary>
    private static void ReadIntegers(ref ProtoReader r, OnnxTensor tensor, int offset, long count, (int Start, int Length) raw,
        List<(int Start, int End, bool Packed)> int32Runs, long int32Count, bool floatsBesides, int min, int max, int size)
    {
        long available = raw.Start >= 0 ? raw.Length / size : int32Count;
        if (raw.Start >= 0 && (raw.Length % size != 0 || int32Count > 0) || available != count || floatsBesides)
            throw r.Error(offset, $"initializer '{tensor.Name}'",
                $"its dims [{string.Join(", ", tensor.Dims)}] make {count} values but it holds {(raw.Start >= 0 ? $"{raw.Length} bytes of raw_data" : $"{available} values")}{(raw.Start >= 0 && int32Count > 0 || floatsBesides ? " and typed data besides" : "")}.");
        var values = new int[count];
        if (raw.Start >= 0)
        {
            ReadOnlySpan<byte> bytes = r.Data.Slice(raw.Start, raw.Length);
            for (int i = 0; i < values.Length; i++)
                values[i] = tensor.DataType switch
                {
                    OnnxFields.DataTypeUInt8 => bytes[i],
                    OnnxFields.DataTypeInt8 => (sbyte)bytes[i],
                    OnnxFields.DataTypeUInt16 => BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(2 * i)),
                    OnnxFields.DataTypeInt16 => BinaryPrimitives.ReadInt16LittleEndian(bytes.Slice(2 * i)),
                    _ => BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(4 * i)),
                };
        }
        else
        {
            int k = 0;
            foreach (var (start, end, packed) in int32Runs)
            {
                var run = new ProtoReader(r.Data, start, end, r.Name);
                while (run.Remaining > 0)
                {
                    if (!packed)
                        run.Next("TensorProto", out _, out _);   // the field's key, already checked
                    int value = Int32Value(ref r, start, run.Varint("TensorProto.int32_data"));
                    if (value < min || value > max)
                        throw r.Error(offset, $"initializer '{tensor.Name}'", $"int32_data holds {value} at index {k}, outside the range [{min}, {max}] of its data type {tensor.DataType}.");
                    values[k++] = value;
                }
            }
        }
        tensor.Integers = values;
        if (tensor.DataType == OnnxFields.DataTypeInt8)
            tensor.Int8s = Array.ConvertAll(values, v => (sbyte)v);
    }

    private static OnnxValueInfo ParseValueInfo(ref ProtoReader r, int offset)
    {
        string name = "";
        int elementType = 0;
        long?[]? dims = null;
        while (r.Next("ValueInfoProto", out int field, out WireType wire))
        {
            if (field == OnnxFields.ValueInfoName)
            {
                name = r.String(wire, "ValueInfoProto.name", MaxNameBytes);
                continue;
            }
            if (field != OnnxFields.ValueInfoType)
            {
                r.Skip(wire, "ValueInfoProto");
                continue;
            }
            var type = r.Message(wire, "ValueInfoProto.type");
            while (type.Next("TypeProto", out int tf, out WireType tw))
            {
                if (tf != OnnxFields.TypeTensorType)
                {
                    type.Skip(tw, "TypeProto");
                    continue;
                }
                var tensor = type.Message(tw, "TypeProto.tensor_type");
                while (tensor.Next("TypeProto.Tensor", out int xf, out WireType xw))
                {
                    if (xf == OnnxFields.TensorTypeElemType)
                        elementType = (int)tensor.Int64(xw, "TypeProto.Tensor.elem_type");
                    else if (xf == OnnxFields.TensorTypeShape)
                    {
                        var shape = tensor.Message(xw, "TypeProto.Tensor.shape");
                        var list = new List<long?>();
                        while (shape.Next("TensorShapeProto", out int sf, out WireType sw))
                        {
                            if (sf != OnnxFields.ShapeDim)
                            {
                                shape.Skip(sw, "TensorShapeProto");
                                continue;
                            }
                            if (list.Count == MaxDims)
                                throw shape.Error(shape.FieldStart, "TensorShapeProto.dim", $"more than {MaxDims} dimensions.");
                            var dim = shape.Message(sw, "TensorShapeProto.dim");
                            long? value = null;
                            while (dim.Next("TensorShapeProto.Dimension", out int df, out WireType dw))
                            {
                                if (df == OnnxFields.DimValue) value = dim.Int64(dw, "Dimension.dim_value");
                                else dim.Skip(dw, "TensorShapeProto.Dimension");
                            }
                            list.Add(value);
                        }
                        dims = [.. list];
                    }
                    else
                        tensor.Skip(xw, "TypeProto.Tensor");
                }
            }
        }
        return new OnnxValueInfo(name, offset, elementType, dims);
    }
}
