using System.Numerics;
using FastBackprop.Onnx;

namespace FastBackprop;

/// <summary>What a layer of a network does. Each value is registered with its <see cref="LayerType"/> in
/// <see cref="LayerType.Of"/>, below.</summary>
public enum LayerKind : byte
{
    /// <summary>A dense (fully connected) layer: <c>A = g(X·Wᵀ + b)</c>, with weights, biases and an activation.</summary>
    Dense,
    /// <summary>Inverted dropout: in training each value is kept with probability 1 − rate and scaled by 1 / (1 − rate),
    /// else zeroed; in inference the layer passes its input through. No parameters; as wide as the layer before it.</summary>
    Dropout,
    /// <summary>Layer normalisation (Ba et al. 2016, as PyTorch's <c>nn.LayerNorm</c> over the features): each row is
    /// shifted to mean 0 and scaled to variance 1 (ε added to the variance), then multiplied by a learnable γ and shifted by a
    /// learnable β, one of each per feature. As wide as the layer before it.</summary>
    LayerNorm,
}

/// <summary>
/// What a layer kind is, stated once: which specs it accepts and how wide it is, the parameters it owns in the network's
/// one buffer, how they start, the layer that runs it, the value its model-file record carries and its ONNX mapping both
/// ways. <see cref="Network{T}"/>, <see cref="ParameterLayout"/>, the inference workspace, the int8 path, the model file and
/// the ONNX exporter and importer, the command line's description of a model and the fuzzer ask the kind through
/// <see cref="Of"/> rather than restating it. A new kind is one file — its layer, its type and its part of
/// <see cref="LayerSpec"/> (factory and setting) — plus its registration here: its <see cref="LayerKind"/> value and its
/// line in <see cref="Of"/>; and, if users should reach it from the command line, an option there.
/// </summary>
internal abstract class LayerType
{
    /// <summary>The registration: one line per kind.</summary>
    public static LayerType? Of(LayerKind kind) => kind switch
    {
        LayerKind.Dense => DenseLayerType.Instance,
        LayerKind.Dropout => DropoutLayerType.Instance,
        LayerKind.LayerNorm => LayerNormLayerType.Instance,
        _ => null,
    };

    /// <summary>Every kind, in the order of their codes.</summary>
    public static IEnumerable<LayerType> All => Enum.GetValues<LayerKind>().Select(kind => Of(kind)!);

    public abstract LayerKind Kind { get; }

    /// <summary>The kind's name in messages ("dense", "dropout", "layer-norm").</summary>
    public abstract string Name { get; }

    /// <summary>The model-file version that introduced the kind's records.</summary>
    public abstract uint FileVersion { get; }

    /// <summary>The spec as <see cref="LayerSpec.ToString"/> writes it: <c>Dropout(0.2)</c>.</summary>
    public virtual string Describe(LayerSpec spec)
        => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{spec.Kind}({RecordValue(spec)})");

    /// <summary>One line on a layer of a model for people (the command line's <c>info</c>), after "layer N: ".</summary>
    public abstract string Summary(LayerSpec spec, int inputs, bool quantized);

    /// <summary>What <see cref="RecordValue"/> is, in messages ("dropout rate").</summary>
    public virtual string ValueName => "alpha";

    /// <summary>The range <see cref="RecordValue"/> must lie in, as messages write it ("(0, 0.99]").</summary>
    public virtual string ValueRange => "";

    /// <summary>Whether <paramref name="value"/> is a valid <see cref="RecordValue"/> for a width-keeping kind.</summary>
    public virtual bool ValueInRange(double value) => true;

    /// <summary>Whether the kind is as wide as its input (no units of its own, no activation, never the last layer).</summary>
    public virtual bool KeepsWidth => true;

    /// <summary>Whether the layer writes an output at inference (false: it passes its input on, as dropout does).</summary>
    public virtual bool WritesAtInference => true;

    /// <summary>The spec as the network states it (its actual width) for layer <paramref name="index"/> of
    /// <paramref name="count"/>, taking <paramref name="inputs"/> values per row; or throws naming <paramref name="argument"/>.</summary>
    public LayerSpec Resolve(LayerSpec spec, int index, int count, int inputs, string argument)
    {
        if (KeepsWidth && index == count - 1)
            throw new ArgumentException($"The last layer must be dense (it feeds the loss), but layer {index} is {spec}.", argument);
        if (KeepsWidth && !ValueInRange(RecordValue(spec)))
            throw new ArgumentOutOfRangeException(argument, RecordValue(spec), $"Layer {index}'s {ValueName} must be in {ValueRange}.");
        if (!KeepsWidth)
            return ResolveOwnWidth(spec, index, count, argument);
        if (spec.Activation.Kind != ActivationKind.Identity)
            throw new ArgumentException($"Layer {index} is {spec}, which has no activation, but the spec sets {spec.Activation}.", argument);
        return FromRecordValue(RecordValue(spec)) with { Units = inputs };
    }

    /// <summary>A kind with a width of its own checks its spec here.</summary>
    protected virtual LayerSpec ResolveOwnWidth(LayerSpec spec, int index, int count, string argument) => spec;

    /// <summary>The named, shaped parameter tensors of a layer of <paramref name="units"/> taking <paramref name="inputs"/>,
    /// in the order they lie in the network's buffer: at most two, the first read as the layer's weights, the second as its
    /// biases (<see cref="Network{T}.Weights"/>, <see cref="Network{T}.Biases"/>, the model file's order).</summary>
    public abstract TensorShape[] ParameterTensors(long inputs, long units);

    /// <summary>How many values the layer's first and second tensors hold (0 where it has fewer).</summary>
    public (long Weights, long Biases) ParameterShape(long inputs, long units)
    {
        TensorShape[] tensors = ParameterTensors(inputs, units);
        return (tensors.Length > 0 ? tensors[0].Length : 0, tensors.Length > 1 ? tensors[1].Length : 0);
    }

    /// <summary>Sets a new layer's parameters; draws from <paramref name="random"/> only if the kind needs random values (so
    /// adding a kind that draws nothing leaves every other layer's initial values as they were).</summary>
    public abstract void Initialize<T>(LayerSpec spec, int inputs, Span<T> weights, Span<T> biases, Random random)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>;

    /// <summary>The layer that runs a resolved spec.</summary>
    public abstract NetworkLayer<T> Create<T>(LayerSpec spec, int index, int inputs, Memory<T> weights, Memory<T> biases, bool isOutput)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>;

    /// <summary>The number a model-file layer record carries after its kind (dense: the leaky-ReLU slope, dropout: the rate,
    /// layer normalisation: ε): a width-keeping kind's one setting.</summary>
    public virtual double RecordValue(LayerSpec spec) => spec.Value;

    /// <summary>Writes the layer's ONNX nodes and initializers for inference (nothing: the layer passes its input through, as
    /// dropout does). Dense layers, with their activations and int8 forms, are written by the exporter itself.</summary>
    public virtual void ExportOnnx<T>(OnnxGraphWriter<T> onnx, LayerSpec spec, int index, ReadOnlySpan<T> weights, ReadOnlySpan<T> biases)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
    }

    /// <summary>The ONNX operator the kind imports from (its handler is <see cref="ImportOnnx"/>), or null.</summary>
    public virtual string? OnnxOperator => null;

    /// <summary>Reads the chain's current node, an <see cref="OnnxOperator"/>, into a layer of this kind, or refuses it.</summary>
    public virtual void ImportOnnx(OnnxChain chain) => throw new NotSupportedException($"{Kind} layers are not imported from ONNX.");

    /// <summary>A width-keeping kind's spec from its record's value (checked with <see cref="ValueInRange"/> by the reader).</summary>
    public virtual LayerSpec FromRecordValue(double value) => throw new NotSupportedException($"{Kind} records carry their own units.");
}
