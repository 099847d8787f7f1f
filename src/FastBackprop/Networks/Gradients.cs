using System.Numerics;

namespace FastBackprop;

/// <summary>The gradients of a network's loss with respect to all its parameters, laid out like the
/// network's own parameters (one contiguous buffer). Create with <see cref="Network{T}.CreateGradients"/>.</summary>
public sealed class Gradients<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[] values;

    internal Gradients(ParameterLayout layout)
    {
        Layout = layout;
        values = new T[layout.Count];
    }

    internal ParameterLayout Layout { get; }

    /// <summary>Every gradient, in the network's parameter order.</summary>
    public Span<T> Values => values;

    /// <summary>∂C/∂W of layer <paramref name="layer"/> (0-based), units×inputs row-major.</summary>
    public Span<T> Weights(int layer)
    {
        CheckLayer(layer);
        var (offset, length) = Layout.Weights(layer);
        return values.AsSpan(offset, length);
    }

    /// <summary>∂C/∂b of layer <paramref name="layer"/> (0-based).</summary>
    public Span<T> Biases(int layer)
    {
        CheckLayer(layer);
        var (offset, length) = Layout.Biases(layer);
        return values.AsSpan(offset, length);
    }

    private void CheckLayer(int layer)
    {
        if ((uint)layer >= (uint)Layout.LayerCount)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer must be in [0, {Layout.LayerCount}).");
    }
}
