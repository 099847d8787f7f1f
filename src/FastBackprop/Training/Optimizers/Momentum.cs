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
    protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step)
    {
        var c = new Coefficients<T>(T.CreateChecked(learningRate), T.CreateChecked(WeightDecay), T.CreateChecked(Coefficient));
        if (Nesterov)
            Run<T, SwitchOn>(parameters, gradients, state, c);
        else
            Run<T, SwitchOff>(parameters, gradients, state, c);
    }

    private static void Run<T, TNesterov>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> velocity, in Coefficients<T> c)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TNesterov : struct, ISwitch
    {
        ref T p = ref MemoryMarshal.GetReference(parameters);
        ref T g = ref MemoryMarshal.GetReference(gradients);
        ref T v = ref MemoryMarshal.GetReference(velocity);
        int n = parameters.Length, i = 0;
        if (Lanes512<T>.IsAccelerated)
            i = Sweep<T, Lanes512<T>, TNesterov>(ref p, ref g, ref v, 0, n, c);
        else if (Lanes256<T>.IsAccelerated)
            i = Sweep<T, Lanes256<T>, TNesterov>(ref p, ref g, ref v, 0, n, c);
        else if (Lanes128<T>.IsAccelerated)
            i = Sweep<T, Lanes128<T>, TNesterov>(ref p, ref g, ref v, 0, n, c);
        Sweep<T, Scalar<T>, TNesterov>(ref p, ref g, ref v, i, n, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Sweep<T, TV, TNesterov>(ref T p, ref T g, ref T v, int start, int n, in Coefficients<T> c)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TV : struct, ILanes<TV, T>
        where TNesterov : struct, ISwitch
    {
        TV eta = TV.Create(c.LearningRate), lambda = TV.Create(c.WeightDecay), mu = TV.Create(c.Momentum);
        int i = start;
        for (; i <= n - TV.Count; i += TV.Count)
        {
            TV theta = TV.Load(ref p, (nuint)i);
            TV grad = TV.Load(ref g, (nuint)i) + lambda * theta;
            TV velocity = mu * TV.Load(ref v, (nuint)i) + grad;
            TV update = TNesterov.On ? grad + mu * velocity : velocity;
            TV.Store(velocity, ref v, (nuint)i);
            TV.Store(theta - eta * update, ref p, (nuint)i);
        }
        return i;
    }

    private readonly record struct Coefficients<T>(T LearningRate, T WeightDecay, T Momentum);
}
