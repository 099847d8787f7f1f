namespace FastBackprop;

/// <summary>
/// One named, shaped tensor of a network's parameters and where it lies in <see cref="Network{T}.Parameters"/>, the one
/// buffer every layer's tensors share (the optimizers sweep it whole). Each layer kind names its own tensors: a dense
/// layer's <c>weight</c> [units, inputs] (row-major) and <c>bias</c> [units], a layer normalisation's <c>gamma</c>
/// [features] and <c>beta</c> [features]; dropout has none.
/// </summary>
/// <param name="Layer">The layer that owns it.</param>
/// <param name="Name">Its name within the layer ("weight", "bias", "gamma", "beta").</param>
/// <param name="Shape">Its dimensions, outermost first; their product is <paramref name="Length"/>.</param>
/// <param name="Offset">Where it starts in <see cref="Network{T}.Parameters"/> (and in a <see cref="Gradients{T}"/> buffer,
/// which has the same layout).</param>
/// <param name="Length">How many values it holds.</param>
public readonly record struct ParameterTensor(int Layer, string Name, IReadOnlyList<int> Shape, int Offset, int Length)
{
    /// <summary><c>layer1.gamma [64]</c>.</summary>
    public override string ToString() => $"layer{Layer}.{Name} [{string.Join(", ", Shape)}]";
}

/// <summary>A kind's description of one of its parameter tensors for a layer: its name and dimensions.</summary>
internal readonly record struct TensorShape(string Name, long[] Dims)
{
    public long Length => Dims.Aggregate(1L, (product, d) => product * d);
}
