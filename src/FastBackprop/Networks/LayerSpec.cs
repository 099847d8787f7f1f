namespace FastBackprop;

/// <summary>What a layer of a network does.</summary>
public enum LayerKind : byte
{
    /// <summary>A dense (fully connected) layer: <c>A = g(X·Wᵀ + b)</c>, with weights, biases and an activation.</summary>
    Dense,
    /// <summary>Inverted dropout: in training each value is kept with probability 1 − rate and scaled by 1 / (1 − rate),
    /// else zeroed; in inference the layer passes its input through. No parameters; as wide as the layer before it.</summary>
    Dropout,
}

/// <summary>One layer of a network. <c>new LayerSpec(units, activation)</c> is a dense layer; <see cref="Dropout"/> makes a
/// dropout layer.</summary>
/// <param name="Units">Output width of a dense layer (positive). For a dropout layer the width of the layer before it
/// (0 in a spec made by <see cref="Dropout"/>; a network reports the actual width).</param>
/// <param name="Activation">A dense layer's activation (identity for dropout).</param>
public readonly record struct LayerSpec(int Units, Activation Activation)
{
    /// <summary>The largest dropout rate accepted (a rate of 1 would drop everything).</summary>
    public const double MaxDropoutRate = 0.99;

    /// <summary>Dense or dropout.</summary>
    public LayerKind Kind { get; init; }

    /// <summary>A dropout layer's rate: the probability that a value is dropped in training (0 for dense layers).</summary>
    public double Rate { get; init; }

    /// <summary>A dense layer.</summary>
    public static LayerSpec Dense(int units, Activation activation) => new(units, activation);

    /// <summary>An inverted-dropout layer dropping each value with probability <paramref name="rate"/> in training.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside (0, <see cref="MaxDropoutRate"/>].</exception>
    public static LayerSpec Dropout(double rate)
    {
        if (!(rate > 0 && rate <= MaxDropoutRate))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, $"A dropout rate must be in (0, {MaxDropoutRate}] (got {rate}).");
        return new LayerSpec(0, Activation.Identity) { Kind = LayerKind.Dropout, Rate = rate };
    }

    /// <inheritdoc/>
    public override string ToString() => Kind == LayerKind.Dropout
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Dropout({Rate})")
        : $"Dense({Units}, {Activation})";
}
