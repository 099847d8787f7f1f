using System.Numerics;

namespace FastBackprop;

/// <summary>What one training (or evaluation) pass keeps per layer, for batches up to <see cref="Capacity"/>: each
/// layer's output, its gradient buffer (Δ for a dense layer: ∂C/∂Z; for dropout: ∂C/∂ of its input), dropout masks, the
/// output layer's logits, and the scratch of the fused bias gradients. Allocated once per network and grown on demand;
/// each per-layer buffer is allocated when first used, so a pass that does not need it (an evaluation runs only the output
/// layer here, its hidden layers as inference does) never pays for it.</summary>
internal sealed class TrainingWorkspace<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly int[] sizes;
    private readonly T[]?[] outputs;
    private readonly T[]?[] deltas;
    private readonly T[]?[] masks;
    private readonly T[]?[] preActivations;
    private readonly T[] logits;
    private readonly T[] biasGradient;

    /// <param name="layout">The network's shape.</param>
    /// <param name="capacity">The most rows per batch.</param>
    public TrainingWorkspace(ParameterLayout layout, int capacity)
    {
        sizes = layout.Sizes;
        Capacity = capacity;
        int layerCount = sizes.Length - 1;
        outputs = new T[layerCount][];
        deltas = new T[layerCount][];
        masks = new T[layerCount][];
        preActivations = new T[layerCount][];
        logits = new T[checked(capacity * sizes[^1])];
        biasGradient = new T[sizes.Max()];
    }

    public int Capacity { get; }

    /// <summary>Layer <paramref name="layer"/>'s output for <paramref name="batch"/> rows of <paramref name="units"/>.</summary>
    public Span<T> Output(int layer, int units, int batch) => Of(outputs, layer).AsSpan(0, units * batch);

    public Span<T> Delta(int layer, int units, int batch) => Of(deltas, layer).AsSpan(0, units * batch);

    /// <summary>A dropout layer's scaled mask (0 or 1/(1 − rate) per value).</summary>
    public Span<T> Mask(int layer, int units, int batch) => Of(masks, layer).AsSpan(0, units * batch);

    /// <summary>A hidden layer's Z, kept when its derivative needs it (a layer normalisation's x̂).</summary>
    public Span<T> PreActivation(int layer, int units, int batch) => Of(preActivations, layer).AsSpan(0, units * batch);

    public Span<T> Logits(int units, int batch) => logits.AsSpan(0, units * batch);

    /// <summary>One layer's bias gradient in the fused training step (used, then the next layer's; an evaluation pass
    /// writes the output layer's here and discards it).</summary>
    public Span<T> BiasGradient(int units) => biasGradient.AsSpan(0, units);

    /// <summary>Layer <paramref name="layer"/>'s buffer of one kind (rows of its output width), allocated on first use.</summary>
    private T[] Of(T[]?[] kind, int layer) => kind[layer] ??= new T[checked(Capacity * sizes[layer + 1])];
}
