namespace FastBackprop;

/// <summary>What a layer of a network does.</summary>
public enum LayerKind : byte
{
    /// <summary>A dense (fully connected) layer: <c>A = g(X·Wᵀ + b)</c>, with weights, biases and an activation.</summary>
    Dense,
    /// <summary>Inverted dropout: in training each value is kept with probability 1 − rate and scaled by 1 / (1 − rate),
    /// else zeroed; in inference the layer passes its input through. No parameters; as wide as the layer before it.</summary>
    Dropout,
    /// <summary>Layer normalisation (Ba et al. 2016, as PyTorch's <c>nn.LayerNorm</c> over the features): each row is
    /// shifted to mean 0 and scaled to variance 1 (ε added to the variance), then multiplied by a learnable γ and shifted by a
    /// learnable β, one of each per feature. As wide as the layer before it.</summary>
    LayerNorm,
}

/// <summary>One layer of a network. <c>new LayerSpec(units, activation)</c> is a dense layer; <see cref="Dropout"/> makes a
/// dropout layer, <see cref="LayerNorm"/> a layer normalisation.</summary>
/// <param name="Units">Output width of a dense layer (positive). For a dropout or layer-norm layer the width of the layer
/// before it (0 in a spec made by <see cref="Dropout"/> or <see cref="LayerNorm"/>; a network reports the actual width).</param>
/// <param name="Activation">A dense layer's activation (identity for the other kinds).</param>
public readonly record struct LayerSpec(int Units, Activation Activation)
{
    /// <summary>The largest dropout rate accepted (a rate of 1 would drop everything).</summary>
    public const double MaxDropoutRate = 0.99;

    /// <summary>The smallest and largest ε a layer normalisation takes (PyTorch's default is 1e-5).</summary>
    public const double MinLayerNormEpsilon = 1e-12, MaxLayerNormEpsilon = 1;

    /// <summary>Dense, dropout or layer normalisation.</summary>
    public LayerKind Kind { get; init; }

    /// <summary>A dropout layer's rate: the probability that a value is dropped in training (0 for the other kinds).</summary>
    public double Rate { get; init; }

    /// <summary>A layer normalisation's ε, added to each row's variance (0 for the other kinds).</summary>
    public double Epsilon { get; init; }

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

    /// <summary>A layer normalisation over each row's features, with learnable γ (initially 1) and β (initially 0) per
    /// feature and <paramref name="epsilon"/> added to the variance.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is outside [<see cref="MinLayerNormEpsilon"/>,
    /// <see cref="MaxLayerNormEpsilon"/>].</exception>
    public static LayerSpec LayerNorm(double epsilon = 1e-5)
    {
        if (!(epsilon >= MinLayerNormEpsilon && epsilon <= MaxLayerNormEpsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon,
                $"A layer normalisation's epsilon must be in [{MinLayerNormEpsilon}, {MaxLayerNormEpsilon}] (got {epsilon}).");
        return new LayerSpec(0, Activation.Identity) { Kind = LayerKind.LayerNorm, Epsilon = epsilon };
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        LayerKind.Dropout => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Dropout({Rate})"),
        LayerKind.LayerNorm => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"LayerNorm({Epsilon})"),
        _ => $"Dense({Units}, {Activation})",
    };
}
