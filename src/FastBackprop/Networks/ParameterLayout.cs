namespace FastBackprop;

/// <summary>
/// Where each layer's weights and biases live in one contiguous parameter buffer: a dense layer l's W_l (units×inputs,
/// row-major) followed by b_l; a layer without parameters (dropout) takes no room. Gradients use the same layout, so an
/// update is one vectorised sweep over the whole buffer.
/// </summary>
internal sealed class ParameterLayout
{
    private readonly int[] weightOffsets;
    private readonly int[] biasOffsets;
    private readonly bool[] dense;

    /// <param name="sizes">sizes[0] is the input width, sizes[l + 1] the width of layer l's output.</param>
    /// <param name="hasParameters">Per layer, whether it is dense (null: every layer is).</param>
    public ParameterLayout(int[] sizes, bool[]? hasParameters = null)
    {
        Sizes = sizes;
        int layers = sizes.Length - 1;
        dense = hasParameters ?? Enumerable.Repeat(true, layers).ToArray();
        weightOffsets = new int[layers];
        biasOffsets = new int[layers];
        long offset = 0;
        for (int l = 0; l < layers; l++)
        {
            long weights = dense[l] ? (long)sizes[l + 1] * sizes[l] : 0;
            long biases = dense[l] ? sizes[l + 1] : 0;
            if (offset + weights + biases > Array.MaxLength)
                throw new ArgumentOutOfRangeException(nameof(sizes),
                    $"A [{string.Join('-', sizes)}] network has {Total(sizes, dense):N0} parameters, more than one array can hold ({Array.MaxLength:N0}); layer {l} alone has {weights + biases:N0}.");
            weightOffsets[l] = (int)offset;
            offset += weights;
            biasOffsets[l] = (int)offset;
            offset += biases;
        }
        Count = (int)offset;
    }

    /// <summary>Σ (inputs_l + 1)·units_l over the dense layers, exactly (no overflow for any int sizes).</summary>
    public static long Total(ReadOnlySpan<int> sizes, ReadOnlySpan<bool> hasParameters = default)
    {
        long total = 0;
        for (int l = 0; l < sizes.Length - 1; l++)
        {
            if (hasParameters.IsEmpty || hasParameters[l])
                total += ((long)sizes[l] + 1) * sizes[l + 1];
        }
        return total;
    }

    /// <summary>sizes[0] is the input width, sizes[l + 1] the output width of layer l (0-based).</summary>
    public int[] Sizes { get; }

    public int Count { get; }

    public int LayerCount => Sizes.Length - 1;

    /// <summary>Whether layer <paramref name="layer"/> has weights and biases.</summary>
    public bool HasParameters(int layer) => dense[layer];

    public (int Offset, int Length) Weights(int layer) => (weightOffsets[layer], dense[layer] ? Sizes[layer + 1] * Sizes[layer] : 0);

    public (int Offset, int Length) Biases(int layer) => (biasOffsets[layer], dense[layer] ? Sizes[layer + 1] : 0);

    public bool SameShape(ParameterLayout other) => ReferenceEquals(this, other)
        || Sizes.AsSpan().SequenceEqual(other.Sizes) && dense.AsSpan().SequenceEqual(other.dense);
}
