using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using FastBackprop.Onnx;

namespace FastBackprop;

/// <summary>Builds the ONNX bytes of a model (see <see cref="OnnxModel.Export{T}(Model{T}, Stream)"/>).</summary>
internal static class OnnxExporter
{
    public static byte[] Write<T>(Model<T> model) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"ONNX export takes float or double models, not {typeof(T).Name}.");
        Network<T> network = model.Network;
        var writer = new OnnxGraphWriter<T>();
        ProtoWriter graph = writer.Graph;
        void Node(string op, string name, string[] inputs, params ProtoWriter[] attributes) => writer.Node(op, name, inputs, attributes);
        void Side(string op, string name, string[] inputs, string[] outputs) => writer.Side(op, name, inputs, outputs);
        void Constant(string name, long[] dims, ReadOnlySpan<T> values) => writer.Constant(name, dims, values);

        if (model.InputStandardization is { } inputStandardization)
        {
            Constant("input_mean", [inputStandardization.FeatureCount], inputStandardization.Mean);
            Constant("input_scale", [inputStandardization.FeatureCount], inputStandardization.Scale);
            // (x − mean)·scale: float Sub then Mul round as Standardizer.Transform's (x + (−mean))·scale does.
            Node("Sub", "standardize_sub", [writer.Current, "input_mean"]);
            Node("Mul", "standardize_mul", [writer.Current, "input_scale"]);
        }
        for (int layer = 0; layer < network.LayerCount; layer++)
        {
            LayerSpec spec = network.Layer(layer);
            if (spec.Kind != LayerKind.Dense)
            {
                // Every other kind writes its own nodes (dropout none: at inference it passes its input through).
                LayerType.Of(spec.Kind)!.ExportOnnx(writer, spec, layer, network.Weights(layer), network.Biases(layer));
                continue;
            }
            string w = $"layer{layer}_weight", b = $"layer{layer}_bias", prefix = $"layer{layer}_";
            if (model.Quantized?.Stages.FirstOrDefault(s => s.Index == layer).Quantized is QuantizedDenseLayer int8)
            {
                // As onnxruntime's quantize_dynamic writes a MatMul: x quantized per tensor at run time, an integer
                // product, then the two scales (here one per output unit) and the bias.
                graph.Message(OnnxFields.GraphInitializer, Int8Tensor(w, int8));
                graph.Message(OnnxFields.GraphInitializer, Tensor<sbyte>(prefix + "weight_zero_point", [], OnnxFields.DataTypeInt8, [0]));
                Constant(prefix + "weight_scale", [spec.Units], MemoryMarshal.Cast<float, T>(int8.Scales));
                Constant(b, [spec.Units], MemoryMarshal.Cast<float, T>(int8.Biases));
                string[] quantized = [prefix + "x_quantized", prefix + "x_scale", prefix + "x_zero_point"];
                Side("DynamicQuantizeLinear", prefix + "quantize", [writer.Current], quantized);
                Node("MatMulInteger", prefix + "matmul", [quantized[0], w, quantized[2], prefix + "weight_zero_point"]);
                Node("Cast", prefix + "cast", [writer.Current], IntAttribute("to", OnnxFields.DataTypeFloat));
                Side("Mul", prefix + "scales", [quantized[1], prefix + "weight_scale"], [prefix + "scales_out"]);
                Node("Mul", prefix + "rescale", [writer.Current, prefix + "scales_out"]);
                Node("Add", prefix + "bias", [writer.Current, b]);
            }
            else
            {
                Constant(w, [spec.Units, network.LayerInputs(layer)], network.Weights(layer));
                Constant(b, [spec.Units], network.Biases(layer));
                Node("Gemm", $"layer{layer}_gemm", [writer.Current, w, b], IntAttribute("transB", 1));
            }
            // The activation as its operators (ActivationRegistry), each reading the one before; a Mul multiplies z by it.
            string z = writer.Current;
            string[] operators = ActivationRegistry.Of(spec.Activation.Kind).OnnxOperators;
            foreach (string op in operators)
            {
                string name = prefix + (operators.Length == 1 ? "" : spec.Activation.Kind.ToString().ToLowerInvariant() + "_") + op.ToLowerInvariant();
                Node(op, name, op == "Mul" ? [z, writer.Current] : [writer.Current], ActivationAttributes(op, spec.Activation));
            }
        }
        if (model.TargetStandardization is { } target)
        {
            Constant("target_scale", [target.FeatureCount], target.Scale);
            Constant("target_mean", [target.FeatureCount], target.Mean);
            // z / scale + mean, in Standardizer.InverseTransform's order.
            Node("Div", "unstandardize_div", [writer.Current, "target_scale"]);
            Node("Add", "unstandardize_add", [writer.Current, "target_mean"]);
        }
        List<(string Op, string Name, string[] Inputs, string[]? Outputs, ProtoWriter[] Attributes)> nodes = writer.Nodes;
        for (int i = 0; i < nodes.Count; i++)
        {
            var (op, name, inputs, outputs, attributes) = nodes[i];
            var node = new ProtoWriter();
            foreach (string source in inputs)
                node.String(OnnxFields.NodeInput, source);
            foreach (string written in outputs ?? [i == nodes.Count - 1 ? OnnxModel.OutputName : name + "_out"])
                node.String(OnnxFields.NodeOutput, written);
            node.String(OnnxFields.NodeName, name).String(OnnxFields.NodeOpType, op);
            foreach (ProtoWriter attribute in attributes)
                node.Message(OnnxFields.NodeAttribute, attribute);
            graph.Message(OnnxFields.GraphNode, node);
        }
        graph.String(OnnxFields.GraphName, "fastbackprop")
            .Message(OnnxFields.GraphInput, ValueInfo(OnnxModel.InputName, network.InputSize))
            .Message(OnnxFields.GraphOutput, ValueInfo(OnnxModel.OutputName, network.OutputSize));

        var onnx = new ProtoWriter()
            .Varint(OnnxFields.ModelIrVersion, OnnxModel.IrVersion)
            .String(OnnxFields.ModelProducerName, "FastBackprop")
            .String(OnnxFields.ModelProducerVersion, typeof(OnnxModel).Assembly.GetName().Version?.ToString() ?? "")
            .Message(OnnxFields.ModelGraph, graph)
            .Message(OnnxFields.ModelOpsetImport, new ProtoWriter().String(OnnxFields.OpsetDomain, "").Varint(OnnxFields.OpsetVersion, OnnxModel.OpsetVersion));
        if (model.ClassLabels is { } labels)
            onnx.Message(OnnxFields.ModelMetadataProps, new ProtoWriter().String(OnnxFields.EntryKey, OnnxModel.ClassLabelsKey).String(OnnxFields.EntryValue, LabelsJson(labels)));
        if (model.FeatureNames is { } featureNames)
            onnx.Message(OnnxFields.ModelMetadataProps, new ProtoWriter().String(OnnxFields.EntryKey, OnnxModel.FeatureNamesKey).String(OnnxFields.EntryValue, LabelsJson(featureNames)));
        if (model.Loss is Loss loss)
            onnx.Message(OnnxFields.ModelMetadataProps, new ProtoWriter().String(OnnxFields.EntryKey, OnnxModel.LossKey).String(OnnxFields.EntryValue, OnnxModel.LossText(loss)));
        return onnx.ToArray();
    }

    internal static ProtoWriter Tensor<T>(string name, long[] dims, ReadOnlySpan<T> values) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var tensor = new ProtoWriter();
        foreach (long d in dims)
            tensor.Int64(OnnxFields.TensorDims, d);
        tensor.Varint(OnnxFields.TensorDataType, OnnxFields.DataTypeFloat).String(OnnxFields.TensorName, name);
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            float v = float.CreateSaturating(values[i]);
            if (!float.IsFinite(v))
                throw new ArgumentException($"{name}[{i}] = {values[i]} does not fit in float32, the type of the exported model.");
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), v);
        }
        return tensor.Bytes(OnnxFields.TensorRawData, raw);
    }

    /// <summary>An int8 layer's codes as MatMulInteger's B: inputs×units (the transpose of the layer's units×inputs).</summary>
    private static ProtoWriter Int8Tensor(string name, QuantizedDenseLayer layer)
    {
        var codes = new sbyte[layer.Codes.Length];
        for (int j = 0; j < layer.Units; j++)
            for (int k = 0; k < layer.Inputs; k++)
                codes[k * layer.Units + j] = layer.Codes[j * layer.Inputs + k];
        return Tensor<sbyte>(name, [layer.Inputs, layer.Units], OnnxFields.DataTypeInt8, codes);
    }

    private static ProtoWriter Tensor<TRaw>(string name, long[] dims, int dataType, ReadOnlySpan<TRaw> values) where TRaw : unmanaged
    {
        var tensor = new ProtoWriter();
        foreach (long d in dims)
            tensor.Int64(OnnxFields.TensorDims, d);
        return tensor.Varint(OnnxFields.TensorDataType, (ulong)dataType).String(OnnxFields.TensorName, name)
            .Bytes(OnnxFields.TensorRawData, MemoryMarshal.AsBytes(values).ToArray());
    }

    /// <summary>An activation operator's attributes: LeakyRelu's slope (as float), Softmax's last axis.</summary>
    private static ProtoWriter[] ActivationAttributes(string op, Activation activation) => op switch
    {
        "LeakyRelu" => [FloatAttribute("alpha", (float)activation.Alpha)],
        "Softmax" => [IntAttribute("axis", -1)],
        _ => [],
    };

    internal static ProtoWriter IntAttribute(string name, long value) =>
        new ProtoWriter().String(OnnxFields.AttributeName, name).Int64(OnnxFields.AttributeI, value).Varint(OnnxFields.AttributeType, OnnxFields.AttributeTypeInt);

    internal static ProtoWriter FloatAttribute(string name, float value) =>
        new ProtoWriter().String(OnnxFields.AttributeName, name).Float(OnnxFields.AttributeF, value).Varint(OnnxFields.AttributeType, OnnxFields.AttributeTypeFloat);

    /// <summary>A float tensor [batch, features] with a symbolic batch dimension.</summary>
    private static ProtoWriter ValueInfo(string name, int features)
    {
        var shape = new ProtoWriter()
            .Message(OnnxFields.ShapeDim, new ProtoWriter().String(OnnxFields.DimParam, "batch"))
            .Message(OnnxFields.ShapeDim, new ProtoWriter().Int64(OnnxFields.DimValue, features));
        var tensorType = new ProtoWriter().Varint(OnnxFields.TensorTypeElemType, OnnxFields.DataTypeFloat).Message(OnnxFields.TensorTypeShape, shape);
        return new ProtoWriter().String(OnnxFields.ValueInfoName, name)
            .Message(OnnxFields.ValueInfoType, new ProtoWriter().Message(OnnxFields.TypeTensorType, tensorType));
    }

    private static string LabelsJson(IReadOnlyList<string> labels)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (string label in labels)
                json.WriteStringValue(label);
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}

/// <summary>The graph being written, a chain: each node reads <see cref="Current"/> (and constants) and writes
/// "&lt;name&gt;_out", which becomes <see cref="Current"/>; the last node writes "output" instead (nothing reads it). What
/// a layer kind's <see cref="LayerType.ExportOnnx"/> writes into.</summary>
internal sealed class OnnxGraphWriter<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public ProtoWriter Graph { get; } = new();

    public List<(string Op, string Name, string[] Inputs, string[]? Outputs, ProtoWriter[] Attributes)> Nodes { get; } = [];

    public string Current { get; private set; } = OnnxModel.InputName;

    public void Node(string op, string name, string[] inputs, params ProtoWriter[] attributes)
    {
        Nodes.Add((op, name, inputs, null, attributes));
        Current = name + "_out";
    }

    /// <summary>A node off the chain: it writes the named outputs and leaves <see cref="Current"/> alone.</summary>
    public void Side(string op, string name, string[] inputs, string[] outputs) => Nodes.Add((op, name, inputs, outputs, []));

    /// <summary>A float32 initializer (a double model's values rounded; each must fit).</summary>
    public void Constant(string name, long[] dims, ReadOnlySpan<T> values) => Graph.Message(OnnxFields.GraphInitializer, OnnxExporter.Tensor(name, dims, values));
}
