using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastBackprop.Benchmarks;

/// <summary>
/// The fp32 FMA peak of one core of the machine the benchmarks run on, measured at start instead of assumed: independent
/// FMA chains (more than latency × throughput on any core so far: 4 cycles × 2 per cycle) on the registers the configured
/// kernels use, best of several runs. Sixteen chains with AVX-512's 32 registers, twelve with 16 (sixteen would spill:
/// measured 64 instead of ~114 GFLOP/s on the AVX2 path of a Zen 5). Clock boost is included, as in the kernels' own runs.
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
            float sink = set switch
            {
                InstructionSet.Avx512 => Chains512(iterations),
                InstructionSet.Avx2 => Chains256(iterations),
                _ => Chains128(iterations),
            };
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            int lanes = set switch { InstructionSet.Avx512 => 16, InstructionSet.Avx2 => 8, _ => 4 };
            int chains = set == InstructionSet.Avx512 ? 16 : 12;
            double gflops = iterations * (double)chains * lanes * 2 / seconds / 1e9;
            if (float.IsFinite(sink))
                best = Math.Max(best, gflops);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains512(long iterations)
    {
        Vector512<float> m = Vector512.Create(0.999999f), a = Vector512.Create(1e-7f);
        Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        Vector512<float> c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a); c1 = Vector512.FusedMultiplyAdd(c1, m, a);
            c2 = Vector512.FusedMultiplyAdd(c2, m, a); c3 = Vector512.FusedMultiplyAdd(c3, m, a);
            c4 = Vector512.FusedMultiplyAdd(c4, m, a); c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a); c7 = Vector512.FusedMultiplyAdd(c7, m, a);
            c8 = Vector512.FusedMultiplyAdd(c8, m, a); c9 = Vector512.FusedMultiplyAdd(c9, m, a);
            c10 = Vector512.FusedMultiplyAdd(c10, m, a); c11 = Vector512.FusedMultiplyAdd(c11, m, a);
            c12 = Vector512.FusedMultiplyAdd(c12, m, a); c13 = Vector512.FusedMultiplyAdd(c13, m, a);
            c14 = Vector512.FusedMultiplyAdd(c14, m, a); c15 = Vector512.FusedMultiplyAdd(c15, m, a);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(long iterations)
    {
        Vector256<float> m = Vector256.Create(0.999999f), a = Vector256.Create(1e-7f);
        Vector256<float> c0 = Vector256.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        Vector256<float> c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, m, a); c1 = Vector256.FusedMultiplyAdd(c1, m, a);
            c2 = Vector256.FusedMultiplyAdd(c2, m, a); c3 = Vector256.FusedMultiplyAdd(c3, m, a);
            c4 = Vector256.FusedMultiplyAdd(c4, m, a); c5 = Vector256.FusedMultiplyAdd(c5, m, a);
            c6 = Vector256.FusedMultiplyAdd(c6, m, a); c7 = Vector256.FusedMultiplyAdd(c7, m, a);
            c8 = Vector256.FusedMultiplyAdd(c8, m, a); c9 = Vector256.FusedMultiplyAdd(c9, m, a);
            c10 = Vector256.FusedMultiplyAdd(c10, m, a); c11 = Vector256.FusedMultiplyAdd(c11, m, a);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    /// <summary>Vector128: a multiply and an add where the path has no FMA (counted as the same two flops).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains128(long iterations)
    {
        Vector128<float> m = Vector128.Create(0.999999f), a = Vector128.Create(1e-7f);
        Vector128<float> c0 = Vector128.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        Vector128<float> c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector128.MultiplyAddEstimate(c0, m, a); c1 = Vector128.MultiplyAddEstimate(c1, m, a);
            c2 = Vector128.MultiplyAddEstimate(c2, m, a); c3 = Vector128.MultiplyAddEstimate(c3, m, a);
            c4 = Vector128.MultiplyAddEstimate(c4, m, a); c5 = Vector128.MultiplyAddEstimate(c5, m, a);
            c6 = Vector128.MultiplyAddEstimate(c6, m, a); c7 = Vector128.MultiplyAddEstimate(c7, m, a);
            c8 = Vector128.MultiplyAddEstimate(c8, m, a); c9 = Vector128.MultiplyAddEstimate(c9, m, a);
            c10 = Vector128.MultiplyAddEstimate(c10, m, a); c11 = Vector128.MultiplyAddEstimate(c11, m, a);
        }
        return Vector128.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
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
