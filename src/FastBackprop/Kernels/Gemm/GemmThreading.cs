using FastBackprop.Hardware;

namespace FastBackprop.Kernels.Gemm;

/// <summary>How many threads a product gets: one below <see cref="KernelConfiguration.MinimumFlopsPerThread"/> per
/// thread, where handing work to the worker team costs more than it saves, otherwise up to
/// <see cref="MaxDegreeOfParallelism"/>.</summary>
internal static class GemmThreading
{
    private static int maxDegree = Environment.ProcessorCount;

    public static int MaxDegreeOfParallelism
    {
        get => maxDegree;
        set
        {
            if (value < 1)
                throw new ArgumentOutOfRangeException(nameof(value), value, $"The thread count must be at least 1 (got {value}).");
            maxDegree = value;
        }
    }

    public static int ThreadsFor(int m, int n, int k, int tiles)
    {
        if (maxDegree == 1)
            return 1;
        double flops = 2.0 * m * n * k;
        int byWork = (int)Math.Min(int.MaxValue, flops / KernelConfiguration.Active.MinimumFlopsPerThread);
        return Math.Max(1, Math.Min(Math.Min(maxDegree, byWork), tiles));
    }
}
