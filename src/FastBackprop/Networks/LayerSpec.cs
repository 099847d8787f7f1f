namespace FastBackprop;

/// <summary>One dense layer of a network: how many units and which activation.</summary>
/// <param name="Units">Output width of the layer (positive).</param>
/// <param name="Activation">Its activation function.</param>
public readonly record struct LayerSpec(int Units, Activation Activation);
