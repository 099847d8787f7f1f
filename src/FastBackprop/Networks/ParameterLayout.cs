namespace FastBackprop;

/// <summary>
/// Where each layer's parameters live in one contiguous parameter buffer: layer l's two tensors — a dense layer's W_l
/// (units×inputs, row-major) then b_l, a layer normalisation's γ then β — back to back, in layer order, sized by the
/// layer's kind (<see cref="LayerType.ParameterTensors"/>, which names them); a layer without parameters (dropout) takes no room. Gradients use
/// the same layout, so an update is one vectorised sweep over the whole buffer.
/// </summary>
internal sealed class ParameterLayout
{
    private readonly int[] weightOffsets, weightLengths;
    private readonly int[] biasOffsets, biasLengths;
    private readonly LayerKind[] kinds;

    /// <param name="sizes">sizes[0] is the input width, sizes[l + 1] the width of layer l's output.</param>
    /// <param name="kinds">Per layer, its kind (empty: every layer is dense).</param>
    public ParameterLayout(int[] sizes, ReadOnlySpan<LayerKind> kinds = default)
    {
        Sizes = sizes;
        int layers = sizes.Length - 1;
        this.kinds = kinds.IsEmpty ? new LayerKind[layers] : kinds.ToArray();
        weightOffsets = new int[layers];
        weightLengths = new int[layers];
        biasOffsets = new int[layers];
        biasLengths = new int[layers];
        long offset = 0;
        for (int l = 0; l < layers; l++)
        {
            var (weights, biases) = Shape(this.kinds[l], sizes[l], sizes[l + 1]);
            if (offset + weights + biases > Array.MaxLength)
                throw new ArgumentOutOfRangeException(nameof(sizes),
                    $"A [{string.Join('-', sizes)}] network has {Total(sizes, this.kinds):N0} parameters, more than one array can hold ({Array.MaxLength:N0}); layer {l} alone has {weights + biases:N0}.");
            weightOffsets[l] = (int)offset;
            weightLengths[l] = (int)weights;
            offset += weights;
            biasOffsets[l] = (int)offset;
            biasLengths[l] = (int)biases;
            offset += biases;
        }
        Count = (int)offset;
    }

    private static (long Weights, long Biases) Shape(LayerKind kind, long inputs, long units)
        => (LayerType.Of(kind) ?? throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown layer kind")).ParameterShape(inputs, units);

    /// <summary>The parameters of every layer together, exactly (no overflow for any int sizes); empty kinds: all dense,
    /// Σ (inputs_l + 1)·units_l.</summary>
    public static long Total(ReadOnlySpan<int> sizes, ReadOnlySpan<LayerKind> kinds = default)
    {
        long total = 0;
        for (int l = 0; l < sizes.Length - 1; l++)
        {
            var (weights, biases) = Shape(kinds.IsEmpty ? LayerKind.Dense : kinds[l], sizes[l], sizes[l + 1]);
            total += weights + biases;
        }
        return total;
    }

    /// <summary>sizes[0] is the input width, sizes[l + 1] the output width of layer l (0-based).</summary>
    public int[] Sizes { get; }

    public int Count { get; }

    public int LayerCount => Sizes.Length - 1;

    /// <summary>Layer <paramref name="layer"/>'s kind.</summary>
    public LayerKind Kind(int layer) => kinds[layer];

    /// <summary>Whether layer <paramref name="layer"/> has parameters.</summary>
    public bool HasParameters(int layer) => weightLengths[layer] + biasLengths[layer] > 0;

    public (int Offset, int Length) Weights(int layer) => (weightOffsets[layer], weightLengths[layer]);

    public (int Offset, int Length) Biases(int layer) => (biasOffsets[layer], biasLengths[layer]);

    /// <summary>Every layer's named tensors, in buffer order (the kinds name and shape them: <see cref="LayerType.ParameterTensors"/>).</summary>
    public ParameterTensor[] Tensors()
    {
        var tensors = new List<ParameterTensor>();
        for (int l = 0; l < LayerCount; l++)
        {
            int offset = weightOffsets[l];
            foreach (TensorShape t in LayerType.Of(kinds[l])!.ParameterTensors(Sizes[l], Sizes[l + 1]))
            {
                tensors.Add(new ParameterTensor(l, t.Name, Array.AsReadOnly(t.Dims.Select(d => (int)d).ToArray()), offset, (int)t.Length));
                offset += (int)t.Length;
            }
        }
        return [.. tensors];
    }

    public bool SameShape(ParameterLayout other) => ReferenceEquals(this, other)
        || Sizes.AsSpan().SequenceEqual(other.Sizes) && kinds.AsSpan().SequenceEqual(other.kinds);
}
