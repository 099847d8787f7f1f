using System.Globalization;
using FastBackprop.Hardware;
using FastBackprop.Kernels.Int8;

namespace FastBackprop.Tests;

/// <summary>The CPU description and the configuration derived from it: plausible readings, the block model reproducing
/// the sizes measured on Zen 5, the environment variable's syntax and its errors.</summary>
public class KernelConfigurationTests
{
    private static CpuInfo Cpu(long l1, long l2, long l3, InstructionSet set = InstructionSet.Avx512)
        => new("AuthenticAMD", "test CPU", 0x1A, 2, 1, 2, l1, l2, l3, 0, "test", set, set);

    [Fact]
    public void Cpu_description_is_plausible()
    {
        CpuInfo cpu = CpuInfo.Current;
        Assert.InRange(cpu.L1DataBytes, 4 * 1024, 4L * 1024 * 1024);
        Assert.InRange(cpu.L2Bytes, 64 * 1024, 256L * 1024 * 1024);
        Assert.True(cpu.L2Bytes > cpu.L1DataBytes, cpu.ToString());
        Assert.Equal(Environment.ProcessorCount, cpu.ProcessorCount);
        Assert.False(string.IsNullOrWhiteSpace(cpu.Name));
        Assert.True(cpu.CpuOffers >= cpu.Accelerated, cpu.ToString());
        // What the runtime accelerates, independently of CpuInfo's own reading.
        InstructionSet runtime = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? InstructionSet.Avx512
            : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? InstructionSet.Avx2 : InstructionSet.Vector128;
        Assert.Equal(runtime, cpu.Accelerated);
        Assert.Contains("caches per core", cpu.ToString());
    }

    [Fact]
    public void Default_configuration_runs_what_the_hardware_accelerates()
    {
        KernelConfiguration configuration = KernelConfiguration.For();
        Assert.Equal(CpuInfo.Current.Accelerated, configuration.InstructionSet);
        Assert.True(configuration.IsHardwareAccelerated);
        Assert.Equal("detected", configuration.Source);
    }

    /// <summary>The analytical model gives back the constants measured on Zen 5 before it existed, and fits Zen 3's smaller
    /// L2 (KC×NC×4 B ≤ ¾ L2).</summary>
    [Fact]
    public void Blocks_follow_the_caches()
    {
        KernelConfiguration zen5 = KernelConfiguration.For(Cpu(48 * 1024, 1024 * 1024, 32L * 1024 * 1024));
        Assert.Equal((1536, 512, 3072, 512L * 512 * 512), (zen5.KcBytes, zen5.NC, zen5.MC, zen5.InPlaceMaxVolume));
        Assert.Equal(4e6, zen5.MinimumFlopsPerThread);

        KernelConfiguration zen3 = KernelConfiguration.For(Cpu(32 * 1024, 512 * 1024, 32L * 1024 * 1024, InstructionSet.Avx2));
        Assert.Equal(InstructionSet.Avx2, zen3.InstructionSet);
        Assert.True((long)zen3.KcBytes * zen3.NC <= 3 * 512 * 1024 / 4, zen3.ToString());
        Assert.Equal(256, zen3.NC);

        foreach (long l1 in new long[] { 16 * 1024, 32 * 1024, 48 * 1024, 64 * 1024 })
            foreach (long l2 in new long[] { 256 * 1024, 512 * 1024, 1 << 20, 2 << 20 })
                foreach (long l3 in new long[] { 0, 4 << 20, 32 << 20 })
                    foreach (InstructionSet set in Enum.GetValues<InstructionSet>())
                    {
                        KernelConfiguration c = KernelConfiguration.For(Cpu(l1, l2, l3, set));
                        Assert.True(c.KcBytes % 64 == 0 && c.KcBytes >= 512, c.ToString());
                        Assert.True(c.NC % 64 == 0 && c.MC % 24 == 0, c.ToString());
                        Assert.True((long)c.KcBytes * c.NC <= Math.Max(3 * l2 / 4, 64L * c.KcBytes), c.ToString());
                    }
    }

    [Fact]
    public void Environment_syntax_sets_each_part()
    {
        CpuInfo cpu = Cpu(48 * 1024, 1024 * 1024, 32L * 1024 * 1024);
        KernelConfiguration c = KernelConfiguration.Parse("avx2, l1d=32K, L2=512k, l3=32M", cpu);
        Assert.Equal(InstructionSet.Avx2, c.InstructionSet);
        Assert.Equal((32 * 1024L, 512 * 1024L, 32L * 1024 * 1024), (c.L1DataBytes, c.L2Bytes, c.L3Bytes));
        Assert.Equal(256, c.NC);
        Assert.StartsWith("FASTBACKPROP_KERNELS=", c.Source);

        c = KernelConfiguration.Parse("kc=256,nc=1024,mc=480,inplace=0", cpu);
        Assert.Equal((1024, 1024, 480, 0L), (c.KcBytes, c.NC, c.MC, c.InPlaceMaxVolume));
        Assert.Equal(InstructionSet.Avx512, c.InstructionSet);
        Assert.Equal(InstructionSet.Vector128, KernelConfiguration.Parse("vector128", cpu).InstructionSet);
    }

    [Theory]
    [InlineData("avx1024", "'avx1024' is not an instruction set")]
    [InlineData("l2=big", "'l2=big' needs a non-negative whole number")]
    [InlineData("l2=-5", "needs a non-negative whole number")]
    [InlineData("kc=100", "kc=100 must be a positive multiple of 16")]
    [InlineData("nc=100", "nc=100 must be a positive multiple of 64")]
    [InlineData("mc=100", "mc=100 must be a positive multiple of 24")]
    [InlineData("l1d=1K", "too small to be real")]
    [InlineData("threads=4", "unknown key 'threads'")]
    [InlineData("int8=avx1024", "'int8=avx1024' names no int8 path (vector128, armdot, avx2, avx512bw, avxvnni)")]
    [InlineData("l3=99999999999999999999", "needs a non-negative whole number")]
    public void Environment_errors_quote_the_value_and_say_why(string text, string why)
    {
        var e = Assert.Throws<InvalidOperationException>(() => KernelConfiguration.Parse(text, CpuInfo.Current));
        Assert.Contains($"FASTBACKPROP_KERNELS='{text}'", e.Message);
        Assert.Contains(why, e.Message);
    }

    /// <summary><c>int8=</c> forces the int8 kernels' instructions by name (any case), and says so in the description; a
    /// path this process cannot execute is refused when the variable is read, not where a kernel would fault.</summary>
    [Fact]
    public void Int8_paths_are_chosen_by_name_when_they_can_run()
    {
        KernelConfiguration c = KernelConfiguration.Parse("int8=Vector128", CpuInfo.Current);
        Assert.Equal(Int8Path.Vector128, c.Int8Path);
        Assert.EndsWith("int8 kernels: Vector128 (widening multiply, int16 pairs)", c.ToString());
        foreach (Int8Path path in Int8Paths.All.Where(p => !Int8Paths.CanRun(p)))
        {
            var e = Assert.Throws<InvalidOperationException>(() => KernelConfiguration.Parse($"int8={path}", CpuInfo.Current));
            Assert.Contains($"this process cannot execute the int8 path {Int8Paths.Describe(path)}", e.Message);
        }
    }

    [Fact]
    public void Implausible_cache_sizes_and_unknown_sets_are_rejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => KernelConfiguration.For(l2Bytes: 1000));
        Assert.Contains("1000", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>("instructionSet", () => KernelConfiguration.For(instructionSet: (InstructionSet)7));
    }

    [Fact]
    public void Each_path_has_its_registers_and_tiles()
    {
        CpuInfo cpu = Cpu(48 * 1024, 1024 * 1024, 32L * 1024 * 1024);
        Assert.Equal((512, "12x32 and 8x32 AVX-512"), (KernelConfiguration.For(cpu, InstructionSet.Avx512).VectorBits, KernelConfiguration.For(cpu, InstructionSet.Avx512).GemmKernels));
        Assert.Equal((256, "6x16 AVX2 + FMA"), (KernelConfiguration.For(cpu, InstructionSet.Avx2).VectorBits, KernelConfiguration.For(cpu, InstructionSet.Avx2).GemmKernels));
        // The Vector128 tile is as tall as the register file allows: 6 rows with x86's 16 registers, 12 with ARM64's 32.
        string tile = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "12x8" : "6x8";
        Assert.Equal((128, $"{tile} Vector128"), (KernelConfiguration.For(cpu, InstructionSet.Vector128).VectorBits, KernelConfiguration.For(cpu, InstructionSet.Vector128).GemmKernels));
    }

    [Fact]
    public void Descriptions_name_the_parts()
    {
        string text = KernelConfiguration.For(Cpu(48 * 1024, 1024 * 1024, 32L * 1024 * 1024)).ToString();
        Assert.Contains("AVX-512", text);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"KC 384 floats / 192 doubles, NC 512, MC 3072"), text);
        string emulated = KernelConfiguration.For(Cpu(48 * 1024, 1024 * 1024, 0, InstructionSet.Avx2), InstructionSet.Avx512).ToString();
        Assert.Contains("emulated in software", emulated);
    }
}
