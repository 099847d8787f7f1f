using System.Numerics;

namespace FastBackprop;

/// <summary>What one training (or evaluation) pass keeps per layer, for batches up to <see cref="Capacity"/>: each
/// layer's output, its gradient buffer (Δ for a dense layer: ∂C/∂Z; for dropout: ∂C/∂ of its input), dropout masks, the
/// output layer's logits, and the scratch of the fused bias gradients. Allocated once per network and grown on demand.</summary>
internal sealed class TrainingWorkspace<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[][] outputs;
    private readonly T[][] deltas;
    private readonly T[]?[] masks;
    private readonly T[]?[] preActivations;
    private readonly T[] logits;
    private readonly T[] partialSums;
    private readonly T[] biasGradient;

    /// <param name="layout">The network's shape.</param>
    /// <param name="capacity">The most rows per batch.</param>
    /// <param name="keepsPreActivation">Per layer, whether training keeps its Z (an activation whose derivative is written
    /// from z, such as SiLU).</param>
    public TrainingWorkspace(ParameterLayout layout, int capacity, bool[] keepsPreActivation)
    {
        int[] sizes = layout.Sizes;
        Capacity = capacity;
        int layerCount = sizes.Length - 1;
        outputs = new T[layerCount][];
        deltas = new T[layerCount][];
        masks = new T[layerCount][];
        preActivations = new T[layerCount][];
        for (int l = 0; l < layerCount; l++)
        {
            outputs[l] = new T[checked(capacity * sizes[l + 1])];
            deltas[l] = new T[checked(capacity * sizes[l + 1])];
            if (!layout.HasParameters(l))
                masks[l] = new T[checked(capacity * sizes[l + 1])];
            if (keepsPreActivation[l])
                preActivations[l] = new T[checked(capacity * sizes[l + 1])];
        }
        logits = new T[checked(capacity * sizes[^1])];
        // Row groups of a fused bias gradient: one when batch ≤ 2, otherwise at least 6 rows each.
        partialSums = new T[checked((capacity / 6 + 2) * sizes.Max())];
        biasGradient = new T[sizes.Max()];
    }

    public int Capacity { get; }

    /// <summary>Layer <paramref name="layer"/>'s output for <paramref name="batch"/> rows of <paramref name="units"/>.</summary>
    public Span<T> Output(int layer, int units, int batch) => outputs[layer].AsSpan(0, units * batch);

    public Span<T> Delta(int layer, int units, int batch) => deltas[layer].AsSpan(0, units * batch);

    /// <summary>A dropout layer's scaled mask (0 or 1/(1 − rate) per value).</summary>
    public Span<T> Mask(int layer, int units, int batch) => masks[layer]!.AsSpan(0, units * batch);

    /// <summary>A hidden layer's Z, kept when its derivative needs it.</summary>
    public Span<T> PreActivation(int layer, int units, int batch) => preActivations[layer]!.AsSpan(0, units * batch);

    public Span<T> Logits(int units, int batch) => logits.AsSpan(0, units * batch);

    public Span<T> PartialSums(int length) => partialSums.AsSpan(0, length);

    /// <summary>One layer's bias gradient in the fused training step (used, then the next layer's).</summary>
    public Span<T> BiasGradient(int units) => biasGradient.AsSpan(0, units);
}
