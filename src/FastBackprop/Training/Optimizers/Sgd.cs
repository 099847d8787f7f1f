using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;

namespace FastBackprop;

/// <summary>Plain stochastic gradient descent, as <c>torch.optim.SGD</c> without momentum:
/// <c>θ ← θ − η·(g + λθ)</c>.</summary>
public sealed class Sgd : Optimizer
{
    /// <summary>SGD with L2 weight decay <paramref name="weightDecay"/> (λ, finite, ≥ 0; default 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="weightDecay"/> is negative or not finite.</exception>
    public Sgd(double weightDecay = 0)
        : base(weightDecay)
    {
    }

    /// <inheritdoc/>
    protected override int StateSlots => 0;

    /// <inheritdoc/>
    protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step)
    {
        T eta = T.CreateChecked(learningRate), lambda = T.CreateChecked(WeightDecay);
        ref T p = ref MemoryMarshal.GetReference(parameters);
        ref T g = ref MemoryMarshal.GetReference(gradients);
        int n = parameters.Length, i = 0;
        if (Lanes512<T>.IsAccelerated)
            i = Sweep<T, Lanes512<T>>(ref p, ref g, 0, n, eta, lambda);
        else if (Lanes256<T>.IsAccelerated)
            i = Sweep<T, Lanes256<T>>(ref p, ref g, 0, n, eta, lambda);
        else if (Lanes128<T>.IsAccelerated)
            i = Sweep<T, Lanes128<T>>(ref p, ref g, 0, n, eta, lambda);
        Sweep<T, Scalar<T>>(ref p, ref g, i, n, eta, lambda);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Sweep<T, TV>(ref T p, ref T g, int start, int n, T eta, T lambda)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TV : struct, ILanes<TV, T>
    {
        TV vEta = TV.Create(eta), vLambda = TV.Create(lambda);
        int i = start;
        for (; i <= n - TV.Count; i += TV.Count)
        {
            TV theta = TV.Load(ref p, (nuint)i);
            TV grad = TV.Load(ref g, (nuint)i) + vLambda * theta;
            TV.Store(theta - vEta * grad, ref p, (nuint)i);
        }
        return i;
    }
}
