using FastBackprop.Kernels.Simd;
using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;

namespace FastBackprop;

/// <summary>
/// SGD with momentum, as <c>torch.optim.SGD</c> with <c>momentum = μ</c> and no dampening:
/// <c>g′ = g + λθ</c>, <c>v ← μv + g′</c> (v starts at 0, so the first step has v = g′), then
/// <c>θ ← θ − ηv</c>, or with Nesterov momentum <c>θ ← θ − η(g′ + μv)</c>.
/// </summary>
public sealed class Momentum : Optimizer
{
    /// <summary>Momentum μ ∈ [0, 1) (default 0.9), optionally Nesterov's, with L2 weight decay λ (finite, ≥ 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="nesterov"/> with μ = 0 (as PyTorch, which requires a momentum for Nesterov).</exception>
    public Momentum(double momentum = 0.9, bool nesterov = false, double weightDecay = 0)
        : base(weightDecay)
    {
        Guard.UnitInterval(momentum, nameof(momentum));
        if (nesterov && momentum == 0)
            throw new ArgumentException("Nesterov momentum needs a momentum greater than 0 (got momentum = 0).", nameof(nesterov));
        Coefficient = momentum;
        Nesterov = nesterov;
    }

    /// <summary>The momentum coefficient μ.</summary>
    public double Coefficient { get; }

    /// <summary>Whether the update uses Nesterov's look-ahead.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    protected override int StateSlots => 1;

    /// <inheritdoc/>
    protected override unsafe void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step)
    {
        var c = new Coefficients<T>(T.CreateChecked(learningRate), T.CreateChecked(WeightDecay), T.CreateChecked(Coefficient));
        fixed (T* p = &MemoryMarshal.GetReference(parameters))
        fixed (T* g = &MemoryMarshal.GetReference(gradients))
        fixed (T* v = &MemoryMarshal.GetReference(state))
        {
            if (Nesterov)
            {
                var work = new Work<T, SwitchOn>(p, g, v, parameters.Length, c);
                VectorDispatch<T>.Run(ref work);
            }
            else
            {
                var work = new Work<T, SwitchOff>(p, g, v, parameters.Length, c);
                VectorDispatch<T>.Run(ref work);
            }
        }
    }

    /// <summary>The vector body, then the tail one lane at a time with the same operations (no fused multiply-add), so
    /// every element gets the same bits whichever path updates it.</summary>
    private readonly unsafe struct Work<T, TNesterov>(T* p, T* g, T* v, int n, Coefficients<T> c) : IVectorWork<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TNesterov : struct, ISwitch
    {
        public void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged
        {
            int i = Sweep<TSimd, TVec>(p, g, v, 0, n, c);
            Sweep<SimdScalar<T>, T>(p, g, v, i, n, c);
        }

        /// <summary>Updates whole registers from <paramref name="start"/> and returns where the remainder starts.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static int Sweep<TSimd, TVec>(T* p, T* g, T* v, int start, int n, in Coefficients<T> c)
            where TSimd : ISimd<T, TVec>
            where TVec : unmanaged
        {
            TVec eta = TSimd.Broadcast(c.LearningRate), lambda = TSimd.Broadcast(c.WeightDecay), mu = TSimd.Broadcast(c.Momentum);
            int i = start;
            for (; i <= n - TSimd.Count; i += TSimd.Count)
            {
                // g′ = g + λθ;  v ← μv + g′;  θ ← θ − η·v, or with Nesterov θ ← θ − η·(g′ + μv)
                TVec theta = TSimd.Load(p + i);
                TVec grad = TSimd.Add(TSimd.Load(g + i), TSimd.Multiply(lambda, theta));
                TVec velocity = TSimd.Add(TSimd.Multiply(mu, TSimd.Load(v + i)), grad);
                TVec update = TNesterov.On ? TSimd.Add(grad, TSimd.Multiply(mu, velocity)) : velocity;
                TSimd.Store(v + i, velocity);
                TSimd.Store(p + i, TSimd.Subtract(theta, TSimd.Multiply(eta, update)));
            }
            return i;
        }
    }

    private readonly record struct Coefficients<T>(T LearningRate, T WeightDecay, T Momentum);
}
