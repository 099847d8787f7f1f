namespace FastBackprop;

/// <summary>One layer of a network. <c>new LayerSpec(units, activation)</c> (or <see cref="Dense"/>) is a dense layer;
/// every other kind has its factory in its own file (<see cref="Dropout"/>, <see cref="LayerNorm"/>), so a spec is always
/// one a kind made: the kind and its one setting (<see cref="Rate"/>, <see cref="Epsilon"/>) cannot be set apart.</summary>
/// <param name="Units">Output width of a dense layer (positive). For a width-keeping kind (dropout, layer normalisation)
/// the width of the layer before it (0 in a spec made by its factory; a network reports the actual width).</param>
/// <param name="Activation">A dense layer's activation (identity for the other kinds).</param>
public readonly partial record struct LayerSpec(int Units, Activation Activation)
{
    /// <summary>Output width of a dense layer; a width-keeping kind's input width, as a network states it.</summary>
    // Set by the constructor or, inside the library, as a network resolves a spec: a user's `with` cannot give a dropout
    // layer units or an activation.
    public int Units { get; internal init; } = Units;

    /// <summary>A dense layer's activation (identity for the other kinds).</summary>
    public Activation Activation { get; internal init; } = Activation;

    /// <summary>The kind of layer (<see cref="LayerKind"/>), set by the kind's factory.</summary>
    public LayerKind Kind { get; internal init; }

    /// <summary>A width-keeping kind's one setting (dropout: its rate; layer normalisation: its ε), read through the kind's
    /// own property; what a model-file record carries (<see cref="LayerType.RecordValue"/>).</summary>
    internal double Value { get; init; }

    /// <summary>A dense layer.</summary>
    public static LayerSpec Dense(int units, Activation activation) => new(units, activation);

    /// <summary>The kind's name and setting: <c>Dense(64, ReLU)</c>, <c>Dropout(0.2)</c>, <c>LayerNorm(1E-05)</c>.</summary>
    public override string ToString() => LayerType.Of(Kind)?.Describe(this) ?? $"{Kind}({Units}, {Activation})";
}
