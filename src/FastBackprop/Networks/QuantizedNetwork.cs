using System.Runtime.InteropServices;
using FastBackprop.Kernels.Gemm;
using FastBackprop.Kernels.Int8;
using FastBackprop.Primitives;

namespace FastBackprop;

/// <summary>
/// A network for serving at int8 (<c>network.Quantize()</c>): each dense layer's weights as int8 codes per output channel,
/// each sample's activations quantized per row at run time, products accumulated exactly in int32 and finished in one
/// epilogue (dequantisation, bias, activation, and the next layer's quantization). The scheme cannot saturate on any
/// instruction set, and with every layer at int8 (the default) a prediction has the same bits whatever the instruction
/// set, the thread count or the other rows of its batch. Chosen layers may stay in fp32 (<see cref="QuantizationOptions"/>);
/// those run the fp32 kernels, whose sums still depend on the register width and the batch. Dropout is the identity.
/// Immutable: any number of threads may predict at once, each with its own workspace.
/// </summary>
public sealed class QuantizedNetwork
{
    private readonly LayerSpec[] layers;

    internal QuantizedNetwork(Network<float> source, QuantizationOptions? options)
    {
        options ??= new QuantizationOptions();
        InputSize = source.InputSize;
        layers = new LayerSpec[source.LayerCount];
        var keep = new HashSet<int>(options.FloatLayers);
        foreach (int index in keep)
        {
            if (index < 0 || index >= source.LayerCount)
                throw new ArgumentOutOfRangeException(nameof(options), index,
                    $"FloatLayers names layer {index}, outside the network's layers 0…{source.LayerCount - 1}.");
            if (source.Layer(index).Kind != LayerKind.Dense)
                throw new ArgumentOutOfRangeException(nameof(options), index,
                    $"FloatLayers names layer {index}, which is {source.Layer(index)}: only dense layers have weights to keep in fp32.");
        }
        if (options.KeepOutputLayerInFloat)
            keep.Add(source.LayerCount - 1);
        var stages = new List<Stage>();
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = source.Layer(l);
            if (layers[l].Kind != LayerKind.Dense)
            {
                // Every other kind runs in fp32, as in the network (dropout, the identity at inference, not at all).
                LayerType type = LayerType.Of(layers[l].Kind)!;
                if (type.WritesAtInference)
                    stages.Add(new Stage(l, layers[l].Units, layers[l].Units, null,
                        new FloatLayer(type, layers[l], l, source.Weights(l).ToArray(), source.Biases(l).ToArray())));
                continue;
            }
            int inputs = source.LayerInputs(l), units = layers[l].Units;
            stages.Add(keep.Contains(l)
                ? new Stage(l, inputs, units, null, new FloatDense(source.Weights(l).ToArray(), source.Biases(l).ToArray(), inputs, units, layers[l].Activation))
                : new Stage(l, inputs, units, new QuantizedDenseLayer(source.Weights(l), source.Biases(l), inputs, units, layers[l].Activation), null));
        }
        Stages = Linked(stages);
        OutputSize = Stages[^1].Units;
    }

    /// <summary>A network from its parts, as a model file holds them: the layers and, for each dense one in order, its int8 or
    /// fp32 form (checked by the reader).</summary>
    internal QuantizedNetwork(int inputSize, LayerSpec[] layers, List<Stage> stages)
    {
        InputSize = inputSize;
        this.layers = layers;
        Stages = Linked(stages);
        OutputSize = Stages[^1].Units;
    }

    /// <summary>The stages with <see cref="Stage.WritesFloats"/> set: a stage writes floats when it or the next runs in fp32.</summary>
    private static Stage[] Linked(List<Stage> stages)
    {
        for (int s = 0; s + 1 < stages.Count; s++)
            stages[s] = stages[s] with { WritesFloats = stages[s].Float is not null || stages[s + 1].Float is not null };
        return [.. stages];
    }

    /// <summary>An fp32 network with the weights the int8 layers stand for, s_j·q_jk (fp32 layers as they are): what
    /// <see cref="Model{T}.Network"/> holds for a quantized model, for its shape, its checks and fp32 tools. Its predictions
    /// are close to this network's, not the same.</summary>
    internal Network<float> Dequantize()
    {
        var network = new Network<float>(InputSize, layers, seed: 0);
        foreach (Stage stage in Stages)
        {
            if (stage.Float is FloatStage floats)
            {
                network.SetWeights(stage.Index, floats.Weights);
                network.SetBiases(stage.Index, floats.Biases);
                continue;
            }
            QuantizedDenseLayer layer = stage.Quantized!;
            Span<float> weights = network.Weights(stage.Index);
            for (int k = 0; k < weights.Length; k++)
                weights[k] = layer.Scales[k / layer.Inputs] * layer.Codes[k];
            network.SetBiases(stage.Index, layer.Biases);
        }
        return network;
    }

    /// <summary>Features per sample.</summary>
    public int InputSize { get; }

    /// <summary>Outputs per sample.</summary>
    public int OutputSize { get; }

    /// <summary>Number of layers (dense and dropout), as in the network it was made from.</summary>
    public int LayerCount => layers.Length;

    /// <summary>Layer <paramref name="index"/>'s units and activation.</summary>
    public LayerSpec Layer(int index)
    {
        CheckLayer(index);
        return layers[index];
    }

    /// <summary>Whether layer <paramref name="index"/> runs at int8 (false for layers kept in fp32, dropout and layer
    /// normalisation).</summary>
    public bool IsQuantized(int index)
    {
        CheckLayer(index);
        return Array.Exists(Stages, s => s.Index == index && s.Quantized is not null);
    }

    /// <summary>The layers that compute, in order: dense layers (int8 or fp32) and layer normalisations (fp32).</summary>
    internal Stage[] Stages { get; }

    /// <summary>A layer as it runs: <see cref="Quantized"/> or <see cref="Float"/>, and whether it writes floats into
    /// the workspace (an fp32 layer, or an int8 one before an fp32 one) rather than codes or the caller's outputs.</summary>
    internal readonly record struct Stage(int Index, int Inputs, int Units, QuantizedDenseLayer? Quantized, FloatStage? Float)
    {
        public bool WritesFloats { get; init; }
    }

    /// <summary>A layer that runs in fp32, with its two parameter tensors as the network holds them.</summary>
    internal abstract class FloatStage
    {
        public abstract ReadOnlySpan<float> Weights { get; }

        public abstract ReadOnlySpan<float> Biases { get; }

        public abstract void Forward(ReadOnlySpan<float> input, Span<float> output, int batch);
    }

    /// <summary>A dense layer kept in fp32, its Wᵀ packed once as a <see cref="FrozenNetwork{T}"/> packs it.</summary>
    internal sealed class FloatDense(float[] weights, float[] biases, int inputs, int units, Activation activation) : FloatStage
    {
        private readonly PackedOperand<float>? packed = PackedOperand<float>.ForLayer(weights, units, inputs);

        /// <summary>W, units×inputs row-major.</summary>
        public override ReadOnlySpan<float> Weights => weights;

        public override ReadOnlySpan<float> Biases => biases;

        public override void Forward(ReadOnlySpan<float> input, Span<float> output, int batch)
            => DenseLayerKernels.ForwardUnchecked(output, activation.Kind == ActivationKind.Softmax ? output : default, input,
                weights, biases, batch, inputs, units, activation, packed);
    }

    /// <summary>A layer of a width-keeping kind with an output (a layer normalisation), run as the fp32 network runs it (its
    /// row statistics are what int8 would blur) over its own copy of its parameters.</summary>
    internal sealed class FloatLayer(LayerType type, LayerSpec spec, int index, float[] weights, float[] biases) : FloatStage
    {
        private readonly NetworkLayer<float> layer = type.Create<float>(spec, index, spec.Units, weights, biases, isOutput: false);

        public override ReadOnlySpan<float> Weights => weights;

        public override ReadOnlySpan<float> Biases => biases;

        public override void Forward(ReadOnlySpan<float> input, Span<float> output, int batch) => layer.Predict(input, output, batch, true, null);
    }

    /// <summary>A workspace for <see cref="Predict"/> on batches of up to <paramref name="maxBatchSize"/> samples; give each
    /// thread that predicts its own.</summary>
    public QuantizedInferenceWorkspace CreateInferenceWorkspace(int maxBatchSize = 1)
    {
        Guard.Positive(maxBatchSize, nameof(maxBatchSize));
        return new QuantizedInferenceWorkspace(this, maxBatchSize);
    }

    /// <summary>
    /// Inference without allocating: runs <paramref name="batchSize"/> samples (rows of <paramref name="inputs"/>) and writes
    /// batchSize×OutputSize results to <paramref name="outputs"/>, using only <paramref name="workspace"/> for intermediate
    /// values. The same checks and exceptions as <see cref="FrozenNetwork{T}.Predict"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The workspace belongs to another network or is too small for the batch, the
    /// shapes disagree, or the inputs are not finite.</exception>
    public unsafe void Predict(ReadOnlySpan<float> inputs, int batchSize, Span<float> outputs, QuantizedInferenceWorkspace workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (!ReferenceEquals(workspace.Network, this))
            throw new ArgumentException("The workspace was created by another quantized network; create one with this network's CreateInferenceWorkspace.",
                nameof(workspace));
        Guard.Positive(batchSize, nameof(batchSize));
        if (batchSize > workspace.Capacity)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize,
                $"batchSize {batchSize} exceeds the workspace's capacity of {workspace.Capacity}; create one with CreateInferenceWorkspace({batchSize}).");
        Guard.Length(inputs, (long)batchSize * InputSize, nameof(inputs), $"batchSize×InputSize = {batchSize}×{InputSize}");
        Guard.Finite(inputs, nameof(inputs));
        Guard.Length<float>(outputs, (long)batchSize * OutputSize, nameof(outputs), $"batchSize×OutputSize = {batchSize}×{OutputSize}");
        fixed (float* input = &MemoryMarshal.GetReference(inputs))
        fixed (float* output = &MemoryMarshal.GetReference(outputs))
            Run(input, batchSize, output, workspace);
    }

    /// <summary>The layers in turn. An int8 layer reads codes: those its int8 predecessor's epilogue wrote, or, after the
    /// input or an fp32 layer, a row-by-row quantization of the floats. Codes and floats each alternate between the
    /// workspace's two buffers.</summary>
    private unsafe void Run(float* input, int batch, float* output, QuantizedInferenceWorkspace workspace)
    {
        float* floats = input;   // the current floats, when the last writer wrote floats
        bool haveCodes = false;
        int codeBuffer = 0, floatBuffer = 0;
        for (int s = 0; s < Stages.Length; s++)
        {
            Stage stage = Stages[s];
            bool last = s == Stages.Length - 1;
            float* floatsOut = last ? output : stage.WritesFloats ? Pin(workspace.Floats(floatBuffer)) : null;
            if (stage.Float is FloatStage dense)
            {
                dense.Forward(new ReadOnlySpan<float>(floats, batch * stage.Inputs), new Span<float>(floatsOut, batch * stage.Units), batch);
                floats = floatsOut;
                floatBuffer ^= 1;
                haveCodes = false;
                continue;
            }
            QuantizedRows codes = Rows(workspace, codeBuffer, stage.Inputs);
            if (!haveCodes)
            {
                for (int r = 0; r < batch; r++)
                    (codes.Low[r], codes.Scale[r]) = Int8Scheme.QuantizeRow(floats + (nint)r * stage.Inputs, stage.Inputs, codes.Codes + r * codes.Stride);
            }
            QuantizedRows next = last || stage.WritesFloats ? default : Rows(workspace, codeBuffer ^ 1, stage.Units);
            stage.Quantized!.Forward(codes, batch, next, floatsOut, workspace);
            haveCodes = next.Codes != null;
            codeBuffer ^= 1;
            if (floatsOut != null)
            {
                floats = floatsOut;
                floatBuffer ^= 1;
            }
        }
    }

    private static unsafe QuantizedRows Rows(QuantizedInferenceWorkspace workspace, int which, int width)
        => new(Pin(workspace.Codes(which)), Int8Scheme.PaddedDepth(width), Pin(workspace.Lows(which)), Pin(workspace.Scales(which)));

    /// <summary>The first element of a pinned workspace array (null for an empty one).</summary>
    private static unsafe T* Pin<T>(T[] pinned) where T : unmanaged
        => pinned.Length == 0 ? null : (T*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref pinned[0]);

    private void CheckLayer(int index)
    {
        if ((uint)index >= (uint)layers.Length)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Layer index {index} is outside 0…{layers.Length - 1}.");
    }
}

/// <summary><c>Quantize()</c> on fp32 networks.</summary>
public static class QuantizedNetworkExtensions
{
    /// <summary>An int8 snapshot of <paramref name="network"/> for serving (<see cref="QuantizedNetwork"/>); later changes
    /// to the network are not seen.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="QuantizationOptions.FloatLayers"/> names a layer that is not
    /// dense, or a quantized layer has more than 131,072 inputs.</exception>
    public static QuantizedNetwork Quantize(this Network<float> network, QuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        return new QuantizedNetwork(network, options);
    }

    /// <summary>An int8 snapshot of the network <paramref name="network"/> was frozen from.</summary>
    /// <exception cref="ArgumentOutOfRangeException">As for <see cref="Quantize(Network{float}, QuantizationOptions?)"/>.</exception>
    public static QuantizedNetwork Quantize(this FrozenNetwork<float> network, QuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        return new QuantizedNetwork(network.Source, options);
    }

    /// <summary>The model with its network quantized (<see cref="Model{T}.Quantized"/>) and everything else kept: the
    /// standardisations, class labels, loss and feature names. <see cref="ModelFile"/> saves it with int8 layer records.</summary>
    /// <exception cref="ArgumentException">The model is already quantized.</exception>
    /// <exception cref="ArgumentOutOfRangeException">As for <see cref="Quantize(Network{float}, QuantizationOptions?)"/>.</exception>
    public static Model<float> Quantize(this Model<float> model, QuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Quantized is not null)
            throw new ArgumentException("The model is already quantized: quantize the fp32 model it came from.", nameof(model));
        return new Model<float>(new QuantizedNetwork(model.Network, options), model.InputStandardization, model.ClassLabels, model.Loss,
            model.TargetStandardization) { FeatureNames = model.FeatureNames };
    }
}
