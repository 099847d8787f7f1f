using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;

namespace FastBackprop;

/// <summary>
/// Adam (Kingma &amp; Ba), as <c>torch.optim.Adam</c>, with L2 weight decay coupled into the gradient:
/// <c>g′ = g + λθ</c>, <c>m ← β₁m + (1 − β₁)g′</c>, <c>v ← β₂v + (1 − β₂)g′²</c>,
/// <c>m̂ = m / (1 − β₁ᵗ)</c>, <c>v̂ = v / (1 − β₂ᵗ)</c>, <c>θ ← θ − η·m̂ / (√v̂ + ε)</c> (ε outside the square root).
/// </summary>
/// <remarks>The bias corrections are computed once per step in double precision; the sweep evaluates
/// <c>θ − (η / (1 − β₁ᵗ))·(m / (√v·(1/√(1 − β₂ᵗ)) + ε))</c>, PyTorch's arrangement of the same formula.</remarks>
public sealed class Adam : Optimizer
{
    /// <summary>Adam with β₁, β₂ ∈ [0, 1) (defaults 0.9, 0.999), ε &gt; 0 (default 1e-8) and L2 weight decay λ ≥ 0 (default 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range; the message names it and its value.</exception>
    public Adam(double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0)
        : base(weightDecay)
    {
        AdamKernel.Validate(beta1, beta2, epsilon);
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
    }

    /// <summary>Decay rate β₁ of the first moment.</summary>
    public double Beta1 { get; }

    /// <summary>Decay rate β₂ of the second moment.</summary>
    public double Beta2 { get; }

    /// <summary>ε, added to √v̂.</summary>
    public double Epsilon { get; }

    /// <inheritdoc/>
    protected override int StateSlots => 2;

    /// <inheritdoc/>
    protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step)
        => AdamKernel.Update(parameters, gradients, state, learningRate, step, Beta1, Beta2, Epsilon, coupledDecay: WeightDecay, decoupledDecay: 0);
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter), as <c>torch.optim.AdamW</c>: weight decay decoupled from the gradient,
/// <c>θ ← θ − ηλθ</c>, then the <see cref="Adam"/> step on the plain gradient g.
/// </summary>
public sealed class AdamW : Optimizer
{
    /// <summary>AdamW with β₁, β₂ ∈ [0, 1) (defaults 0.9, 0.999), ε &gt; 0 (default 1e-8) and decoupled weight decay
    /// λ ≥ 0 (default 0.01, as PyTorch).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range; the message names it and its value.</exception>
    public AdamW(double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.01)
        : base(weightDecay)
    {
        AdamKernel.Validate(beta1, beta2, epsilon);
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
    }

    /// <summary>Decay rate β₁ of the first moment.</summary>
    public double Beta1 { get; }

    /// <summary>Decay rate β₂ of the second moment.</summary>
    public double Beta2 { get; }

    /// <summary>ε, added to √v̂.</summary>
    public double Epsilon { get; }

    /// <inheritdoc/>
    protected override int StateSlots => 2;

    /// <inheritdoc/>
    protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step)
        => AdamKernel.Update(parameters, gradients, state, learningRate, step, Beta1, Beta2, Epsilon, coupledDecay: 0, decoupledDecay: WeightDecay);
}

/// <summary>The one sweep shared by Adam (coupled decay, factor 1) and AdamW (no coupled decay, factor 1 − ηλ):
/// θ·1 and g + 0·θ are exact, so each gets exactly its own formula.</summary>
internal static class AdamKernel
{
    public static void Validate(double beta1, double beta2, double epsilon)
    {
        Guard.UnitInterval(beta1, nameof(beta1));
        Guard.UnitInterval(beta2, nameof(beta2));
        Guard.PositiveFinite(epsilon, nameof(epsilon));
    }

    public static void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step,
        double beta1, double beta2, double epsilon, double coupledDecay, double decoupledDecay)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double t = step;
        double correction1 = 1 - Math.Pow(beta1, t), correction2 = 1 - Math.Pow(beta2, t);
        var c = new Coefficients<T>(
            T.CreateChecked(beta1), T.CreateChecked(1 - beta1), T.CreateChecked(beta2), T.CreateChecked(1 - beta2),
            StepSize: T.CreateChecked(learningRate / correction1),
            InverseSqrtCorrection2: T.CreateChecked(1 / Math.Sqrt(correction2)),
            T.CreateChecked(epsilon), T.CreateChecked(coupledDecay), T.CreateChecked(1 - learningRate * decoupledDecay));

        int n = parameters.Length;
        ref T p = ref MemoryMarshal.GetReference(parameters);
        ref T g = ref MemoryMarshal.GetReference(gradients);
        ref T m = ref MemoryMarshal.GetReference(state);
        ref T v = ref MemoryMarshal.GetReference(state.Slice(n));
        int i = 0;
        if (Lanes512<T>.IsAccelerated)
            i = Sweep<T, Lanes512<T>>(ref p, ref g, ref m, ref v, 0, n, c);
        else if (Lanes256<T>.IsAccelerated)
            i = Sweep<T, Lanes256<T>>(ref p, ref g, ref m, ref v, 0, n, c);
        else if (Lanes128<T>.IsAccelerated)
            i = Sweep<T, Lanes128<T>>(ref p, ref g, ref m, ref v, 0, n, c);
        Sweep<T, Scalar<T>>(ref p, ref g, ref m, ref v, i, n, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Sweep<T, TV>(ref T p, ref T g, ref T m, ref T v, int start, int n, in Coefficients<T> c)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TV : struct, ILanes<TV, T>
    {
        TV beta1 = TV.Create(c.Beta1), oneMinusBeta1 = TV.Create(c.OneMinusBeta1);
        TV beta2 = TV.Create(c.Beta2), oneMinusBeta2 = TV.Create(c.OneMinusBeta2);
        TV stepSize = TV.Create(c.StepSize), inverseSqrtCorrection2 = TV.Create(c.InverseSqrtCorrection2);
        TV epsilon = TV.Create(c.Epsilon), lambda = TV.Create(c.CoupledDecay), decay = TV.Create(c.DecoupledFactor);
        int i = start;
        for (; i <= n - TV.Count; i += TV.Count)
        {
            TV theta = TV.Load(ref p, (nuint)i);
            TV grad = TV.Load(ref g, (nuint)i) + lambda * theta;
            TV first = beta1 * TV.Load(ref m, (nuint)i) + oneMinusBeta1 * grad;
            TV second = beta2 * TV.Load(ref v, (nuint)i) + oneMinusBeta2 * (grad * grad);
            TV denominator = TV.Sqrt(second) * inverseSqrtCorrection2 + epsilon;
            TV.Store(first, ref m, (nuint)i);
            TV.Store(second, ref v, (nuint)i);
            TV.Store(theta * decay - stepSize * (first / denominator), ref p, (nuint)i);
        }
        return i;
    }

    private readonly record struct Coefficients<T>(T Beta1, T OneMinusBeta1, T Beta2, T OneMinusBeta2, T StepSize,
        T InverseSqrtCorrection2, T Epsilon, T CoupledDecay, T DecoupledFactor);
}
