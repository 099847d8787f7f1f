using System.Text;

namespace FastBackprop.Benchmarks.Peers;

/// <summary>
/// Writes a <see cref="Network{T}"/> of dense layers as an ONNX model (opset 13: Gemm with transB = 1, then the
/// activation), so ONNX Runtime runs exactly the weights FastBackprop runs. The protobuf wire format is written by hand
/// (varints and length-delimited fields; field numbers from onnx.proto): the handful of messages a dense network needs
/// do not justify a protobuf dependency in the benchmarks.
/// </summary>
public static class OnnxModelWriter
{
    public static byte[] Write(Network<float> network)
    {
        var graph = new Message();
        string previous = "input";
        for (int layer = 0; layer < network.LayerCount; layer++)
        {
            int inputs = layer == 0 ? network.InputSize : network.Layer(layer - 1).Units;
            int units = network.Layer(layer).Units;
            string w = $"W{layer}", b = $"b{layer}", z = $"z{layer}";
            graph.Bytes(5, Tensor(w, [units, inputs], network.Weights(layer)));
            graph.Bytes(5, Tensor(b, [units], network.Biases(layer)));
            graph.Bytes(1, Node("Gemm", [previous, w, b], [z], new Message().String(1, "transB").Varint(3, 1).Varint(20, 2)));
            string output = layer == network.LayerCount - 1 ? "output" : $"a{layer}";
            Activation activation = network.Layer(layer).Activation;
            switch (activation.Kind)
            {
                case ActivationKind.ReLU: graph.Bytes(1, Node("Relu", [z], [output])); break;
                case ActivationKind.Sigmoid: graph.Bytes(1, Node("Sigmoid", [z], [output])); break;
                case ActivationKind.Tanh: graph.Bytes(1, Node("Tanh", [z], [output])); break;
                case ActivationKind.Softmax: graph.Bytes(1, Node("Softmax", [z], [output], new Message().String(1, "axis").Varint(3, 1).Varint(20, 2))); break;
                case ActivationKind.Identity: graph.Bytes(1, Node("Identity", [z], [output])); break;
                default: throw new NotSupportedException($"activation {activation.Kind} has no ONNX peer here");
            }
            previous = output;
        }
        graph.String(2, "fastbackprop");
        graph.Bytes(11, ValueInfo("input", network.InputSize));
        graph.Bytes(12, ValueInfo("output", network.OutputSize));

        return new Message()
            .Varint(1, 8)                                   // ir_version
            .String(2, "FastBackprop.Benchmarks")           // producer_name
            .Bytes(7, graph)                                // graph
            .Bytes(8, new Message().String(1, "").Varint(2, 13)) // opset_import: default domain, opset 13
            .ToArray();
    }

    private static Message Tensor(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var tensor = new Message();
        foreach (long d in dims)
            tensor.Varint(1, (ulong)d);
        tensor.Varint(2, 1);                                // data_type FLOAT
        tensor.String(8, name);
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
            BitConverter.TryWriteBytes(raw.AsSpan(i * 4), values[i]);
        return tensor.Bytes(9, raw);                        // raw_data, little-endian
    }

    private static Message Node(string op, string[] inputs, string[] outputs, Message? attribute = null)
    {
        var node = new Message();
        foreach (string i in inputs)
            node.String(1, i);
        foreach (string o in outputs)
            node.String(2, o);
        node.String(4, op);
        if (attribute is not null)
            node.Bytes(5, attribute);
        return node;
    }

    /// <summary>A float tensor [batch, features] with a symbolic batch dimension.</summary>
    private static Message ValueInfo(string name, int features)
    {
        var shape = new Message()
            .Bytes(1, new Message().String(2, "batch"))
            .Bytes(1, new Message().Varint(1, (ulong)features));
        var tensorType = new Message().Varint(1, 1).Bytes(2, shape);
        return new Message().String(1, name).Bytes(2, new Message().Bytes(1, tensorType));
    }

    private sealed class Message
    {
        private readonly MemoryStream stream = new();

        public Message Varint(int field, ulong value)
        {
            Key(field, 0);
            Raw(value);
            return this;
        }

        public Message String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Message Bytes(int field, Message value) => Bytes(field, value.ToArray());

        public Message Bytes(int field, byte[] value)
        {
            Key(field, 2);
            Raw((ulong)value.Length);
            stream.Write(value);
            return this;
        }

        public byte[] ToArray() => stream.ToArray();

        private void Key(int field, int wireType) => Raw((ulong)(field << 3 | wireType));

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            stream.WriteByte((byte)value);
        }
    }
}
