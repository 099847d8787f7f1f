using FastBackprop.Onnx;

namespace FastBackprop.Tests.Onnx;

/// <summary>Builds small ONNX files in the tests with the library's protobuf writer, in the shapes other exporters
/// write (MatMul + Add, transB = 0, Flatten, names and opsets of torch.onnx.export), including broken ones.</summary>
internal sealed class OnnxGraphBuilder
{
    private readonly ProtoWriter graph = new();
    private readonly List<(string Key, string Value)> metadata = [];

    public long Opset { get; set; } = 13;

    public string OpsetDomain { get; set; } = "";

    public OnnxGraphBuilder Input(string name, params long?[] dims)
    {
        graph.Message(OnnxFields.GraphInput, ValueInfo(name, dims));
        return this;
    }

    public OnnxGraphBuilder Output(string name, params long?[] dims)
    {
        graph.Message(OnnxFields.GraphOutput, ValueInfo(name, dims));
        return this;
    }

    public OnnxGraphBuilder Initializer(string name, long[] dims, float[] values, bool packedFloatData = false, int dataType = OnnxFields.DataTypeFloat)
    {
        var t = new ProtoWriter();
        foreach (long d in dims)
            t.Int64(OnnxFields.TensorDims, d);
        t.Varint(OnnxFields.TensorDataType, (ulong)dataType).String(OnnxFields.TensorName, name);
        byte[] bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(4 * i), values[i]);
        t.Bytes(packedFloatData ? OnnxFields.TensorFloatData : OnnxFields.TensorRawData, bytes);
        graph.Message(OnnxFields.GraphInitializer, t);
        return this;
    }

    /// <summary>A float64 initializer in double_data, packed or one fixed64 field per value (both are valid protobuf).</summary>
    public OnnxGraphBuilder DoubleInitializer(string name, long[] dims, double[] values, bool packed)
    {
        var t = new ProtoWriter();
        foreach (long d in dims)
            t.Int64(OnnxFields.TensorDims, d);
        t.Varint(OnnxFields.TensorDataType, OnnxFields.DataTypeDouble).String(OnnxFields.TensorName, name);
        if (packed)
        {
            byte[] bytes = new byte[values.Length * 8];
            for (int i = 0; i < values.Length; i++)
                BitConverter.TryWriteBytes(bytes.AsSpan(8 * i), values[i]);
            t.Bytes(OnnxFields.TensorDoubleData, bytes);
        }
        else
        {
            foreach (double v in values)
                t.Fixed64(OnnxFields.TensorDoubleData, BitConverter.DoubleToUInt64Bits(v));
        }
        graph.Message(OnnxFields.GraphInitializer, t);
        return this;
    }

    /// <summary>A float32 initializer in float_data with one fixed32 field per value (unpacked repeated field).</summary>
    public OnnxGraphBuilder UnpackedFloatInitializer(string name, long[] dims, float[] values)
    {
        var t = new ProtoWriter();
        foreach (long d in dims)
            t.Int64(OnnxFields.TensorDims, d);
        t.Varint(OnnxFields.TensorDataType, OnnxFields.DataTypeFloat).String(OnnxFields.TensorName, name);
        foreach (float v in values)
            t.Float(OnnxFields.TensorFloatData, v);
        graph.Message(OnnxFields.GraphInitializer, t);
        return this;
    }

    public OnnxGraphBuilder ExternalInitializer(string name, long[] dims)
    {
        var t = new ProtoWriter();
        foreach (long d in dims)
            t.Int64(OnnxFields.TensorDims, d);
        t.Varint(OnnxFields.TensorDataType, OnnxFields.DataTypeFloat).String(OnnxFields.TensorName, name)
            .Varint(OnnxFields.TensorDataLocation, OnnxFields.DataLocationExternal);
        graph.Message(OnnxFields.GraphInitializer, t);
        return this;
    }

    /// <summary>A node; attributes as (name, value) with int/long or float values.</summary>
    public OnnxGraphBuilder Node(string op, string name, string[] inputs, string output, params (string Name, object Value)[] attributes)
    {
        var node = new ProtoWriter();
        foreach (string i in inputs)
            node.String(OnnxFields.NodeInput, i);
        node.String(OnnxFields.NodeOutput, output).String(OnnxFields.NodeName, name).String(OnnxFields.NodeOpType, op);
        foreach (var (attribute, value) in attributes)
        {
            var a = new ProtoWriter().String(OnnxFields.AttributeName, attribute);
            if (value is float f)
                a.Float(OnnxFields.AttributeF, f).Varint(OnnxFields.AttributeType, OnnxFields.AttributeTypeFloat);
            else
                a.Int64(OnnxFields.AttributeI, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)).Varint(OnnxFields.AttributeType, OnnxFields.AttributeTypeInt);
            node.Message(OnnxFields.NodeAttribute, a);
        }
        graph.Message(OnnxFields.GraphNode, node);
        return this;
    }

    /// <summary>A node with several outputs and no attributes (e.g. DynamicQuantizeLinear's y, y_scale, y_zero_point).</summary>
    public OnnxGraphBuilder Node(string op, string name, string[] inputs, string[] outputs)
    {
        var node = new ProtoWriter();
        foreach (string i in inputs)
            node.String(OnnxFields.NodeInput, i);
        foreach (string o in outputs)
            node.String(OnnxFields.NodeOutput, o);
        graph.Message(OnnxFields.GraphNode, node.String(OnnxFields.NodeName, name).String(OnnxFields.NodeOpType, op));
        return this;
    }

    /// <summary>An int8 initializer (data type 3) in raw_data.</summary>
    public OnnxGraphBuilder Int8Initializer(string name, long[] dims, sbyte[] values)
    {
        var t = new ProtoWriter();
        foreach (long d in dims)
            t.Int64(OnnxFields.TensorDims, d);
        t.Varint(OnnxFields.TensorDataType, OnnxFields.DataTypeInt8).String(OnnxFields.TensorName, name)
            .Bytes(OnnxFields.TensorRawData, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        graph.Message(OnnxFields.GraphInitializer, t);
        return this;
    }

    /// <summary>An integer initializer (uint8, int8, int16, uint16 or int32) in int32_data, packed (one run of varints, as
    /// onnx.helper.make_tensor writes zero points) or one varint field per value, or little-endian in raw_data.</summary>
    public OnnxGraphBuilder IntegerInitializer(string name, long[] dims, int dataType, int[] values, string storage = "packed")
    {
        var t = new ProtoWriter();
        foreach (long d in dims)
            t.Int64(OnnxFields.TensorDims, d);
        t.Varint(OnnxFields.TensorDataType, (ulong)dataType).String(OnnxFields.TensorName, name);
        if (storage == "packed")
        {
            var run = new List<byte>();
            foreach (int v in values)
            {
                ulong u = unchecked((ulong)(long)v);   // negative: ten bytes, sign-extended
                for (; u >= 0x80; u >>= 7)
                    run.Add((byte)(u | 0x80));
                run.Add((byte)u);
            }
            t.Bytes(OnnxFields.TensorInt32Data, [.. run]);
        }
        else if (storage == "unpacked")
        {
            foreach (int v in values)
                t.Int64(OnnxFields.TensorInt32Data, v);
        }
        else
        {
            int size = dataType switch { OnnxFields.DataTypeUInt8 or OnnxFields.DataTypeInt8 => 1, OnnxFields.DataTypeUInt16 or OnnxFields.DataTypeInt16 => 2, _ => 4 };
            byte[] bytes = new byte[values.Length * size];
            for (int i = 0; i < values.Length; i++)
                for (int b = 0; b < size; b++)
                    bytes[i * size + b] = (byte)(values[i] >> (8 * b));
            t.Bytes(OnnxFields.TensorRawData, bytes);
        }
        graph.Message(OnnxFields.GraphInitializer, t);
        return this;
    }

    /// <summary>A node of another operator domain (e.g. ONNX Runtime's com.microsoft contrib operators).</summary>
    public OnnxGraphBuilder DomainNode(string domain, string op, string name, string[] inputs, string output)
    {
        var node = new ProtoWriter();
        foreach (string i in inputs)
            node.String(OnnxFields.NodeInput, i);
        node.String(OnnxFields.NodeOutput, output).String(OnnxFields.NodeName, name).String(OnnxFields.NodeOpType, op)
            .String(OnnxFields.NodeDomain, domain);
        graph.Message(OnnxFields.GraphNode, node);
        return this;
    }

    public OnnxGraphBuilder Metadata(string key, string value)
    {
        metadata.Add((key, value));
        return this;
    }

    public byte[] Build()
    {
        var model = new ProtoWriter()
            .Varint(OnnxFields.ModelIrVersion, 7)
            .String(OnnxFields.ModelProducerName, "pytorch")
            .Message(OnnxFields.ModelGraph, graph)
            .Message(OnnxFields.ModelOpsetImport, new ProtoWriter().String(OnnxFields.OpsetDomain, OpsetDomain).Varint(OnnxFields.OpsetVersion, (ulong)Opset));
        foreach (var (key, value) in metadata)
            model.Message(OnnxFields.ModelMetadataProps, new ProtoWriter().String(OnnxFields.EntryKey, key).String(OnnxFields.EntryValue, value));
        return model.ToArray();
    }

    private static ProtoWriter ValueInfo(string name, long?[] dims)
    {
        var shape = new ProtoWriter();
        foreach (long? d in dims)
            shape.Message(OnnxFields.ShapeDim, d is long v ? new ProtoWriter().Int64(OnnxFields.DimValue, v) : new ProtoWriter().String(OnnxFields.DimParam, "batch"));
        var tensor = new ProtoWriter().Varint(OnnxFields.TensorTypeElemType, OnnxFields.DataTypeFloat).Message(OnnxFields.TensorTypeShape, shape);
        return new ProtoWriter().String(OnnxFields.ValueInfoName, name).Message(OnnxFields.ValueInfoType, new ProtoWriter().Message(OnnxFields.TypeTensorType, tensor));
    }
}
