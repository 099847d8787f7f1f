using System.Globalization;
using System.Numerics;
using System.Text.Json;
using FastBackprop.Kernels.Int8;
using Layer = FastBackprop.Onnx.OnnxChain.Layer;

namespace FastBackprop.Onnx;

/// <summary>
/// Maps a parsed ONNX graph onto a <see cref="Model{T}"/> (see <see cref="OnnxModel.Import{T}(Stream)"/> for what is
/// accepted): checks the model's opset and the graph's one input and one output, reads the nodes as a chain of layers
/// (<see cref="OnnxChain"/>, one handler per operator), then builds the network, the standardisations and the metadata,
/// refusing with an <see cref="InvalidDataException"/> whatever does not make a model.
/// </summary>
internal static class OnnxImporter
{
    public static Model<T> Import<T>(ReadOnlySpan<byte> data, string? name) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"ONNX import gives float or double models, not {typeof(T).Name}.");
        OnnxModelProto model = OnnxParser.Parse(data, name);
        OnnxGraph graph = model.Graph!;
        InvalidDataException GraphError(string field, string problem) => ModelFormatError.Create(name, graph.Offset, field, problem);

        if (!model.Opsets.TryGetValue("", out long opset))
            throw ModelFormatError.Create(name, 0, "ModelProto.opset_import", "the model imports no opset of the default ONNX domain.");
        if (opset is < OnnxModel.MinImportOpset or > OnnxModel.MaxImportOpset)
            throw ModelFormatError.Create(name, 0, "ModelProto.opset_import",
                $"opset {opset} of the default domain is outside the {OnnxModel.MinImportOpset}–{OnnxModel.MaxImportOpset} the importer knows.");

        // Graph inputs may list the initializers too (older exporters, keep_initializers_as_inputs): those are constants.
        var inputs = graph.Inputs.Where(i => !graph.Initializers.ContainsKey(i.Name)).ToList();
        if (inputs.Count != 1)
            throw GraphError("GraphProto.input", $"the graph has {inputs.Count} inputs that are not initializers ({string.Join(", ", inputs.Select(i => $"'{i.Name}'"))}); a network has exactly one.");
        if (graph.Outputs.Count != 1)
            throw GraphError("GraphProto.output", $"the graph has {graph.Outputs.Count} outputs; a network has exactly one.");
        OnnxValueInfo input = inputs[0], output = graph.Outputs[0];
        foreach (OnnxValueInfo v in (ReadOnlySpan<OnnxValueInfo>)[input, output])
        {
            if (v.ElementType is not (0 or OnnxFields.DataTypeFloat or OnnxFields.DataTypeDouble))
                throw ModelFormatError.Create(name, v.Offset, $"graph value '{v.Name}'", $"element type {v.ElementType} is not float32 (1) or float64 (11).");
        }

        var chain = new OnnxChain(graph, name, opset, input.Name);
        chain.ReadAll();
        List<Layer> layers = chain.Layers;
        string current = chain.Current;
        double[]? inputMean = chain.InputMean, inputScale = chain.InputScale, targetScale = chain.TargetScale, targetMean = chain.TargetMean;
        bool flattened = chain.Flattened;

        if (layers.Count == 0)
            throw GraphError("GraphProto.node", "the graph holds no Gemm or MatMul: no dense layer to import.");
        if (current != output.Name)
            throw GraphError("GraphProto.output", $"the graph's output '{output.Name}' is not the last node's output '{current}'.");
        layers[^1].Activation ??= Activation.Identity;

        int inputSize = layers[0].Inputs;
        if (input.Dims is { } dims)
        {
            // [batch, features], or [batch, …] flattened by a Flatten before the first layer.
            long features = dims.Length < 2 ? -1 : dims.Skip(1).Aggregate((long?)1, (p, d) => p is null || d is null ? null : p * d) ?? inputSize;
            if (dims.Length < 2 || dims.Length > 2 && !flattened || features != inputSize)
                throw ModelFormatError.Create(name, input.Offset, $"graph input '{input.Name}'",
                    $"its shape [{string.Join(", ", dims.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? "?"))}] does not give [batch, {inputSize}], what the first layer takes.");
        }
        if (output.Dims is { Length: 2 } outDims && outDims[1] is long outputs && outputs != layers[^1].Units)
            throw ModelFormatError.Create(name, output.Offset, $"graph output '{output.Name}'", $"it declares {outputs} features but the last layer has {layers[^1].Units} units.");

        var specs = layers.Select(l => l.Spec).ToArray();
        QuantizedNetwork? quantized = layers.Any(l => l.Codes is not null) ? Quantized<T>(inputSize, specs, layers, GraphError) : null;
        Network<T> network;
        try
        {
            network = new Network<T>(inputSize, specs);
        }
        catch (ArgumentException e)
        {
            throw GraphError("GraphProto.node", $"the layers do not make a network: {e.Message}");
        }
        for (int l = 0; l < layers.Count; l++)
        {
            network.SetWeights(l, Convert<T>(layers[l].Weights, $"layer {l} weights", GraphError));
            network.SetBiases(l, Convert<T>(layers[l].Biases, $"layer {l} biases", GraphError));
        }

        Standardizer<T>? inputStandardization = inputMean is null && inputScale is null ? null
            : MakeStandardizer<T>(inputMean, inputScale, inputSize, "input standardisation", GraphError);
        Standardizer<T>? targetStandardization = targetMean is null && targetScale is null ? null
            : MakeStandardizer<T>(targetMean, targetScale is null ? null : targetScale.Select(s => s).ToArray(), network.OutputSize, "target standardisation", GraphError);

        IReadOnlyList<string>? labels = null;
        if (model.Metadata.TryGetValue(OnnxModel.ClassLabelsKey, out string? labelsJson))
            labels = ParseNames(labelsJson, "class label", e => ModelFormatError.Create(name, 0, $"metadata_props '{OnnxModel.ClassLabelsKey}'", e));
        else if (network.Layer(network.LayerCount - 1).Activation.Kind == ActivationKind.Softmax && targetStandardization is null)
            labels = Enumerable.Range(0, network.OutputSize).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        IReadOnlyList<string>? featureNames = null;
        if (model.Metadata.TryGetValue(OnnxModel.FeatureNamesKey, out string? namesJson))
            featureNames = ParseNames(namesJson, "feature name", e => ModelFormatError.Create(name, 0, $"metadata_props '{OnnxModel.FeatureNamesKey}'", e));
        Loss? loss = null;
        if (model.Metadata.TryGetValue(OnnxModel.LossKey, out string? lossText))
        {
            string[] parts = lossText.Split('/');
            if (parts.Length != 2 || !Enum.TryParse(parts[0], out LossKind kind) || !Enum.IsDefined(kind)
                || !Enum.TryParse(parts[1], out Reduction reduction) || !Enum.IsDefined(reduction) || parts.Any(p => p.Length == 0 || !char.IsLetter(p[0])))
                throw ModelFormatError.Create(name, 0, $"metadata_props '{OnnxModel.LossKey}'", $"'{lossText}' is not a loss (e.g. SoftmaxCrossEntropy/Mean).");
            loss = new Loss(kind, reduction);
        }

        Model<T> result;
        try
        {
            result = quantized is null
                ? new Model<T>(network, inputStandardization, labels, loss, targetStandardization) { FeatureNames = featureNames }
                : new Model<T>(quantized, inputStandardization, labels, loss, targetStandardization) { FeatureNames = featureNames };
        }
        catch (ArgumentException e)
        {
            throw GraphError("ModelProto", $"the graph and its metadata do not make a model: {e.Message}");
        }
        ModelChecks.CheckPrediction(result, name, graph.Offset);
        return result;
    }

    /// <summary>
    /// An int8 layer as onnxruntime's quantize_dynamic writes a MatMul, from the DynamicQuantizeLinear at
    /// <paramref name="first"/> and the four nodes after it, in any order: MatMulInteger(x_quantized, W int8 [inputs, units],
    /// x_zero_point[, weight zero point 0]), Cast(to float), Mul(x_scale, weight scale: one, or one per unit), Mul(the
    /// cast, the scales). The bias Add that follows is the MatMul's. The activations are quantized per row, this library's
    /// way, rather than per tensor: the predictions are close to, not the same as, ONNX Runtime's. Anything else is refused
    /// naming the node and its operator.
    /// </summary>
    internal static Layer Int8MatMul(OnnxGraph graph, List<OnnxNode> nodes, int first, string? name)
    {
        OnnxNode quantize = nodes[first];
        InvalidDataException ErrorAt(int index, string problem) => ModelFormatError.Create(name, nodes[index].Offset, nodes[index].Describe(index), problem);
        if (quantize.Outputs.Count != 3)
            throw ErrorAt(first, $"DynamicQuantizeLinear has {quantize.Outputs.Count} outputs; 3 (y, y_scale, y_zero_point) are needed.");
        string xq = quantize.Outputs[0], xScale = quantize.Outputs[1], xZero = quantize.Outputs[2];
        int Find(string op, Func<OnnxNode, bool> wired, string role)
        {
            for (int i = first + 1; i <= first + 4 && i < nodes.Count; i++)
            {
                if (nodes[i].OpType == op && nodes[i].Domain is "" or "ai.onnx" && wired(nodes[i]))
                    return i;
            }
            throw ErrorAt(first, $"DynamicQuantizeLinear must be followed (within the next four nodes) by MatMulInteger, Cast, Mul and Mul as quantize_dynamic writes them; no {op} {role}.");
        }
        int matmul = Find("MatMulInteger", n => n.Inputs.Count >= 2 && n.Inputs[0] == xq, $"reads '{xq}'");
        OnnxNode m = nodes[matmul];
        if (m.Inputs.Count > 4 || m.Inputs.Count < 3 || m.Inputs[2] != xZero || m.Attributes.Count > 0 || m.Outputs.Count != 1)
            throw ErrorAt(matmul, $"MatMulInteger must read ('{xq}', the weights, '{xZero}'[, the weights' zero point]), have no attributes and one output.");
        if (!graph.Initializers.TryGetValue(m.Inputs[1], out OnnxTensor? w) || w.Int8s is null || w.Dims.Length != 2 || w.Dims[0] is < 1 or > Int8Scheme.MaxDepth || w.Dims[1] is < 1 or > int.MaxValue)
            throw ErrorAt(matmul, $"MatMulInteger's weights '{m.Inputs[1]}' must be an int8 initializer [inputs, units] of at most {Int8Scheme.MaxDepth} inputs.");
        if (m.Inputs.Count == 4 && (!graph.Initializers.TryGetValue(m.Inputs[3], out OnnxTensor? zero) || zero.Int8s is null || zero.Int8s.Any(z => z != 0)))
            throw ErrorAt(matmul, $"MatMulInteger's weight zero point '{m.Inputs[3]}' must be an int8 initializer of zeros (symmetric weights).");
        int inputs = (int)w.Dims[0], units = (int)w.Dims[1];
        int cast = Find("Cast", n => n.Inputs.Count == 1 && n.Inputs[0] == m.Outputs[0], $"reads '{m.Outputs[0]}'");
        if (nodes[cast].Outputs.Count != 1 || nodes[cast].Attributes.SingleOrDefault(a => a.Name == "to") is not { I: OnnxFields.DataTypeFloat } || nodes[cast].Attributes.Count != 1)
            throw ErrorAt(cast, "Cast must convert the integer product to float (to = 1) and have one output.");
        int scales = Find("Mul", n => n.Inputs.Count == 2 && n.Inputs.Contains(xScale), $"reads '{xScale}'");
        string weightScale = nodes[scales].Inputs[0] == xScale ? nodes[scales].Inputs[1] : nodes[scales].Inputs[0];
        if (!graph.Initializers.TryGetValue(weightScale, out OnnxTensor? s) || s.Floats is null || s.Count != 1 && s.Count != units || nodes[scales].Outputs.Count != 1)
            throw ErrorAt(scales, $"Mul's weight scale '{weightScale}' must be a float32 initializer of one value or one per unit ({units}).");
        string castOut = nodes[cast].Outputs[0], scalesOut = nodes[scales].Outputs[0];
        int rescale = Find("Mul", n => n.Inputs.Count == 2 && n.Inputs.Contains(castOut) && n.Inputs.Contains(scalesOut), $"multiplies '{castOut}' by '{scalesOut}'");
        if (new[] { matmul, cast, scales, rescale }.Distinct().Count() != 4 || rescale != first + 4 || nodes[rescale].Outputs.Count != 1)
            throw ErrorAt(rescale, "the Mul that rescales the product must come last of the four nodes after DynamicQuantizeLinear, with one output.");

        // The codes and scales under the same rules as a QDQ layer's: symmetric, no −128, each scale in the int8 range.
        var quantization = new OnnxQuantization(OnnxFields.DataTypeInt8, w.Integers!, new int[s.Count], s.Floats, s.Count == 1 ? -1 : 1, m.Describe(matmul));
        var (codes, scale) = OnnxQdq.Int8Weights(quantization, $"MatMulInteger's weights '{m.Inputs[1]}' (scaled by '{weightScale}')", unitsFirst: false,
            units, inputs, problem => ErrorAt(matmul, problem));
        var weights = new double[units * inputs];
        for (int i = 0; i < weights.Length; i++)
            weights[i] = (double)scale[i / inputs] * codes[i];
        return new Layer { Units = units, Inputs = inputs, Weights = weights, Biases = new double[units], Codes = codes, Scales = scale, AwaitsBias = true };
    }

    /// <summary>The network of an imported graph with int8 layers: those from their codes and scales, the others in fp32.</summary>
    private static QuantizedNetwork Quantized<T>(int inputSize, LayerSpec[] specs, List<Layer> layers, Func<string, string, InvalidDataException> error)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float))
            throw error("GraphProto.node", $"the graph has int8 layers, which run in float: import it as Model<Single>, not Model<{typeof(T).Name}>.");
        var stages = new List<QuantizedNetwork.Stage>();
        for (int l = 0; l < layers.Count; l++)
        {
            Layer layer = layers[l];
            float[] biases = Convert<float>(layer.Biases, $"layer {l} biases", error);
            if (layer.Kept is { } kept)
            {
                stages.Add(new(l, layer.Inputs, layer.Units, null, new QuantizedNetwork.FloatLayer(LayerType.Of(kept.Kind)!, specs[l], l,
                    Convert<float>(layer.Weights, $"layer {l} weights", error), biases)));
                continue;
            }
            stages.Add(layer.Codes is { } codes
                ? new(l, layer.Inputs, layer.Units, new QuantizedDenseLayer(codes, layer.Scales, biases, layer.Inputs, layer.Units, specs[l].Activation), null)
                : new(l, layer.Inputs, layer.Units, null, new QuantizedNetwork.FloatDense(Convert<float>(layer.Weights, $"layer {l} weights", error), biases,
                    layer.Inputs, layer.Units, specs[l].Activation)));
        }
        return new QuantizedNetwork(inputSize, specs, stages);
    }

    private static T[] Convert<T>(double[] values, string what, Func<string, string, InvalidDataException> error) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var result = new T[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = T.CreateSaturating(values[i]);
            if (!T.IsFinite(result[i]))
                throw error("GraphProto.initializer", $"{what}[{i}] = {values[i]} does not fit in {typeof(T).Name}.");
        }
        return result;
    }

    private static Standardizer<T> MakeStandardizer<T>(double[]? mean, double[]? scale, int count, string what,
        Func<string, string, InvalidDataException> error) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double[] Expand(double[]? v, double fallback, string part)
        {
            if (v is null)
                return Enumerable.Repeat(fallback, count).ToArray();
            if (v.Length == 1)
                return Enumerable.Repeat(v[0], count).ToArray();
            if (v.Length != count)
                throw error("GraphProto.initializer", $"the {what}'s {part} has {v.Length} values but there are {count} features.");
            return v;
        }
        double[] m = Expand(mean, 0, "mean"), s = Expand(scale, 1, "scale");
        for (int i = 0; i < s.Length; i++)
        {
            if (ModelChecks.ScaleProblem(s[i], i) is string problem)
                throw error("GraphProto.initializer", $"the {what}'s {problem}");
        }
        return new Standardizer<T>(Convert<T>(m, $"{what} mean", error), Convert<T>(s, $"{what} scale", error));
    }

    /// <summary>A metadata JSON array of class labels or feature names, held to the model file's rules for them.</summary>
    private static string[] ParseNames(string json, string what, Func<string, InvalidDataException> error)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw error("not a JSON array of strings.");
            var names = new List<string>();
            foreach (JsonElement e in document.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String)
                    throw error("not a JSON array of strings.");
                string item;
                try
                {
                    item = e.GetString()!;
                }
                catch (InvalidOperationException)
                {
                    throw error($"{what} {names.Count} holds a lone UTF-16 surrogate, which has no UTF-8 form.");
                }
                ModelChecks.Encode(item, names.Count, what, error);
                names.Add(item);
            }
            if (ModelChecks.FirstRepeat(names, what) is string repeat)
                throw error(repeat);
            return [.. names];
        }
        catch (JsonException e)
        {
            throw error($"not valid JSON ({e.Message}).");
        }
    }
}
