using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FastBackprop.Kernels.Simd;
using FastBackprop.Hardware;

namespace FastBackprop.Benchmarks;

/// <summary>
/// The fp32 FMA peak of one core of the machine the benchmarks run on, measured at start instead of assumed: twelve
/// independent FMA chains (more than latency × throughput on any core so far: 4 cycles × 2 per cycle, and few enough for
/// 16 vector registers — sixteen chains spilled on the AVX2 path and measured 64 instead of ~114 GFLOP/s on a Zen 5) on
/// the registers the configured kernels use, best of several runs. Clock boost is included, as in the kernels' own runs.
/// </summary>
public static class PeakFlops
{
    public static double MeasureGflops(InstructionSet set)
    {
        const long iterations = 2_000_000;
        double best = 0;
        for (int run = 0; run < 9; run++)
        {
            long start = Stopwatch.GetTimestamp();
            (float sink, int lanes) = set switch
            {
                InstructionSet.Avx512 => (Chains<Simd512<float>, Vector512<float>>(iterations), 16),
                InstructionSet.Avx2 => (Chains<Simd256<float>, Vector256<float>>(iterations), 8),
                _ => (Chains<Simd128<float>, Vector128<float>>(iterations), 4),
            };
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            double gflops = iterations * (double)ChainCount * lanes * 2 / seconds / 1e9;
            if (float.IsFinite(sink))
                best = Math.Max(best, gflops);
        }
        return best;
    }

    private const int ChainCount = 12;

    /// <summary>Twelve independent multiply-add chains on one register width (the kernels' own <c>MultiplyAdd</c>: FMA
    /// where the path has it, a multiply and an add on Vector128 without it, counted as the same two flops).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains<TSimd, TVec>(long iterations) where TSimd : ISimd<float, TVec> where TVec : unmanaged
    {
        TVec m = TSimd.Broadcast(0.999999f), a = TSimd.Broadcast(1e-7f);
        TVec c0 = TSimd.Broadcast(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (long i = 0; i < iterations; i++)
        {
            c0 = TSimd.MultiplyAdd(c0, m, a); c1 = TSimd.MultiplyAdd(c1, m, a); c2 = TSimd.MultiplyAdd(c2, m, a);
            c3 = TSimd.MultiplyAdd(c3, m, a); c4 = TSimd.MultiplyAdd(c4, m, a); c5 = TSimd.MultiplyAdd(c5, m, a);
            c6 = TSimd.MultiplyAdd(c6, m, a); c7 = TSimd.MultiplyAdd(c7, m, a); c8 = TSimd.MultiplyAdd(c8, m, a);
            c9 = TSimd.MultiplyAdd(c9, m, a); c10 = TSimd.MultiplyAdd(c10, m, a); c11 = TSimd.MultiplyAdd(c11, m, a);
        }
        TVec sum = TSimd.Add(TSimd.Add(TSimd.Add(c0, c1), TSimd.Add(c2, c3)), TSimd.Add(TSimd.Add(c4, c5), TSimd.Add(c6, c7)));
        return TSimd.Sum(TSimd.Add(sum, TSimd.Add(TSimd.Add(c8, c9), TSimd.Add(c10, c11))));
    }

    /// <summary>A folder name for this CPU's results: "amd-epyc-zen5", "amd-epyc-zen3", or the brand string's words.</summary>
    public static string ResultsFolder(CpuInfo cpu)
    {
        string vendor = cpu.Vendor switch { "AuthenticAMD" => "amd", "GenuineIntel" => "intel", _ => cpu.Vendor.ToLowerInvariant() };
        string core = cpu.Microarchitecture != "unknown"
            ? cpu.Microarchitecture.ToLowerInvariant().Replace(" ", "", StringComparison.Ordinal).Replace("/", "-", StringComparison.Ordinal)
            : $"family{cpu.Family}-model{cpu.Model}";
        string kind = cpu.Name.Contains("EPYC", StringComparison.OrdinalIgnoreCase) || cpu.Name.Contains("Turin", StringComparison.OrdinalIgnoreCase)
            || cpu.Name.Contains("Genoa", StringComparison.OrdinalIgnoreCase) || cpu.Name.Contains("Milan", StringComparison.OrdinalIgnoreCase) ? "-epyc" : "";
        return $"{vendor}{kind}-{core}";
    }
}
