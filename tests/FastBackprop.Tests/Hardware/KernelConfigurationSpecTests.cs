using FastBackprop.Hardware;
using FastBackprop.Kernels.Int8;

namespace FastBackprop.Tests.Hardware;

/// <summary>
/// The kernel configuration as a specification: the cache-block model at and between its limits, the in-place volume,
/// the plausibility limits of <see cref="KernelConfiguration.For"/>, and <c>FASTBACKPROP_KERNELS</c>'s syntax — every
/// alias, suffix, cap and boundary value of each key.
/// </summary>
public class KernelConfigurationSpecTests
{
    private const long KiB = 1024, MiB = 1024 * 1024;

    private static CpuInfo Cpu(long l1 = 48 * KiB, long l2 = 1 * MiB, long l3 = 32 * MiB,
        InstructionSet offers = InstructionSet.Avx512, InstructionSet accelerated = InstructionSet.Avx512)
        => new("AuthenticAMD", "test CPU", 0x1A, 2, 1, 2, l1, l2, l3, 0, "test", offers, accelerated);

    private static KernelConfiguration Parse(string text) => KernelConfiguration.Parse(text, Cpu());

    // ---- The block model (BLIS's analytical model) ----

    /// <summary>KC: 3/8 of L1d per MR rows, rounded down to 256 bytes, within [512, 1536]; NC: 3/4 of L2 per KC row,
    /// rounded down to 64 columns, within [64, 4096]; MC: half the L3 (or the L2 without an L3) per KC row, rounded down
    /// to 24 rows, within [96, 3072].</summary>
    [Theory]
    [InlineData(12, 48 * KiB, 1 * MiB, 32 * MiB, 1536, 512, 3072)]       // Zen 5: the measured constants
    [InlineData(6, 32 * KiB, 512 * KiB, 32 * MiB, 1536, 256, 3072)]      // Zen 3: KC at its cap
    [InlineData(12, 40 * KiB, 1 * MiB, 2 * MiB, 1280, 576, 816)]         // every quantity between its limits
    [InlineData(12, 40 * KiB, 512 * KiB, 0, 1280, 256, 408)]            // no L3: MC from the L2
    [InlineData(12, 32 * KiB, 1 * MiB, 4 * MiB, 1024, 768, 2040)]        // KC exactly a multiple of 256
    [InlineData(12, 4 * KiB, 16 * KiB, 0, 512, 64, 96)]                 // every lower limit
    [InlineData(6, 64 * KiB, 64 * MiB, 1024 * MiB, 1536, 4096, 3072)]    // every upper limit
    public void Blocks_follow_the_analytical_model(int mr, long l1, long l2, long l3, int kcBytes, int nc, int mc)
        => Assert.Equal((kcBytes, nc, mc), KernelConfiguration.Derive(mr, l1, l2, l3));

    /// <summary>Products read in place up to (L2 / 4 bytes)^1.5: 512³ for a 1 MiB L2, 1024³ for 4 MiB.</summary>
    [Theory]
    [InlineData(1 * MiB, 512L * 512 * 512)]
    [InlineData(4 * MiB, 1024L * 1024 * 1024)]
    [InlineData(64 * KiB, 128L * 128 * 128)]
    public void In_place_volume_is_a_cube_that_fits_the_L2(long l2, long volume)
        => Assert.Equal(volume, KernelConfiguration.For(Cpu(l2: l2)).InPlaceMaxVolume);

    /// <summary>The rows key picks one of the path's GEMM kernels, and only one that exists; x86 takes the 6-row
    /// Vector128 kernel by default (16 registers), ARM64 the 12-row one (32).</summary>
    [Theory]
    [InlineData("vector128,rows=12", "12x8 Vector128")]
    [InlineData("vector128,rows=6", "6x8 Vector128")]
    [InlineData("avx512,rows=8", "8x32 AVX-512")]
    [InlineData("avx2,rows=6", "6x16 AVX2")]
    public void Rows_pick_one_of_the_paths_kernels(string text, string kernels)
    {
        KernelConfiguration c = Parse(text);
        Assert.StartsWith(kernels, c.GemmKernels);
        Assert.Equal(c.TileRows, c.WithInt8Path(c.Int8Path).TileRows);
    }

    [Theory]
    [InlineData("vector128,rows=8")]
    [InlineData("avx2,rows=12")]
    [InlineData("avx512,rows=6")]
    [InlineData("rows=0")]
    public void Rows_without_a_kernel_are_refused_naming_the_heights_that_exist(string text)
    {
        var e = Assert.Throws<InvalidOperationException>(() => Parse(text));
        Assert.Contains("rows=", e.Message);
        Assert.Contains("AVX-512: 12 or 8; AVX2: 6; Vector128: 6 or 12", e.Message);
    }

    [Fact]
    public void The_default_vector128_tile_follows_the_register_file()
        => Assert.Equal(System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? [12] : [6],
            KernelConfiguration.For(instructionSet: InstructionSet.Vector128).TileRows);

    [Fact]
    public void Thread_and_matrix_vector_thresholds_scale_with_the_path()
    {
        Assert.Equal(1e6, KernelConfiguration.For(Cpu(), InstructionSet.Vector128).MinimumFlopsPerThread);
        Assert.Equal(2e6, KernelConfiguration.For(Cpu(), InstructionSet.Avx2).MinimumFlopsPerThread);
        Assert.Equal(4e6, KernelConfiguration.For(Cpu(), InstructionSet.Avx512).MinimumFlopsPerThread);
        Assert.Equal(192 * KiB, KernelConfiguration.For(Cpu()).MatrixVectorBytesPerPart);
        Assert.Equal([12, 8], KernelConfiguration.For(Cpu(), InstructionSet.Avx512).TileRows);
        Assert.Equal([6], KernelConfiguration.For(Cpu(), InstructionSet.Avx2).TileRows);
    }

    // ---- For(...) ----

    [Fact]
    public void For_takes_the_cpus_path_and_caches_unless_told_otherwise()
    {
        CpuInfo cpu = Cpu(l1: 32 * KiB, l2: 512 * KiB, l3: 16 * MiB, offers: InstructionSet.Avx512, accelerated: InstructionSet.Avx2);
        KernelConfiguration c = KernelConfiguration.For(cpu);
        Assert.Same(cpu, c.Cpu);
        Assert.Equal((InstructionSet.Avx2, 32 * KiB, 512 * KiB, 16 * MiB, "detected"), (c.InstructionSet, c.L1DataBytes, c.L2Bytes, c.L3Bytes, c.Source));

        KernelConfiguration other = KernelConfiguration.For(cpu, l1DataBytes: 64 * KiB, l2Bytes: 2 * MiB, l3Bytes: 0);
        Assert.Equal((64 * KiB, 2 * MiB, 0L), (other.L1DataBytes, other.L2Bytes, other.L3Bytes));
    }

    /// <summary>Any override, alone, marks the configuration as chosen rather than detected.</summary>
    [Fact]
    public void Each_override_alone_is_reported_as_chosen()
    {
        CpuInfo cpu = Cpu();
        const string chosen = "chosen by For(...)";
        Assert.Equal(chosen, KernelConfiguration.For(cpu, instructionSet: InstructionSet.Avx512).Source);
        Assert.Equal(chosen, KernelConfiguration.For(cpu, l1DataBytes: cpu.L1DataBytes).Source);
        Assert.Equal(chosen, KernelConfiguration.For(cpu, l2Bytes: cpu.L2Bytes).Source);
        Assert.Equal(chosen, KernelConfiguration.For(cpu, l3Bytes: cpu.L3Bytes).Source);
    }

    /// <summary>The plausibility limits are inclusive: L1d 4 KiB, L2 16 KiB and L3 0 are accepted, one byte less is not.</summary>
    [Fact]
    public void For_accepts_caches_down_to_the_limits_and_refuses_below()
    {
        KernelConfiguration smallest = KernelConfiguration.For(Cpu(), l1DataBytes: 4096, l2Bytes: 16384, l3Bytes: 0);
        Assert.Equal((4096L, 16384L, 0L), (smallest.L1DataBytes, smallest.L2Bytes, smallest.L3Bytes));
        Assert.Throws<ArgumentOutOfRangeException>("l1DataBytes", () => KernelConfiguration.For(Cpu(), l1DataBytes: 4095));
        Assert.Throws<ArgumentOutOfRangeException>("l1DataBytes", () => KernelConfiguration.For(Cpu(), l2Bytes: 16383));
        Assert.Throws<ArgumentOutOfRangeException>("l1DataBytes", () => KernelConfiguration.For(Cpu(), l3Bytes: -1));
    }

    [Fact]
    public void Hardware_acceleration_means_no_wider_than_the_cpu_runs()
    {
        CpuInfo avx2 = Cpu(offers: InstructionSet.Avx2, accelerated: InstructionSet.Avx2);
        Assert.True(KernelConfiguration.For(avx2, InstructionSet.Vector128).IsHardwareAccelerated);
        Assert.True(KernelConfiguration.For(avx2, InstructionSet.Avx2).IsHardwareAccelerated);
        Assert.False(KernelConfiguration.For(avx2, InstructionSet.Avx512).IsHardwareAccelerated);
    }

    [Fact]
    public void Description_states_every_figure()
    {
        string text = KernelConfiguration.For(Cpu(), InstructionSet.Avx2).ToString();
        Assert.Equal(
            "kernels: AVX2 + FMA (256-bit), GEMM tiles 6x16 AVX2 + FMA (chosen by For(...))\n"
            + "GEMM blocks: KC 384 floats / 192 doubles, NC 512, MC 3072 (from L1d 48 KiB, L2 1 MiB, L3 32 MiB)\n"
            + "in place up to m*n*k = 134,217,728; threads from 2 MFLOP each; matrix-vector split from 192 KiB per part\n"
            + $"int8 kernels: {Int8Paths.Describe(Int8Paths.Choose(InstructionSet.Avx2))}",
            text);
    }

    // ---- FASTBACKPROP_KERNELS ----

    [Theory]
    [InlineData("avx512", InstructionSet.Avx512)]
    [InlineData("AVX-512", InstructionSet.Avx512)]
    [InlineData("avx2", InstructionSet.Avx2)]
    [InlineData("vector128", InstructionSet.Vector128)]
    [InlineData("sse", InstructionSet.Vector128)]
    [InlineData("NEON", InstructionSet.Vector128)]
    [InlineData("avx2,vector128", InstructionSet.Vector128)]
    public void Every_instruction_set_name_is_understood(string text, InstructionSet set)
        => Assert.Equal(set, KernelConfiguration.Parse(text, Cpu(accelerated: InstructionSet.Avx2)).InstructionSet);

    [Fact]
    public void Parts_left_out_come_from_the_cpu()
    {
        CpuInfo cpu = Cpu(l1: 32 * KiB, l2: 512 * KiB, l3: 16 * MiB, accelerated: InstructionSet.Avx2);
        KernelConfiguration c = KernelConfiguration.Parse("kc=64", cpu);
        Assert.Equal((InstructionSet.Avx2, 32 * KiB, 512 * KiB, 16 * MiB), (c.InstructionSet, c.L1DataBytes, c.L2Bytes, c.L3Bytes));
        KernelConfiguration derived = KernelConfiguration.For(cpu);
        Assert.Equal((256, derived.NC, derived.MC, derived.InPlaceMaxVolume), (c.KcBytes, c.NC, c.MC, c.InPlaceMaxVolume));
        Assert.Equal("FASTBACKPROP_KERNELS=kc=64", c.Source);
    }

    [Theory]
    [InlineData("l1d=40960", 40 * KiB, 1 * MiB, 32 * MiB)]
    [InlineData("l1=40k", 40 * KiB, 1 * MiB, 32 * MiB)]
    [InlineData("l2=2M", 48 * KiB, 2 * MiB, 32 * MiB)]
    [InlineData("l3=0", 48 * KiB, 1 * MiB, 0)]
    [InlineData(" l3=8m ,, l2=16384", 48 * KiB, 16 * KiB, 8 * MiB)]
    public void Cache_sizes_take_K_and_M_suffixes_and_derive_the_blocks(string text, long l1, long l2, long l3)
    {
        KernelConfiguration c = Parse(text);
        Assert.Equal((l1, l2, l3), (c.L1DataBytes, c.L2Bytes, c.L3Bytes));
        KernelConfiguration same = KernelConfiguration.For(Cpu(), l1DataBytes: l1, l2Bytes: l2, l3Bytes: l3);
        Assert.Equal((same.KcBytes, same.NC, same.MC, same.InPlaceMaxVolume), (c.KcBytes, c.NC, c.MC, c.InPlaceMaxVolume));
    }

    /// <summary>Each block key's smallest accepted value, and the values just beside it that are refused.</summary>
    [Fact]
    public void Block_keys_accept_their_smallest_multiple()
    {
        Assert.Equal(16 * sizeof(float), Parse("kc=16").KcBytes);
        Assert.Equal(64, Parse("nc=64").NC);
        Assert.Equal(24, Parse("mc=24").MC);
        Assert.Equal(12345L, Parse("inplace=12345").InPlaceMaxVolume);
        foreach (string refused in new[] { "kc=0", "kc=8", "kc=24", "nc=0", "nc=32", "nc=96", "mc=0", "mc=12", "mc=36" })
            AssertRefused(refused, $"{refused} must be a positive multiple of");
    }

    /// <summary>Block keys are capped (KC at 65,536 floats, NC and MC at 2^20) before their multiple is checked.</summary>
    [Fact]
    public void Block_keys_are_capped()
    {
        Assert.Equal(65536 * sizeof(float), Parse("kc=100000").KcBytes);
        Assert.Equal(1 << 20, Parse("nc=2000000").NC);
        // 2^20 is not a multiple of 24, so an MC beyond the cap is refused as the cap.
        AssertRefused("mc=2000016", "mc=1048576 must be a positive multiple of 24");
    }

    /// <summary>The cache limits are inclusive, as in For: L1d 4K and L2 16K are accepted.</summary>
    [Fact]
    public void Cache_limits_are_inclusive()
    {
        Assert.Equal((4096L, 16384L), (Parse("l1d=4k,l2=16k").L1DataBytes, Parse("l1d=4k,l2=16k").L2Bytes));
        AssertRefused("l1d=4095", "too small to be real");
        AssertRefused("l2=16383", "too small to be real");
    }

    /// <summary>Sizes are plain non-negative decimals: no sign, no blanks inside, no overflow after the suffix.</summary>
    [Fact]
    public void Sizes_are_plain_decimals_that_fit_after_their_suffix()
    {
        long largestMiB = long.MaxValue / MiB;
        Assert.Equal(largestMiB * MiB, Parse($"l3={largestMiB}m").L3Bytes);
        Assert.Equal(long.MaxValue / KiB * KiB, Parse($"l3={long.MaxValue / KiB}k").L3Bytes);
        foreach (string refused in new[] { $"l3={largestMiB + 1}m", $"l3={long.MaxValue / KiB + 1}k", "l2=+512", "l2=5 12", "l2=0x10", "l2=", "l2=1.5m", "l2=1g" })
            AssertRefused(refused, "needs a non-negative whole number");
    }

    private static void AssertRefused(string text, string why)
    {
        var e = Assert.Throws<InvalidOperationException>(() => Parse(text));
        Assert.Contains(KernelConfiguration.EnvironmentVariable, e.Message, StringComparison.Ordinal);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }
}

/// <summary>Forcing a configuration is process-wide, so this runs apart from every other kernel user.</summary>
[Collection(nameof(ForcedKernelConfiguration))]
public class ForcedKernelConfigurationSpecTests
{
    [Fact]
    public void A_forced_configuration_holds_until_its_scope_ends()
    {
        KernelConfiguration before = KernelConfiguration.Current;
        CpuInfo cpu = new("AuthenticAMD", "test CPU", 0x1A, 2, 1, 2, 48 * 1024, 1 << 20, 32 << 20, 0, "test", InstructionSet.Avx512, InstructionSet.Avx512);
        KernelConfiguration forced = KernelConfiguration.For(cpu, InstructionSet.Vector128);
        using (KernelConfiguration.Use(forced))
        {
            Assert.Same(forced, KernelConfiguration.Current);
            Assert.Same(forced, KernelConfiguration.Active);
        }
        Assert.Same(before, KernelConfiguration.Current);
    }
}
