using System.Globalization;
using System.Numerics;
using System.Text.Json;
using FastBackprop.Kernels.Int8;

namespace FastBackprop.Onnx;

/// <summary>
/// Maps a parsed ONNX graph onto a <see cref="Model{T}"/> (see <see cref="OnnxModel.Import{T}(Stream)"/> for what is
/// accepted). The graph is walked as a chain: every node must read the value the node before it wrote (plus
/// constants), so a graph with branches, skips or a second input cannot slip through as a different network. Each
/// node either extends the network exactly or is refused with an <see cref="InvalidDataException"/> naming it.
/// </summary>
internal static class OnnxImporter
{
    private sealed class Layer
    {
        public required int Units { get; init; }
        public required int Inputs { get; init; }
        public required double[] Weights { get; init; }   // units×inputs, row-major (our layout)
        public double[] Biases { get; set; } = [];
        public Activation? Activation { get; set; }
        public bool AwaitsBias { get; set; }               // a MatMul whose Add may follow
        public sbyte[]? Codes { get; init; }               // an int8 layer's codes, units×inputs (Weights = their values)
        public float[]? Scales { get; init; }              // and its scale per unit
        public double? Epsilon { get; init; }              // a layer normalisation (Weights = γ, Biases = β)

        public LayerSpec Spec => Epsilon is double epsilon ? LayerSpec.LayerNorm(epsilon) with { Units = Units } : new(Units, Activation!.Value);
    }

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

        string current = input.Name;
        var layers = new List<Layer>();
        double[]? inputMean = null, inputScale = null, targetScale = null, targetMean = null;
        bool flattened = false;
        List<OnnxNode> nodes = graph.Nodes;

        for (int k = 0; k < nodes.Count; k++)
        {
            OnnxNode node = nodes[k];
            string what = node.Describe(k);
            InvalidDataException Error(string problem) => ModelFormatError.Create(name, node.Offset, what, problem);
            Layer? last = layers.Count > 0 ? layers[^1] : null;
            bool tailStarted = targetScale is not null || targetMean is not null;

            if (node.Domain is not ("" or "ai.onnx"))
                throw Error($"operator {node.OpType} of domain '{node.Domain}' is not supported (only the default ONNX domain is).");
            if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0)
                throw Error("the node has no output.");
            if (node.Outputs.Count > 1 && node.OpType is not ("Dropout" or "DynamicQuantizeLinear"))
                throw Error($"the node has {node.Outputs.Count} outputs; a network's operators have one.");

            // The node's first input must be the chain's current value; the others (if any) constants.
            if (node.Inputs.Count == 0 || node.Inputs[0] != current)
            {
                // Binary operators may take their operands in either order (Add(bias, x), Mul(scale, x)).
                bool swapped = node.Inputs.Count == 2 && node.Inputs[1] == current && node.OpType is "Add" or "Mul";
                if (!swapped)
                    throw Error($"its input{(node.Inputs.Count == 1 ? "" : "s")} ({string.Join(", ", node.Inputs.Select(i => $"'{i}'"))}) do not start with '{current}', the value the node before it writes: the graph is not a chain of layers.");
                (node.Inputs[0], node.Inputs[1]) = (node.Inputs[1], node.Inputs[0]);
            }

            OnnxTensor Constant(int index, string role)
            {
                if (index >= node.Inputs.Count || node.Inputs[index].Length == 0)
                    throw Error($"the {role} input is missing.");
                string id = node.Inputs[index];
                if (!graph.Initializers.TryGetValue(id, out OnnxTensor? t))
                    throw Error($"its {role} '{id}' is not an initializer (a constant): the graph is not a chain of layers (only constants may join the value the node before writes).");
                if (!t.HasValues)
                    throw Error($"its {role} '{id}' has data type {t.DataType}; float32 (1) or float64 (11) is needed.");
                for (int i = 0; i < t.Count; i++)
                {
                    if (!double.IsFinite(t[i]))
                        throw Error($"its {role} '{id}' holds {t[i]} at index {i}; weights must be finite.");
                }
                return t;
            }

            void Arity(int min, int max)
            {
                if (node.Inputs.Count < min || node.Inputs.Count > max)
                    throw Error($"it has {node.Inputs.Count} inputs; {(min == max ? $"{min}" : $"{min} to {max}")} expected.");
            }

            void Attributes(params string[] allowed)
            {
                foreach (OnnxAttribute a in node.Attributes)
                {
                    if (Array.IndexOf(allowed, a.Name) < 0)
                        throw Error($"attribute '{a.Name}' is not supported on {node.OpType}{(allowed.Length == 0 ? "" : $" (only {string.Join(", ", allowed)})")}.");
                }
            }

            long IntAttribute(string attribute, long fallback) => node.Attributes.FirstOrDefault(a => a.Name == attribute) is { } a
                ? a.Type is OnnxFields.AttributeTypeInt or 0 ? a.I : throw Error($"attribute '{attribute}' is not an integer.")
                : fallback;

            float FloatAttribute(string attribute, float fallback) => node.Attributes.FirstOrDefault(a => a.Name == attribute) is { } a
                ? a.Type is OnnxFields.AttributeTypeFloat or 0 ? a.F : throw Error($"attribute '{attribute}' is not a float.")
                : fallback;

            // Per-feature vectors (standardisation): as many values as features, or one broadcast to all. The
            // feature count is checked when the network is built.
            double[] Vector(OnnxTensor t) => Enumerable.Range(0, t.Count).Select(i => t[i]).ToArray();

            void SetActivation(Activation activation)
            {
                if (last is null || last.Activation is not null || tailStarted)
                    throw Error($"{node.OpType} does not follow a Gemm or MatMul: an activation must come right after a dense layer (one per layer).");
                last.Activation = activation;
                last.AwaitsBias = false;
            }

            void AddLayer(double[] weights, int units, int inputsOfLayer)
            {
                if (tailStarted)
                    throw Error("a dense layer follows the output de-standardisation (Div/Add), which must come last.");
                if (last is not null && last.Activation is { Kind: ActivationKind.Softmax })
                    throw Error("a dense layer follows a Softmax, which is supported on the last layer only.");
                int expected = last?.Units ?? -1;
                if (expected >= 0 && inputsOfLayer != expected)
                    throw Error($"its weights take {inputsOfLayer} inputs but the layer before it has {expected} units.");
                last?.Activation ??= FastBackprop.Activation.Identity;
                layers.Add(new Layer { Units = units, Inputs = inputsOfLayer, Weights = weights, Biases = new double[units] });
            }

            (int Rows, int Cols) Matrix(OnnxTensor t, string role)
            {
                if (t.Dims.Length != 2 || t.Dims[0] is < 1 or > int.MaxValue || t.Dims[1] is < 1 or > int.MaxValue)
                    throw Error($"its {role} '{t.Name}' has dims [{string.Join(", ", t.Dims)}]; a weight matrix of two positive dimensions is needed.");
                return ((int)t.Dims[0], (int)t.Dims[1]);
            }

            // W (units×inputs) from a matrix stored inputs×units (transB = 0, MatMul).
            static double[] Transposed(OnnxTensor t, int rows, int cols)
            {
                var w = new double[rows * cols];
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++)
                        w[c * rows + r] = t[r * cols + c];
                return w;
            }

            double[] Bias(OnnxTensor t, int units)
            {
                if (t.Count != units && t.Count != 1 || t.Dims.Length > 2 || t.Dims.Length == 2 && t.Dims[0] != 1)
                    throw Error($"its bias '{t.Name}' has dims [{string.Join(", ", t.Dims)}]; [{units}] (or [1, {units}], or one value) is needed.");
                return Enumerable.Range(0, units).Select(i => t[t.Count == 1 ? 0 : i]).ToArray();
            }

            switch (node.OpType)
            {
                case "Gemm":
                    {
                        Arity(2, 3);
                        Attributes("alpha", "beta", "transA", "transB");
                        if (FloatAttribute("alpha", 1) != 1 || node.Inputs.Count == 3 && FloatAttribute("beta", 1) != 1)
                            throw Error("alpha and beta must be 1 (a dense layer is X·Wᵀ + b).");
                        if (IntAttribute("transA", 0) != 0)
                            throw Error("transA = 1 (a transposed input) is not supported.");
                        long transB = IntAttribute("transB", 0);
                        if (transB is not (0 or 1))
                            throw Error($"transB = {transB} must be 0 or 1.");
                        OnnxTensor b = Constant(1, "weight");
                        var (rows, cols) = Matrix(b, "weight");
                        int units = transB == 1 ? rows : cols, inputsOfLayer = transB == 1 ? cols : rows;
                        AddLayer(transB == 1 ? Vector(b) : Transposed(b, rows, cols), units, inputsOfLayer);
                        if (node.Inputs.Count == 3 && node.Inputs[2].Length > 0)
                            layers[^1].Biases = Bias(Constant(2, "bias"), units);
                        break;
                    }
                case "MatMul":
                    {
                        Arity(2, 2);
                        Attributes();
                        OnnxTensor b = Constant(1, "weight");
                        var (rows, cols) = Matrix(b, "weight");
                        AddLayer(Transposed(b, rows, cols), cols, rows);
                        layers[^1].AwaitsBias = true;
                        break;
                    }
                case "DynamicQuantizeLinear":
                    {
                        Arity(1, 1);
                        Attributes();
                        Layer layer = Int8MatMul(graph, nodes, k, name);
                        AddLayer(layer.Weights, layer.Units, layer.Inputs);
                        layers[^1] = layer;
                        current = nodes[k + 4].Outputs[0];
                        k += 4;
                        continue;
                    }
                case "Add" when last is { AwaitsBias: true }:
                    Arity(2, 2);
                    Attributes();
                    last.Biases = Bias(Constant(1, "bias"), last.Units);
                    last.AwaitsBias = false;
                    break;
                case "Add":
                    Arity(2, 2);
                    Attributes();
                    if (last is null || targetMean is not null)
                        throw Error("Add is supported only as a MatMul's bias or, once, at the end as the target de-standardisation (after Div).");
                    last.Activation ??= FastBackprop.Activation.Identity;
                    targetMean = Vector(Constant(1, "target mean"));
                    break;
                case "Sub":
                    Arity(2, 2);
                    Attributes();
                    if (layers.Count > 0 || inputMean is not null || inputScale is not null)
                        throw Error("Sub is supported only once, before the first layer, as the input standardisation's mean.");
                    inputMean = Vector(Constant(1, "mean"));
                    break;
                case "Mul" or "Div" when layers.Count == 0:
                    {
                        Arity(2, 2);
                        Attributes();
                        if (inputScale is not null)
                            throw Error($"{node.OpType} is supported only once before the first layer, as the input standardisation's scale.");
                        double[] v = Vector(Constant(1, node.OpType == "Mul" ? "scale" : "standard deviation"));
                        // x / s = x·(1/s) up to the last bit: a Div scaling imports as the model's multiplier 1/s.
                        inputScale = node.OpType == "Mul" ? v : v.Select(s => 1 / s).ToArray();
                        break;
                    }
                case "Mul":
                    throw Error("Mul is supported only before the first layer (the input standardisation's scale) or as SiLU's z·Sigmoid(z).");
                case "Div":
                    Arity(2, 2);
                    Attributes();
                    if (tailStarted)
                        throw Error("Div is supported only once after the last layer, as the target de-standardisation's scale.");
                    last!.Activation ??= FastBackprop.Activation.Identity;
                    if (last.Activation.Value.Kind == ActivationKind.Softmax)
                        throw Error("Div after a Softmax: a target standardisation belongs to a regression model.");
                    targetScale = Vector(Constant(1, "target scale"));
                    break;
                case "Relu":
                    Arity(1, 1);
                    Attributes();
                    if (k + 1 < nodes.Count && nodes[k + 1] is { OpType: "Sign", Domain: "" or "ai.onnx" } sign
                        && sign.Inputs.Count == 1 && sign.Inputs[0] == node.Outputs[0] && sign.Attributes.Count == 0)
                    {
                        SetActivation(FastBackprop.Activation.Step);   // Sign(Relu(z)): 1 for z > 0, else 0
                        current = sign.Outputs.Count == 1 ? sign.Outputs[0] : throw ModelFormatError.Create(name, sign.Offset, sign.Describe(k + 1), "the node must have one output.");
                        k++;
                        continue;
                    }
                    SetActivation(FastBackprop.Activation.ReLU);
                    break;
                case "LeakyRelu":
                    {
                        Arity(1, 1);
                        Attributes("alpha");
                        float alpha = FloatAttribute("alpha", 0.01f);
                        double slope = ShortestDouble(alpha);
                        if (!(slope > 0 && slope <= Activation.MaxLeakySlope))
                            throw Error($"alpha = {slope} is outside (0, {Activation.MaxLeakySlope}], the slopes the library's leaky ReLU takes.");
                        SetActivation(FastBackprop.Activation.LeakyReLU(slope));
                        break;
                    }
                case "Sigmoid":
                    Arity(1, 1);
                    Attributes();
                    if (k + 1 < nodes.Count && nodes[k + 1] is { OpType: "Mul", Domain: "" or "ai.onnx" } mul && mul.Inputs.Count == 2
                        && (mul.Inputs[0] == current && mul.Inputs[1] == node.Outputs[0] || mul.Inputs[1] == current && mul.Inputs[0] == node.Outputs[0]))
                    {
                        SetActivation(FastBackprop.Activation.SiLU);   // z·σ(z)
                        current = mul.Outputs.Count == 1 ? mul.Outputs[0] : throw ModelFormatError.Create(name, mul.Offset, mul.Describe(k + 1), "the node must have one output.");
                        k++;
                        continue;
                    }
                    SetActivation(FastBackprop.Activation.Sigmoid);
                    break;
                case "Tanh":
                    Arity(1, 1);
                    Attributes();
                    SetActivation(FastBackprop.Activation.Tanh);
                    break;
                case "Softmax":
                    {
                        Arity(1, 1);
                        Attributes("axis");
                        // Before opset 13 the default axis is 1; on [batch, features] 1 and −1 are both the last axis.
                        long axis = IntAttribute("axis", opset < 13 ? 1 : -1);
                        if (axis is not (1 or -1))
                            throw Error($"axis = {axis}: only the last axis of a [batch, features] tensor (1 or -1) is supported.");
                        SetActivation(FastBackprop.Activation.Softmax);
                        break;
                    }
                case "LayerNormalization":
                    {
                        Arity(2, 3);
                        Attributes("axis", "epsilon", "stash_type");
                        long axis = IntAttribute("axis", -1);
                        if (axis is not (1 or -1))
                            throw Error($"axis = {axis}: only the last axis of a [batch, features] tensor (1 or -1) is supported.");
                        long stash = IntAttribute("stash_type", 1);
                        if (stash != 1)
                            throw Error($"stash_type = {stash}: only 1 (the statistics in float32) is supported.");
                        double epsilon = ShortestDouble(FloatAttribute("epsilon", 1e-5f));
                        if (!(epsilon >= LayerSpec.MinLayerNormEpsilon && epsilon <= LayerSpec.MaxLayerNormEpsilon))
                            throw Error($"epsilon = {epsilon} is outside [{LayerSpec.MinLayerNormEpsilon}, {LayerSpec.MaxLayerNormEpsilon}], the range the library's layer normalisation takes.");
                        if (tailStarted)
                            throw Error("a LayerNormalization follows the output de-standardisation (Div/Add), which must come last.");
                        if (last is not null && last.Activation is { Kind: ActivationKind.Softmax })
                            throw Error("a LayerNormalization follows a Softmax, which is supported on the last layer only.");
                        OnnxTensor scale = Constant(1, "scale");
                        int width = last?.Units ?? scale.Count;
                        if (scale.Count != width || scale.Dims.Length != 1)
                            throw Error($"its scale '{scale.Name}' has dims [{string.Join(", ", scale.Dims)}]; [{width}] (one per feature of its input) is needed.");
                        double[] bias = node.Inputs.Count == 3 && node.Inputs[2].Length > 0 ? Bias(Constant(2, "bias"), width) : new double[width];
                        if (last is not null)
                        {
                            last.Activation ??= FastBackprop.Activation.Identity;
                            last.AwaitsBias = false;
                        }
                        layers.Add(new Layer { Units = width, Inputs = width, Weights = Vector(scale), Biases = bias,
                            Activation = FastBackprop.Activation.Identity, Epsilon = epsilon });
                        break;
                    }
                case "Identity":
                    Arity(1, 1);
                    Attributes();
                    break;
                case "Dropout":
                    // Inference: identity. A training_mode input (opset 12+) would be a bool constant; refuse it rather
                    // than guess what it holds.
                    Arity(1, 2);
                    Attributes("ratio", "is_test", "seed");
                    break;
                case "Flatten":
                    {
                        Arity(1, 1);
                        Attributes("axis");
                        long axis = IntAttribute("axis", 1);
                        if (axis != 1)
                            throw Error($"axis = {axis}: only axis 1 (keep the batch dimension, flatten the rest) is supported.");
                        if (layers.Count == 0)
                            flattened = true;
                        break;
                    }
                default:
                    throw Error($"operator {node.OpType} is not supported; import takes dense networks (Gemm, MatMul+Add, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, LayerNormalization, Identity, Flatten, Dropout, and Sub/Mul/Div/Add standardisation) and int8 layers as quantize_dynamic writes them (DynamicQuantizeLinear, MatMulInteger, Cast, Mul, Mul, Add).");
            }
            current = node.Outputs[0];
        }

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
    private static Layer Int8MatMul(OnnxGraph graph, List<OnnxNode> nodes, int first, string? name)
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
        int bad = Array.IndexOf(w.Int8s, sbyte.MinValue);
        if (bad >= 0)
            throw ErrorAt(matmul, $"MatMulInteger's weights '{m.Inputs[1]}' hold -128 at index {bad}; int8 weights here are symmetric, in [-127, 127].");
        int cast = Find("Cast", n => n.Inputs.Count == 1 && n.Inputs[0] == m.Outputs[0], $"reads '{m.Outputs[0]}'");
        if (nodes[cast].Outputs.Count != 1 || nodes[cast].Attributes.SingleOrDefault(a => a.Name == "to") is not { I: OnnxFields.DataTypeFloat } || nodes[cast].Attributes.Count != 1)
            throw ErrorAt(cast, "Cast must convert the integer product to float (to = 1) and have one output.");
        int scales = Find("Mul", n => n.Inputs.Count == 2 && n.Inputs.Contains(xScale), $"reads '{xScale}'");
        string weightScale = nodes[scales].Inputs[0] == xScale ? nodes[scales].Inputs[1] : nodes[scales].Inputs[0];
        if (!graph.Initializers.TryGetValue(weightScale, out OnnxTensor? s) || s.Floats is null || s.Count != 1 && s.Count != units || nodes[scales].Outputs.Count != 1)
            throw ErrorAt(scales, $"Mul's weight scale '{weightScale}' must be a float32 initializer of one value or one per unit ({units}).");
        var scale = new float[units];
        for (int j = 0; j < units; j++)
        {
            scale[j] = s.Floats[s.Count == 1 ? 0 : j];
            if (!(scale[j] >= Int8Scheme.MinWeightScale && scale[j] <= Int8Scheme.MaxWeightScale))
                throw ErrorAt(scales, string.Create(CultureInfo.InvariantCulture,
                    $"Mul's weight scale '{weightScale}' holds {scale[j]:R} for unit {j}; a scale must be in [{Int8Scheme.MinWeightScale:R}, {Int8Scheme.MaxWeightScale:R}]."));
        }
        string castOut = nodes[cast].Outputs[0], scalesOut = nodes[scales].Outputs[0];
        int rescale = Find("Mul", n => n.Inputs.Count == 2 && n.Inputs.Contains(castOut) && n.Inputs.Contains(scalesOut), $"multiplies '{castOut}' by '{scalesOut}'");
        if (new[] { matmul, cast, scales, rescale }.Distinct().Count() != 4 || rescale != first + 4 || nodes[rescale].Outputs.Count != 1)
            throw ErrorAt(rescale, "the Mul that rescales the product must come last of the four nodes after DynamicQuantizeLinear, with one output.");

        var codes = new sbyte[units * inputs];
        var weights = new double[units * inputs];
        for (int k = 0; k < inputs; k++)
            for (int j = 0; j < units; j++)
            {
                codes[j * inputs + k] = w.Int8s[k * units + j];
                weights[j * inputs + k] = (double)scale[j] * codes[j * inputs + k];
            }
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
            if (layer.Epsilon is not null)
            {
                stages.Add(new(l, layer.Inputs, layer.Units, null, new QuantizedNetwork.FloatLayer(LayerType.Of(LayerKind.LayerNorm)!, specs[l], l,
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

    /// <summary>ONNX stores float attributes; the shortest decimal that rounds to one gives back the double a user typed (0.01f
    /// reads as 0.01, not 0.009999999776), so a model file holds the same value.</summary>
    private static double ShortestDouble(float value) => double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

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
