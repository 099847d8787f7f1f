using FastBackprop.Onnx;

namespace FastBackprop.Benchmarks;

/// <summary>
/// A dense ReLU/softmax network as ONNX Runtime's <c>quantize_dynamic</c> writes it (int8 weights per tensor, symmetric;
/// the default options): per layer DynamicQuantizeLinear (uint8 activations, per-tensor scale and zero point, computed at
/// run time over the whole batch) → MatMulInteger → Cast → Mul (by the product of the two scales) → Add (bias) → Relu,
/// Softmax at the end. ONNX Runtime fuses it into its MLAS int8 kernels. Written with the library's protobuf writer, so the
/// benchmark needs no Python.
/// </summary>
internal static class OnnxInt8Graph
{
    public static byte[] Build(Network<float> network)
    {
        var graph = new ProtoWriter();
        graph.Message(OnnxFields.GraphInput, ValueInfo("input", network.InputSize));
        graph.Message(OnnxFields.GraphOutput, ValueInfo("output", network.OutputSize));
        string x = "input";
        for (int l = 0; l < network.LayerCount; l++)
        {
            if (network.Layer(l).Kind != LayerKind.Dense)
                continue;
            int units = network.Layer(l).Units, inputs = network.LayerInputs(l);
            ReadOnlySpan<float> w = network.Weights(l);
            float largest = 0;
            foreach (float v in w)
                largest = MathF.Max(largest, MathF.Abs(v));
            float scale = largest / 127;
            // MatMul's B is inputs×units: the transpose of the library's units×inputs.
            var codes = new byte[inputs * units];
            for (int j = 0; j < units; j++)
                for (int k = 0; k < inputs; k++)
                    codes[k * units + j] = unchecked((byte)(sbyte)Math.Clamp(MathF.Round(w[j * inputs + k] / scale), -127, 127));
            string p = $"l{l}_";
            graph.Message(OnnxFields.GraphInitializer, Tensor(p + "W", [inputs, units], OnnxFields.DataTypeInt8, codes));
            graph.Message(OnnxFields.GraphInitializer, Tensor(p + "Wzero", [], OnnxFields.DataTypeInt8, [0]));
            graph.Message(OnnxFields.GraphInitializer, Tensor(p + "Wscale", [], OnnxFields.DataTypeFloat, BitConverter.GetBytes(scale)));
            graph.Message(OnnxFields.GraphInitializer, Tensor(p + "b", [units], OnnxFields.DataTypeFloat,
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(network.Biases(l)).ToArray()));
            Node(graph, "DynamicQuantizeLinear", [x], [p + "xq", p + "xscale", p + "xzero"]);
            Node(graph, "MatMulInteger", [p + "xq", p + "W", p + "xzero", p + "Wzero"], [p + "mm"]);
            Node(graph, "Cast", [p + "mm"], [p + "mmf"], ("to", OnnxFields.DataTypeFloat));
            Node(graph, "Mul", [p + "xscale", p + "Wscale"], [p + "scale"]);
            Node(graph, "Mul", [p + "mmf", p + "scale"], [p + "z0"]);
            bool last = l == network.LayerCount - 1;
            Node(graph, "Add", [p + "z0", p + "b"], [p + "z"]);
            if (last)
                Node(graph, "Softmax", [p + "z"], ["output"], ("axis", 1));
            else
                Node(graph, "Relu", [p + "z"], [p + "a"]);
            x = p + "a";
        }
        return new ProtoWriter()
            .Varint(OnnxFields.ModelIrVersion, 7)
            .String(OnnxFields.ModelProducerName, "onnx.quantize")
            .Message(OnnxFields.ModelGraph, graph)
            .Message(OnnxFields.ModelOpsetImport, new ProtoWriter().String(OnnxFields.OpsetDomain, "").Varint(OnnxFields.OpsetVersion, 13))
            .ToArray();
    }

    private static ProtoWriter Tensor(string name, long[] dims, int type, byte[] raw)
    {
        var t = new ProtoWriter();
        foreach (long d in dims)
            t.Int64(OnnxFields.TensorDims, d);
        return t.Varint(OnnxFields.TensorDataType, (ulong)type).String(OnnxFields.TensorName, name).Bytes(OnnxFields.TensorRawData, raw);
    }

    private static void Node(ProtoWriter graph, string op, string[] inputs, string[] outputs, params (string Name, long Value)[] attributes)
    {
        var node = new ProtoWriter();
        foreach (string i in inputs)
            node.String(OnnxFields.NodeInput, i);
        foreach (string o in outputs)
            node.String(OnnxFields.NodeOutput, o);
        node.String(OnnxFields.NodeName, outputs[0]).String(OnnxFields.NodeOpType, op);
        foreach (var (name, value) in attributes)
            node.Message(OnnxFields.NodeAttribute, new ProtoWriter().String(OnnxFields.AttributeName, name)
                .Int64(OnnxFields.AttributeI, value).Varint(OnnxFields.AttributeType, OnnxFields.AttributeTypeInt));
        graph.Message(OnnxFields.GraphNode, node);
    }

    private static ProtoWriter ValueInfo(string name, int width)
    {
        var shape = new ProtoWriter()
            .Message(OnnxFields.ShapeDim, new ProtoWriter().String(OnnxFields.DimParam, "batch"))
            .Message(OnnxFields.ShapeDim, new ProtoWriter().Int64(OnnxFields.DimValue, width));
        var tensor = new ProtoWriter().Varint(OnnxFields.TensorTypeElemType, OnnxFields.DataTypeFloat).Message(OnnxFields.TensorTypeShape, shape);
        return new ProtoWriter().String(OnnxFields.ValueInfoName, name).Message(OnnxFields.ValueInfoType, new ProtoWriter().Message(OnnxFields.TypeTensorType, tensor));
    }
}
