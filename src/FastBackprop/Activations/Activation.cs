namespace FastBackprop;

/// <summary>The activation functions of MATH.md.</summary>
public enum ActivationKind
{
    /// <summary>g(z) = z.</summary>
    Identity,
    /// <summary>g(z) = 1 / (1 + e^-z); g' = a(1 - a).</summary>
    Sigmoid,
    /// <summary>g(z) = tanh z; g' = 1 - a².</summary>
    Tanh,
    /// <summary>g(z) = max(0, z); g'(z) = 1 for z &gt; 0, else 0 (g'(0) = 0, as PyTorch).</summary>
    ReLU,
    /// <summary>g(z) = z for z &gt; 0, else αz; g'(z) = 1 for z &gt; 0, else α (g'(0) = α, as PyTorch).</summary>
    LeakyReLU,
    /// <summary>g(z) = 1 for z &gt; 0, else 0. Inference only: its gradient is zero almost everywhere.</summary>
    Step,
    /// <summary>Row-wise e^{z_i - max} / Σ e^{z_k - max}. Output layer only, trained only with softmax cross-entropy.</summary>
    Softmax,
    /// <summary>SiLU (swish): g(z) = z·σ(z); g'(z) = σ(z)(1 + z(1 − σ(z))), written from z: a layer with it keeps Z for the
    /// backward pass (a = g(z) does not determine z).</summary>
    SiLU,
}

/// <summary>An activation function with its parameter (α for leaky ReLU).</summary>
public readonly record struct Activation
{
    private Activation(ActivationKind kind, double alpha)
    {
        Kind = kind;
        Alpha = alpha;
    }

    /// <summary>Which function.</summary>
    public ActivationKind Kind { get; }

    /// <summary>The negative-side slope of leaky ReLU; 0 for every other kind.</summary>
    public double Alpha { get; }

    /// <summary>g(z) = z.</summary>
    public static Activation Identity => new(ActivationKind.Identity, 0);
    /// <summary>The logistic sigmoid.</summary>
    public static Activation Sigmoid => new(ActivationKind.Sigmoid, 0);
    /// <summary>The hyperbolic tangent.</summary>
    public static Activation Tanh => new(ActivationKind.Tanh, 0);
    /// <summary>max(0, z).</summary>
    public static Activation ReLU => new(ActivationKind.ReLU, 0);
    /// <summary>The Heaviside step (inference only).</summary>
    public static Activation Step => new(ActivationKind.Step, 0);
    /// <summary>Softmax over each row (output layer only).</summary>
    public static Activation Softmax => new(ActivationKind.Softmax, 0);
    /// <summary>SiLU (swish), z·σ(z).</summary>
    public static Activation SiLU => new(ActivationKind.SiLU, 0);

    /// <summary>Whether the derivative is written from the pre-activation z rather than from a = g(z), so a layer keeps Z
    /// for training.</summary>
    public bool DerivativeNeedsPreActivation => ActivationRegistry.Of(Kind).DerivativeFromPreActivation;

    /// <summary>Leaky ReLU with negative slope <paramref name="alpha"/> (in (0, <see cref="MaxLeakySlope"/>]).</summary>
    public static Activation LeakyReLU(double alpha = 0.01)
    {
        if (!(alpha > 0 && alpha <= MaxLeakySlope))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"Leaky ReLU's alpha must be in (0, {MaxLeakySlope}] (got {alpha}).");
        return new(ActivationKind.LeakyReLU, alpha);
    }

    /// <summary>The largest leaky-ReLU slope accepted (here and in model files): any sensible slope is well below it, and
    /// it keeps a model file from smuggling in a slope such as 1e308 that is finite yet overflows every negative input.</summary>
    public const double MaxLeakySlope = 1000;

    /// <summary>Whether gradient descent can train through this activation (every kind but step).</summary>
    public bool IsTrainable => ActivationRegistry.Of(Kind).Trainable;

    /// <summary>Rebuilds an activation from its kind and parameter (e.g. when reading a saved model).</summary>
    public static Activation FromKind(ActivationKind kind, double alpha = 0.01) => kind switch
    {
        ActivationKind.Identity => Identity,
        ActivationKind.Sigmoid => Sigmoid,
        ActivationKind.Tanh => Tanh,
        ActivationKind.ReLU => ReLU,
        ActivationKind.LeakyReLU => LeakyReLU(alpha),
        ActivationKind.Step => Step,
        ActivationKind.Softmax => Softmax,
        ActivationKind.SiLU => SiLU,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, $"Unknown activation kind {(int)kind}."),
    };

    /// <inheritdoc/>
    public override string ToString() => Kind == ActivationKind.LeakyReLU ? $"LeakyReLU({Alpha})" : Kind.ToString();
}
