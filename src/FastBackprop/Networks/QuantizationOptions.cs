namespace FastBackprop;

/// <summary>How <see cref="QuantizedNetworkExtensions.Quantize(Network{float}, QuantizationOptions?)"/> builds a
/// <see cref="QuantizedNetwork"/>: every dense layer at int8 unless named here.</summary>
public sealed class QuantizationOptions
{
    /// <summary>Indices of dense layers kept in fp32 (for instance a small output layer whose logits should stay exact).</summary>
    public IReadOnlyCollection<int> FloatLayers { get; init; } = [];

    /// <summary>Keeps the last layer in fp32 as well.</summary>
    public bool KeepOutputLayerInFloat { get; init; }
}
