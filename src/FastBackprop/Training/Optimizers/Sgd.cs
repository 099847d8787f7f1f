using FastBackprop.Kernels.Simd;
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
    protected override unsafe void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step)
    {
        fixed (T* p = &MemoryMarshal.GetReference(parameters))
        fixed (T* g = &MemoryMarshal.GetReference(gradients))
        {
            var work = new Work<T>(p, g, parameters.Length, T.CreateChecked(learningRate), T.CreateChecked(WeightDecay));
            VectorDispatch<T>.Run(ref work);
        }
    }

    /// <summary>The vector body, then the tail one lane at a time with the same operations (no fused multiply-add), so
    /// every element gets the same bits whichever path updates it.</summary>
    private readonly unsafe struct Work<T>(T* p, T* g, int n, T eta, T lambda) : IVectorWork<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged
        {
            int i = Sweep<TSimd, TVec>(p, g, 0, n, eta, lambda);
            Sweep<SimdScalar<T>, T>(p, g, i, n, eta, lambda);
        }

        /// <summary>Updates whole registers from <paramref name="start"/> and returns where the remainder starts.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static int Sweep<TSimd, TVec>(T* p, T* g, int start, int n, T eta, T lambda)
            where TSimd : ISimd<T, TVec>
            where TVec : unmanaged
        {
            TVec vEta = TSimd.Broadcast(eta), vLambda = TSimd.Broadcast(lambda);
            int i = start;
            for (; i <= n - TSimd.Count; i += TSimd.Count)
            {
                // g′ = g + λθ;  θ ← θ − η·g′
                TVec theta = TSimd.Load(p + i);
                TVec grad = TSimd.Add(TSimd.Load(g + i), TSimd.Multiply(vLambda, theta));
                TSimd.Store(p + i, TSimd.Subtract(theta, TSimd.Multiply(vEta, grad)));
            }
            return i;
        }
    }
}
