using FastBackprop.Kernels.Gemm;

namespace FastBackprop;

/// <summary>The process-wide thread budget of the compute kernels: every network pass, the <see cref="Trainer{T}"/> and
/// the primitives of the <c>FastBackprop.Primitives</c> namespace obey it.</summary>
public static class Parallelism
{
    /// <summary>
    /// The most threads one product may use (default: the processor count); 1 keeps all work on the calling thread, as
    /// a service that predicts on many request threads at once usually wants. Work is split over rows and columns of
    /// each product, never over its depth, so results are bit-identical for every setting. Products below a few MFLOP
    /// always run on the calling thread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxDegreeOfParallelism
    {
        get => GemmThreading.MaxDegreeOfParallelism;
        set => GemmThreading.MaxDegreeOfParallelism = value;
    }
}
