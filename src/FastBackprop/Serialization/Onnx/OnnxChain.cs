using System.Globalization;

namespace FastBackprop.Onnx;

/// <summary>
/// Reads an ONNX graph as a chain of layers, node by node, one handler per operator (<see cref="Handlers"/>): every node
/// must read the value the node before it wrote (plus constants), so a graph with branches, skips or a second input
/// cannot slip through as a different network. Each handler either extends the chain exactly — a dense layer, its bias or
/// activation, a layer normalisation, the standardisations at either end — or refuses the node with an
/// <see cref="InvalidDataException"/> naming it and its operator. <see cref="OnnxImporter"/> turns the finished chain into
/// a model.
/// </summary>
internal sealed class OnnxChain
{
    /// <summary>A layer as read: a dense one (from Gemm, MatMul + Add, or quantize_dynamic's int8 pattern) or one of
    /// another kind (<see cref="Kept"/> set, written by the kind's <see cref="LayerType.ImportOnnx"/>).</summary>
    internal sealed class Layer
    {
        public required int Units { get; init; }
        public required int Inputs { get; init; }
        public required double[] Weights { get; init; }   // units×inputs, row-major (our layout); another kind's first tensor
        public double[] Biases { get; set; } = [];        // and its second
        public Activation? Activation { get; set; }
        public bool AwaitsBias { get; set; }               // a MatMul whose Add may follow
        public sbyte[]? Codes { get; init; }               // an int8 layer's codes, units×inputs (Weights = their values)
        public float[]? Scales { get; init; }              // and its scale per unit
        public LayerSpec? Kept { get; init; }             // a width-keeping kind's spec

        public LayerSpec Spec => Kept is { } kept ? kept with { Units = Units } : new(Units, Activation!.Value);
    }

    /// <summary>The operators, each with its handler; a handler returns how many nodes it read (more than one for the
    /// patterns that span nodes: SiLU, step, an int8 MatMul).</summary>
    private static readonly Dictionary<string, Func<OnnxChain, int>> Handlers = KindHandlers(new()
    {
        ["Gemm"] = c => c.Gemm(),
        ["MatMul"] = c => c.MatMul(),
        ["DynamicQuantizeLinear"] = c => c.Int8MatMul(),
        ["QuantizeLinear"] = c => c.QuantizePair(),
        ["Add"] = c => c.Add(),
        ["Sub"] = c => c.Sub(),
        ["Mul"] = c => c.MulOrDiv(),
        ["Div"] = c => c.MulOrDiv(),
        ["Identity"] = c => c.PassThrough(),
        ["Dropout"] = c => c.Dropout(),
        ["Flatten"] = c => c.Flatten(),
    });

    /// <summary>The handlers, one for each operator an activation starts with (<see cref="ActivationRegistry"/>), and one for
    /// the operator of each layer kind that maps one (<see cref="LayerType.OnnxOperator"/>).</summary>
    private static Dictionary<string, Func<OnnxChain, int>> KindHandlers(Dictionary<string, Func<OnnxChain, int>> handlers)
    {
        foreach (ActivationInfo info in ActivationRegistry.All)
        {
            if (info.OnnxOperators.Length > 0)
                handlers.TryAdd(info.OnnxOperators[0], c => c.ActivationOperators());
        }
        foreach (LayerType type in LayerType.All)
        {
            if (type.OnnxOperator is string op)
                handlers.Add(op, c =>
                {
                    type.ImportOnnx(c);
                    return 1;
                });
        }
        return handlers;
    }

    private readonly OnnxGraph graph;
    private readonly List<OnnxNode> nodes;
    private readonly string? name;
    private readonly long opset;
    private readonly HashSet<OnnxNode> folded;

    // The node being read.
    private OnnxNode node = null!;
    private int index;
    private string what = "";

    public OnnxChain(OnnxGraph graph, string? name, long opset, string input)
    {
        this.graph = graph;
        nodes = graph.Nodes;
        this.name = name;
        this.opset = opset;
        folded = OnnxQdq.FoldConstants(graph, name);
        Current = input;
    }

    /// <summary>The value the last node read wrote (the graph's input before the first).</summary>
    public string Current { get; private set; }

    public List<Layer> Layers { get; } = [];

    public double[]? InputMean { get; private set; }

    public double[]? InputScale { get; private set; }

    public double[]? TargetScale { get; private set; }

    public double[]? TargetMean { get; private set; }

    /// <summary>A Flatten came before the first layer (the input may have more than two dimensions).</summary>
    public bool Flattened { get; private set; }

    private Layer? Last => Layers.Count > 0 ? Layers[^1] : null;

    private bool TailStarted => TargetScale is not null || TargetMean is not null;

    /// <summary>Reads every node in order.</summary>
    public void ReadAll()
    {
        for (int k = 0; k < nodes.Count;)
            k += Read(k);
    }

    /// <summary>Reads node <paramref name="k"/> (and the nodes of its pattern); returns how many it read.</summary>
    private int Read(int k)
    {
        node = nodes[k];
        index = k;
        what = node.Describe(k);
        if (folded.Contains(node))
            return 1;   // a DequantizeLinear of constants, now the constant it computes

        if (node.Domain is not ("" or "ai.onnx"))
            throw Error($"operator {node.OpType} of domain '{node.Domain}' is not supported (only the default ONNX domain is).");
        if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0)
            throw Error("the node has no output.");
        if (node.Outputs.Count > 1 && node.OpType is not ("Dropout" or "DynamicQuantizeLinear"))
            throw Error($"the node has {node.Outputs.Count} outputs; a network's operators have one.");

        // The node's first input must be the chain's current value; the others (if any) constants.
        if (node.Inputs.Count == 0 || node.Inputs[0] != Current)
        {
            // Binary operators may take their operands in either order (Add(bias, x), Mul(scale, x)).
            bool swapped = node.Inputs.Count == 2 && node.Inputs[1] == Current && node.OpType is "Add" or "Mul";
            if (!swapped)
                throw Error($"its input{(node.Inputs.Count == 1 ? "" : "s")} ({string.Join(", ", node.Inputs.Select(i => $"'{i}'"))}) do not start with '{Current}', the value the node before it writes: the graph is not a chain of layers.");
            (node.Inputs[0], node.Inputs[1]) = (node.Inputs[1], node.Inputs[0]);
        }

        if (!Handlers.TryGetValue(node.OpType, out Func<OnnxChain, int>? handler))
            throw Error($"operator {node.OpType} is not supported; import takes dense networks (Gemm, MatMul+Add, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, LayerNormalization, Identity, Flatten, Dropout, and Sub/Mul/Div/Add standardisation), int8 layers as quantize_dynamic writes them (DynamicQuantizeLinear, MatMulInteger, Cast, Mul, Mul, Add), and QDQ graphs (DequantizeLinear of constant weights and biases, QuantizeLinear → DequantizeLinear pairs on activations).");
        int read = handler(this);
        if (read == 1)
            Current = node.Outputs[0];
        return read;
    }

    // ---- the handlers -------------------------------------------------------------------------------------------------

    private int Gemm()
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
        if (b.Dequantized is not null)
            Int8Weights(b, unitsFirst: transB == 1);
        if (node.Inputs.Count == 3 && node.Inputs[2].Length > 0)
            Layers[^1].Biases = Bias(Constant(2, "bias"), units);
        return 1;
    }

    private int MatMul()
    {
        Arity(2, 2);
        Attributes();
        OnnxTensor b = Constant(1, "weight");
        var (rows, cols) = Matrix(b, "weight");
        AddLayer(Transposed(b, rows, cols), cols, rows);
        if (b.Dequantized is not null)
            Int8Weights(b, unitsFirst: false);
        Layers[^1].AwaitsBias = true;
        return 1;
    }

    /// <summary>The layer just added becomes an int8 one: its weights were dequantized from int8 codes (QDQ), which it
    /// keeps with their scales (<see cref="OnnxQdq.Int8Weights"/>).</summary>
    private void Int8Weights(OnnxTensor weights, bool unitsFirst)
    {
        Layer layer = Layers[^1];
        OnnxQuantization q = weights.Dequantized!;
        var (codes, scales) = OnnxQdq.Int8Weights(q, $"its weights '{weights.Name}' (dequantized by {q.Node})", unitsFirst, layer.Units, layer.Inputs, Error);
        Layers[^1] = new Layer { Units = layer.Units, Inputs = layer.Inputs, Weights = layer.Weights, Biases = layer.Biases, Codes = codes, Scales = scales };
    }

    /// <summary>
    /// An activation's QuantizeLinear → DequantizeLinear pair (QDQ), with one scale (and zero point) for the whole tensor,
    /// the same initializers in both nodes. The int8 layers here quantize each row by its own range when they run, so the
    /// pair is read as that: the chain goes on from the DequantizeLinear's output as if the value passed unchanged (see
    /// <see cref="OnnxQdq"/>).
    /// </summary>
    private int QuantizePair()
    {
        Arity(2, 3);
        Attributes("axis", "saturate");
        OnnxTensor scale = Constant(1, "scale");
        if (scale.Count != 1 || scale.Dims.Length > 1 || !(scale[0] > 0))
            throw Error($"its scale '{scale.Name}' has dims [{string.Join(", ", scale.Dims)}] and holds {(scale.Count == 1 ? scale[0].ToString(CultureInfo.InvariantCulture) : $"{scale.Count} values")}; an activation is quantized with one positive scale.");
        string zero = node.Inputs.Count == 3 ? node.Inputs[2] : "";
        if (zero.Length > 0 && (!graph.Initializers.TryGetValue(zero, out OnnxTensor? z) || z.DataType is not (OnnxFields.DataTypeUInt8 or OnnxFields.DataTypeInt8) || z.Integers is not [_]))
            throw Error($"its zero point '{zero}' must be a uint8 or int8 initializer of one value.");
        OnnxNode? dequantize = Next("DequantizeLinear", n => n.Inputs.Count == node.Inputs.Count && n.Inputs[0] == node.Outputs[0]
            && n.Inputs[1] == node.Inputs[1] && (zero.Length == 0 || n.Inputs[2] == zero) && n.Attributes.All(a => a.Name == "axis"));
        if (dequantize is null)
            throw Error($"a QuantizeLinear of an activation must be followed by the DequantizeLinear of its output '{node.Outputs[0]}' with the same scale and zero point (the QDQ form); nothing else may use the int8 value.");
        if (dequantize.Outputs.Count != 1)
            throw ModelFormatError.Create(name, dequantize.Offset, dequantize.Describe(index + 1), "the node must have one output.");
        if (nodes.Skip(index + 2).Any(n => n.Inputs.Contains(node.Outputs[0])))
            throw Error($"its output '{node.Outputs[0]}' is read by a node other than the DequantizeLinear after it: the graph is not a chain of layers.");
        Current = dequantize.Outputs[0];
        return 2;
    }

    /// <summary>DynamicQuantizeLinear and the four nodes after it (<see cref="OnnxImporter.Int8MatMul"/>).</summary>
    private int Int8MatMul()
    {
        Arity(1, 1);
        Attributes();
        Layer layer = OnnxImporter.Int8MatMul(graph, nodes, index, name);
        AddLayer(layer.Weights, layer.Units, layer.Inputs);
        Layers[^1] = layer;
        Current = nodes[index + 4].Outputs[0];
        return 5;
    }

    private int Add()
    {
        Arity(2, 2);
        Attributes();
        if (Last is { AwaitsBias: true } last)
        {
            last.Biases = Bias(Constant(1, "bias"), last.Units);
            last.AwaitsBias = false;
            return 1;
        }
        if (Last is null || TargetMean is not null)
            throw Error("Add is supported only as a MatMul's bias or, once, at the end as the target de-standardisation (after Div).");
        Last.Activation ??= FastBackprop.Activation.Identity;
        TargetMean = Vector(Constant(1, "target mean"));
        return 1;
    }

    private int Sub()
    {
        Arity(2, 2);
        Attributes();
        if (Layers.Count > 0 || InputMean is not null || InputScale is not null)
            throw Error("Sub is supported only once, before the first layer, as the input standardisation's mean.");
        InputMean = Vector(Constant(1, "mean"));
        return 1;
    }

    /// <summary>Before the first layer, the input standardisation's scale (Mul) or standard deviation (Div); after the last,
    /// Div is the target de-standardisation's scale. (SiLU's Mul is read with its Sigmoid.)</summary>
    private int MulOrDiv()
    {
        if (Layers.Count == 0)
        {
            Arity(2, 2);
            Attributes();
            if (InputScale is not null)
                throw Error($"{node.OpType} is supported only once before the first layer, as the input standardisation's scale.");
            double[] v = Vector(Constant(1, node.OpType == "Mul" ? "scale" : "standard deviation"));
            // x / s = x·(1/s) up to the last bit: a Div scaling imports as the model's multiplier 1/s.
            InputScale = node.OpType == "Mul" ? v : v.Select(s => 1 / s).ToArray();
            return 1;
        }
        if (node.OpType == "Mul")
            throw Error("Mul is supported only before the first layer (the input standardisation's scale) or as SiLU's z·Sigmoid(z).");
        Arity(2, 2);
        Attributes();
        if (TailStarted)
            throw Error("Div is supported only once after the last layer, as the target de-standardisation's scale.");
        Last!.Activation ??= FastBackprop.Activation.Identity;
        if (Last.Activation.Value.Kind == ActivationKind.Softmax)
            throw Error("Div after a Softmax: a target standardisation belongs to a regression model.");
        TargetScale = Vector(Constant(1, "target scale"));
        return 1;
    }

    /// <summary>An activation (<see cref="ActivationRegistry"/>): the longest operator pattern that starts with this node and
    /// that the next nodes complete (Relu then Sign is step, Sigmoid then Mul(z, ·) SiLU), else the activation of this one
    /// operator, with its attributes (LeakyRelu's slope, Softmax's axis).</summary>
    private int ActivationOperators()
    {
        Arity(1, 1);
        string op = node.OpType;
        Attributes(op switch { "LeakyRelu" => ["alpha"], "Softmax" => ["axis"], _ => [] });
        ActivationInfo? single = null;
        foreach (ActivationInfo info in ActivationRegistry.All)
        {
            string[] ops = info.OnnxOperators;
            if (ops.Length == 0 || ops[0] != op)
                continue;
            if (ops.Length == 1)
            {
                single = info;
                continue;
            }
            if (Next(ops[1], ops[1] == "Mul"
                    // z·σ(z), the operands in either order.
                    ? n => n.Inputs.Count == 2 && (n.Inputs[0] == Current && n.Inputs[1] == node.Outputs[0] || n.Inputs[1] == Current && n.Inputs[0] == node.Outputs[0])
                    : n => n.Inputs.Count == 1 && n.Inputs[0] == node.Outputs[0] && n.Attributes.Count == 0) is { } next)
                return Pair(next, FastBackprop.Activation.FromKind(info.Kind));
        }
        SetActivation(single!.Kind switch
        {
            ActivationKind.LeakyReLU => LeakySlope(),
            ActivationKind.Softmax => SoftmaxOnLastAxis(),
            ActivationKind kind => FastBackprop.Activation.FromKind(kind),
        });
        return 1;
    }

    private Activation LeakySlope()
    {
        double slope = ShortestDouble(FloatAttribute("alpha", 0.01f));
        if (!(slope > 0 && slope <= Activation.MaxLeakySlope))
            throw Error($"alpha = {slope} is outside (0, {Activation.MaxLeakySlope}], the slopes the library's leaky ReLU takes.");
        return FastBackprop.Activation.LeakyReLU(slope);
    }

    private Activation SoftmaxOnLastAxis()
    {
        // Before opset 13 the default axis is 1; on [batch, features] 1 and −1 are both the last axis.
        long axis = IntAttribute("axis", opset < 13 ? 1 : -1);
        if (axis is not (1 or -1))
            throw Error($"axis = {axis}: only the last axis of a [batch, features] tensor (1 or -1) is supported.");
        return FastBackprop.Activation.Softmax;
    }

    /// <summary>The node after this one, if it is <paramref name="op"/> of the default domain and <paramref name="wired"/>
    /// to it as a two-node activation pattern needs.</summary>
    private OnnxNode? Next(string op, Func<OnnxNode, bool> wired)
        => index + 1 < nodes.Count && nodes[index + 1] is { Domain: "" or "ai.onnx" } next && next.OpType == op && wired(next) ? next : null;

    /// <summary>Sets the activation of a two-node pattern ending in <paramref name="second"/>; the chain goes on from its output.</summary>
    private int Pair(OnnxNode second, Activation activation)
    {
        SetActivation(activation);
        Current = second.Outputs.Count == 1 ? second.Outputs[0]
            : throw ModelFormatError.Create(name, second.Offset, second.Describe(index + 1), "the node must have one output.");
        return 2;
    }

    /// <summary>Appends a layer of a width-keeping kind (its spec, one value per feature in each of its two tensors),
    /// after the dense layer before it, which then has no activation to come; refused after the output de-standardisation
    /// or a Softmax.</summary>
    internal void AddKeptLayer(LayerSpec spec, double[] weights, double[] biases)
    {
        if (TailStarted)
            throw Error($"a {node.OpType} follows the output de-standardisation (Div/Add), which must come last.");
        if (Last is { Activation.Kind: ActivationKind.Softmax })
            throw Error($"a {node.OpType} follows a Softmax, which is supported on the last layer only.");
        if (Last is { } last)
        {
            last.Activation ??= FastBackprop.Activation.Identity;
            last.AwaitsBias = false;
        }
        Layers.Add(new Layer { Units = weights.Length, Inputs = weights.Length, Weights = weights, Biases = biases,
            Activation = FastBackprop.Activation.Identity, Kept = spec });
    }

    /// <summary>Whether the node has input <paramref name="at"/> (present and named).</summary>
    internal bool HasInput(int at) => at < node.Inputs.Count && node.Inputs[at].Length > 0;

    /// <summary>How many features the next layer takes: the last layer's units, or null before the first.</summary>
    internal int? Width => Last?.Units;

    private int PassThrough()
    {
        Arity(1, 1);
        Attributes();
        return 1;
    }

    /// <summary>Inference: the identity. A training_mode input (opset 12+) would be a bool constant; refused rather than
    /// guessed at.</summary>
    private int Dropout()
    {
        Arity(1, 2);
        Attributes("ratio", "is_test", "seed");
        return 1;
    }

    private int Flatten()
    {
        Arity(1, 1);
        Attributes("axis");
        long axis = IntAttribute("axis", 1);
        if (axis != 1)
            throw Error($"axis = {axis}: only axis 1 (keep the batch dimension, flatten the rest) is supported.");
        if (Layers.Count == 0)
            Flattened = true;
        return 1;
    }

    // ---- what the handlers share --------------------------------------------------------------------------------------

    internal InvalidDataException Error(string problem) => ModelFormatError.Create(name, node.Offset, what, problem);

    /// <summary>Input <paramref name="at"/>, which must be a finite float initializer.</summary>
    internal OnnxTensor Constant(int at, string role)
    {
        if (at >= node.Inputs.Count || node.Inputs[at].Length == 0)
            throw Error($"the {role} input is missing.");
        string id = node.Inputs[at];
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

    internal void Arity(int min, int max)
    {
        if (node.Inputs.Count < min || node.Inputs.Count > max)
            throw Error($"it has {node.Inputs.Count} inputs; {(min == max ? $"{min}" : $"{min} to {max}")} expected.");
    }

    internal void Attributes(params string[] allowed)
    {
        foreach (OnnxAttribute a in node.Attributes)
        {
            if (Array.IndexOf(allowed, a.Name) < 0)
                throw Error($"attribute '{a.Name}' is not supported on {node.OpType}{(allowed.Length == 0 ? "" : $" (only {string.Join(", ", allowed)})")}.");
        }
    }

    internal long IntAttribute(string attribute, long fallback) => node.Attributes.FirstOrDefault(a => a.Name == attribute) is { } a
        ? a.Type is OnnxFields.AttributeTypeInt or 0 ? a.I : throw Error($"attribute '{attribute}' is not an integer.")
        : fallback;

    internal float FloatAttribute(string attribute, float fallback) => node.Attributes.FirstOrDefault(a => a.Name == attribute) is { } a
        ? a.Type is OnnxFields.AttributeTypeFloat or 0 ? a.F : throw Error($"attribute '{attribute}' is not a float.")
        : fallback;

    /// <summary>Per-feature vectors (standardisation): as many values as features, or one broadcast to all. The feature
    /// count is checked when the network is built.</summary>
    internal static double[] Vector(OnnxTensor t) => Enumerable.Range(0, t.Count).Select(i => t[i]).ToArray();

    private void SetActivation(Activation activation)
    {
        if (Last is not { } last || last.Activation is not null || TailStarted)
            throw Error($"{node.OpType} does not follow a Gemm or MatMul: an activation must come right after a dense layer (one per layer).");
        last.Activation = activation;
        last.AwaitsBias = false;
    }

    private void AddLayer(double[] weights, int units, int inputsOfLayer)
    {
        if (TailStarted)
            throw Error("a dense layer follows the output de-standardisation (Div/Add), which must come last.");
        if (Last is { Activation.Kind: ActivationKind.Softmax })
            throw Error("a dense layer follows a Softmax, which is supported on the last layer only.");
        int expected = Last?.Units ?? -1;
        if (expected >= 0 && inputsOfLayer != expected)
            throw Error($"its weights take {inputsOfLayer} inputs but the layer before it has {expected} units.");
        if (Last is { } last)
            last.Activation ??= FastBackprop.Activation.Identity;
        Layers.Add(new Layer { Units = units, Inputs = inputsOfLayer, Weights = weights, Biases = new double[units] });
    }

    private (int Rows, int Cols) Matrix(OnnxTensor t, string role)
    {
        if (t.Dims.Length != 2 || t.Dims[0] is < 1 or > int.MaxValue || t.Dims[1] is < 1 or > int.MaxValue)
            throw Error($"its {role} '{t.Name}' has dims [{string.Join(", ", t.Dims)}]; a weight matrix of two positive dimensions is needed.");
        return ((int)t.Dims[0], (int)t.Dims[1]);
    }

    /// <summary>W (units×inputs) from a matrix stored inputs×units (transB = 0, MatMul).</summary>
    private static double[] Transposed(OnnxTensor t, int rows, int cols)
    {
        var w = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                w[c * rows + r] = t[r * cols + c];
        return w;
    }

    internal double[] Bias(OnnxTensor t, int units)
    {
        if (t.Count != units && t.Count != 1 || t.Dims.Length > 2 || t.Dims.Length == 2 && t.Dims[0] != 1)
            throw Error($"its bias '{t.Name}' has dims [{string.Join(", ", t.Dims)}]; [{units}] (or [1, {units}], or one value) is needed.");
        return Enumerable.Range(0, units).Select(i => t[t.Count == 1 ? 0 : i]).ToArray();
    }

    /// <summary>ONNX stores float attributes; the shortest decimal that rounds to one gives back the double a user typed (0.01f
    /// reads as 0.01, not 0.009999999776), so a model file holds the same value.</summary>
    internal static double ShortestDouble(float value) => double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
