using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastBackprop.Kernels.Simd;

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
/// <remarks>Its members repeat <see cref="Adam"/>'s on purpose, so each class reads as the <c>torch.optim</c> class of the
/// same name with its own default decay; the arithmetic is written once (<c>AdamKernel</c>).</remarks>
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

    public static unsafe void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step,
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
        fixed (T* p = &MemoryMarshal.GetReference(parameters))
        fixed (T* g = &MemoryMarshal.GetReference(gradients))
        fixed (T* moments = &MemoryMarshal.GetReference(state))
        {
            var work = new Work<T>(p, g, moments, moments + n, n, c);
            VectorDispatch<T>.Run(ref work);
        }
    }

    /// <summary>The vector body, then the tail one lane at a time with the same operations (no fused multiply-add), so
    /// every element gets the same bits whichever path updates it.</summary>
    private readonly unsafe struct Work<T>(T* p, T* g, T* m, T* v, int n, Coefficients<T> c) : IVectorWork<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged
        {
            int i = Sweep<TSimd, TVec>(p, g, m, v, 0, n, c);
            Sweep<SimdScalar<T>, T>(p, g, m, v, i, n, c);
        }

        /// <summary>Updates whole registers from <paramref name="start"/> and returns where the remainder starts.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static int Sweep<TSimd, TVec>(T* p, T* g, T* m, T* v, int start, int n, in Coefficients<T> c)
            where TSimd : ISimd<T, TVec>
            where TVec : unmanaged
        {
            TVec beta1 = TSimd.Broadcast(c.Beta1), oneMinusBeta1 = TSimd.Broadcast(c.OneMinusBeta1);
            TVec beta2 = TSimd.Broadcast(c.Beta2), oneMinusBeta2 = TSimd.Broadcast(c.OneMinusBeta2);
            TVec stepSize = TSimd.Broadcast(c.StepSize), inverseSqrtCorrection2 = TSimd.Broadcast(c.InverseSqrtCorrection2);
            TVec epsilon = TSimd.Broadcast(c.Epsilon), lambda = TSimd.Broadcast(c.CoupledDecay), decay = TSimd.Broadcast(c.DecoupledFactor);
            int i = start;
            for (; i <= n - TSimd.Count; i += TSimd.Count)
            {
                // g′ = g + λθ;  m ← β₁m + (1 − β₁)g′;  v ← β₂v + (1 − β₂)g′²;
                // θ ← θ·(1 − ηλ_decoupled) − (η / (1 − β₁ᵗ))·m / (√v·(1/√(1 − β₂ᵗ)) + ε)
                TVec theta = TSimd.Load(p + i);
                TVec grad = TSimd.Add(TSimd.Load(g + i), TSimd.Multiply(lambda, theta));
                TVec first = TSimd.Add(TSimd.Multiply(beta1, TSimd.Load(m + i)), TSimd.Multiply(oneMinusBeta1, grad));
                TVec second = TSimd.Add(TSimd.Multiply(beta2, TSimd.Load(v + i)), TSimd.Multiply(oneMinusBeta2, TSimd.Multiply(grad, grad)));
                TVec denominator = TSimd.Add(TSimd.Multiply(TSimd.Sqrt(second), inverseSqrtCorrection2), epsilon);
                TSimd.Store(m + i, first);
                TSimd.Store(v + i, second);
                TSimd.Store(p + i, TSimd.Subtract(TSimd.Multiply(theta, decay), TSimd.Multiply(stepSize, TSimd.Divide(first, denominator))));
            }
            return i;
        }
    }

    private readonly record struct Coefficients<T>(T Beta1, T OneMinusBeta1, T Beta2, T OneMinusBeta2, T StepSize,
        T InverseSqrtCorrection2, T Epsilon, T CoupledDecay, T DecoupledFactor);
}
