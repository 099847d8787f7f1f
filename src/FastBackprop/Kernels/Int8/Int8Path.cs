using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using FastBackprop.Hardware;

namespace FastBackprop.Kernels.Int8;

/// <summary>The instruction that multiplies the int8 codes (<see cref="Int8Scheme"/>). Every path computes the same int32
/// accumulators, bit for bit; they differ only in speed.</summary>
internal enum Int8Path
{
    /// <summary>Portable <see cref="Vector128"/>: widen to int16, multiply, add pairs with shifts (any host).</summary>
    Vector128,

    /// <summary>Arm64 SDOT (<see cref="Dp.DotProduct(Vector128{int}, Vector128{sbyte}, Vector128{sbyte})"/>), four products per int32 lane.</summary>
    ArmDot,

    /// <summary>256-bit vpmaddubsw + vpmaddwd + vpaddd.</summary>
    Avx2,

    /// <summary>512-bit vpmaddubsw + vpmaddwd + vpaddd.</summary>
    Avx512BW,

    /// <summary>256-bit vpdpbusd (<see cref="AvxVnni.MultiplyWideningAndAdd(Vector256{int}, Vector256{byte}, Vector256{sbyte})"/>):
    /// four products per int32 lane in one instruction.</summary>
    AvxVnni,
}

/// <summary>Which <see cref="Int8Path"/> a <see cref="KernelConfiguration"/> runs, decided once with the rest of the
/// configuration (tests force one with <see cref="KernelConfiguration.WithInt8Path"/>).</summary>
internal static class Int8Paths
{
    public static readonly Int8Path[] All = Enum.GetValues<Int8Path>();

    /// <summary>The path for the configuration's register width. On AVX-512 hosts the 512-bit vpmaddubsw + vpmaddwd +
    /// vpaddd (three instructions per 64 products) over the 256-bit vpdpbusd (one per 32) where both exist: on Zen 5 both
    /// reach its two vector multiplies per cycle, and in five side-by-side runs (784-512-256-10, one thread) the 512-bit
    /// sequence was 10–25% faster for one sample and equal within noise for 128 (its panels are twice as wide, so a
    /// single row's loop runs half as many iterations). AVX-VNNI serves AVX2-only hosts that have it (Intel Alder Lake).</summary>
    public static Int8Path Choose(InstructionSet set)
    {
        // A configuration may ask for a wider register than the CPU has (tests force AVX-512 on AVX2 hosts, and the float
        // kernels then run it in software); the int8 instructions have no such fallback, so take the first one that runs.
        ReadOnlySpan<Int8Path> preference = set switch
        {
            InstructionSet.Avx512 => [Int8Path.Avx512BW, Int8Path.AvxVnni, Int8Path.Avx2, Int8Path.Vector128],
            InstructionSet.Avx2 => [Int8Path.AvxVnni, Int8Path.Avx2, Int8Path.Vector128],
            _ => [Int8Path.ArmDot, Int8Path.Vector128],
        };
        foreach (Int8Path path in preference)
        {
            if (CanRun(path))
                return path;
        }
        return Int8Path.Vector128;
    }

    /// <summary>Whether this process can execute <paramref name="path"/> at all. Unlike the float paths, these instructions
    /// have no software fallback: AVX-VNNI on a CPU without it, or SDOT on x86, would throw.</summary>
    public static bool CanRun(Int8Path path) => path switch
    {
        Int8Path.Vector128 => true,
        Int8Path.ArmDot => Dp.IsSupported,
        Int8Path.Avx2 => Avx2.IsSupported,
        Int8Path.Avx512BW => Avx512BW.IsSupported,
        Int8Path.AvxVnni => AvxVnni.IsSupported,
        _ => false,
    };

    /// <summary>Words for people: the instructions a path runs.</summary>
    public static string Describe(Int8Path path) => path switch
    {
        Int8Path.Vector128 => "Vector128 (widening multiply, int16 pairs)",
        Int8Path.ArmDot => "Arm64 SDOT",
        Int8Path.Avx2 => "AVX2 vpmaddubsw + vpmaddwd",
        Int8Path.Avx512BW => "AVX-512BW vpmaddubsw + vpmaddwd",
        Int8Path.AvxVnni => "AVX-VNNI vpdpbusd (256-bit)",
        _ => path.ToString(),
    };
}
