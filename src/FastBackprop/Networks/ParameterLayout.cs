namespace FastBackprop;

/// <summary>
/// Where each layer's weights and biases live in one contiguous parameter buffer: layer l's
/// W_l (units×inputs, row-major) followed by b_l. Gradients use the same layout, so an update is one
/// vectorised sweep over the whole buffer.
/// </summary>
internal sealed class ParameterLayout
{
    private readonly int[] weightOffsets;
    private readonly int[] biasOffsets;

    public ParameterLayout(int[] sizes)
    {
        Sizes = sizes;
        weightOffsets = new int[sizes.Length - 1];
        biasOffsets = new int[sizes.Length - 1];
        long offset = 0;
        for (int l = 0; l < sizes.Length - 1; l++)
        {
            long weights = (long)sizes[l + 1] * sizes[l];
            if (offset + weights + sizes[l + 1] > Array.MaxLength)
                throw new ArgumentOutOfRangeException(nameof(sizes),
                    $"A [{string.Join('-', sizes)}] network has {Total(sizes):N0} parameters, more than one array can hold ({Array.MaxLength:N0}); layer {l + 1} alone has {weights + sizes[l + 1]:N0}.");
            weightOffsets[l] = (int)offset;
            offset += weights;
            biasOffsets[l] = (int)offset;
            offset += sizes[l + 1];
        }
        Count = (int)offset;
    }

    /// <summary>Σ (inputs_l + 1)·units_l, exactly (no overflow for any int sizes).</summary>
    public static long Total(ReadOnlySpan<int> sizes)
    {
        long total = 0;
        for (int l = 0; l < sizes.Length - 1; l++)
            total += ((long)sizes[l] + 1) * sizes[l + 1];
        return total;
    }

    /// <summary>sizes[0] is the input width, sizes[l] the units of layer l (1-based).</summary>
    public int[] Sizes { get; }

    public int Count { get; }

    public int LayerCount => Sizes.Length - 1;

    public (int Offset, int Length) Weights(int layer) => (weightOffsets[layer], Sizes[layer + 1] * Sizes[layer]);

    public (int Offset, int Length) Biases(int layer) => (biasOffsets[layer], Sizes[layer + 1]);

    public bool SameShape(ParameterLayout other) => ReferenceEquals(this, other) || Sizes.AsSpan().SequenceEqual(other.Sizes);
}
