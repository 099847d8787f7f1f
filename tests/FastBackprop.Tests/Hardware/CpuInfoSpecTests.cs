using System.Text;
using FastBackprop.Hardware;

namespace FastBackprop.Tests.Hardware;

/// <summary>
/// The CPU description as a specification: recorded CPUID leaves (this project's AMD EPYC Zen 5, an Intel Xeon, a
/// virtual machine hiding the topology leaves, CPUs without the leaves the description reads) → the description
/// expected, and sysfs cache trees → the cache sizes.
/// </summary>
public sealed class CpuInfoSpecTests : IDisposable
{
    private const long KiB = 1024, MiB = 1024 * 1024;
    private const int Data = 1, Instruction = 2, Unified = 3;
    private readonly string sysfs = Directory.CreateTempSubdirectory("fastbackprop-sysfs-").FullName;

    public void Dispose() => Directory.Delete(sysfs, recursive: true);

    // ---- Recorded CPUID leaves ----

    /// <summary>CPUID as recorded leaf by leaf; leaves not recorded read as zeros, as CPUs answer leaves beyond their maximum.</summary>
    private sealed class RecordedCpuid
    {
        private readonly Dictionary<(int, int), (int, int, int, int)> leaves = [];

        public RecordedCpuid Leaf(uint leaf, int eax, int ebx = 0, int ecx = 0, int edx = 0, int subleaf = 0)
        {
            leaves[(unchecked((int)leaf), subleaf)] = (eax, ebx, ecx, edx);
            return this;
        }

        /// <summary>Leaf 0: the highest standard leaf and the vendor string in EBX, EDX, ECX.</summary>
        public RecordedCpuid Vendor(string vendor, int maxLeaf)
            => Leaf(0, maxLeaf, Register(vendor, 0), Register(vendor, 8), Register(vendor, 4));

        /// <summary>Leaves 0x80000002–4: the 48-byte brand string, NUL-padded; also sets the highest extended leaf.</summary>
        public RecordedCpuid Brand(string brand, uint maxExtended = 0x80000008)
        {
            Leaf(0x80000000, unchecked((int)maxExtended));
            string padded = brand.PadRight(48, '\0');
            for (int i = 0; i < 3; i++)
                Leaf(0x80000002 + (uint)i, Register(padded, 16 * i), Register(padded, 16 * i + 4), Register(padded, 16 * i + 8), Register(padded, 16 * i + 12));
            return this;
        }

        /// <summary>A deterministic cache-parameter subleaf (leaf 4 or 0x8000001D).</summary>
        public RecordedCpuid Cache(uint leaf, int subleaf, int type, int level, int sharedBy, int ways, int partitions, int line, int sets)
            => Leaf(leaf, type | (level << 5) | ((sharedBy - 1) << 14), (line - 1) | ((partitions - 1) << 12) | ((ways - 1) << 22), sets - 1, subleaf: subleaf);

        public (int, int, int, int) Query(int leaf, int subleaf) => leaves.GetValueOrDefault((leaf, subleaf));

        private static int Register(string text, int at) => BitConverter.ToInt32(Encoding.ASCII.GetBytes(text.PadRight(at + 4, '\0')), at);
    }

    /// <summary>Leaf 1 EAX from display family/model/stepping, with the extended fields as CPUs encode them.</summary>
    private static int Signature(int baseFamily, int extendedFamily, int baseModel, int extendedModel, int stepping)
        => stepping | (baseModel << 4) | (baseFamily << 8) | (extendedModel << 16) | (extendedFamily << 20);

    private const int Fma = 1 << 12, Avx2 = 1 << 5, Avx512F = 1 << 16, Avx512DQ = 1 << 17, Avx512BW = 1 << 30, TopologyExtensions = 1 << 22;

    /// <summary>The machine this project's figures come from (lscpu: AMD EPYC, family 26 model 2 stepping 1).</summary>
    private static RecordedCpuid Zen5() => new RecordedCpuid()
        .Vendor("AuthenticAMD", maxLeaf: 0x10)
        .Leaf(1, Signature(0xF, 0xB, 2, 0, 1), ecx: Fma)
        .Leaf(7, 0, ebx: Avx2 | Avx512F | Avx512DQ | Avx512BW)
        .Brand("AMD EPYC 9B45 128-Core Processor                ", maxExtended: 0x80000028)
        .Leaf(0x80000001, 0, ecx: TopologyExtensions)
        .Cache(0x8000001D, 0, Data, 1, 2, ways: 12, partitions: 1, line: 64, sets: 64)
        .Cache(0x8000001D, 1, Instruction, 1, 2, ways: 8, partitions: 1, line: 64, sets: 64)
        .Cache(0x8000001D, 2, Unified, 2, 2, ways: 16, partitions: 1, line: 64, sets: 1024)
        .Cache(0x8000001D, 3, Unified, 3, 16, ways: 16, partitions: 1, line: 64, sets: 32768);

    /// <summary>An Intel Xeon (Skylake-SP: family 6, model 0x55) with its caches in leaf 4.</summary>
    private static RecordedCpuid SkylakeXeon() => new RecordedCpuid()
        .Vendor("GenuineIntel", maxLeaf: 0x16)
        .Leaf(1, Signature(6, 0, 5, 5, 4), ecx: Fma)
        .Leaf(7, 0, ebx: Avx2 | Avx512F | Avx512DQ | Avx512BW)
        .Brand("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz")
        .Cache(4, 0, Data, 1, 2, ways: 8, partitions: 1, line: 64, sets: 64)
        .Cache(4, 1, Instruction, 1, 2, ways: 8, partitions: 1, line: 64, sets: 64)
        .Cache(4, 2, Unified, 2, 2, ways: 16, partitions: 1, line: 64, sets: 1024)
        .Cache(4, 3, Unified, 3, 40, ways: 11, partitions: 1, line: 64, sets: 40960);

    private static CpuInfo Describe(RecordedCpuid cpuid, InstructionSet accelerated = InstructionSet.Avx512,
        (long, long, long, int, string)? sysfs = null)
        => CpuInfo.FromCpuid(cpuid.Query, accelerated, processors: 2, () => sysfs);

    [Fact]
    public void Zen5_leaves_give_the_full_description()
    {
        CpuInfo cpu = Describe(Zen5());
        Assert.Equal(
            "CPU: AMD EPYC 9B45 128-Core Processor (AuthenticAMD, family 26 (0x1A), model 2 (0x2), stepping 1; Zen 5)\n"
            + "instruction sets: the CPU offers AVX-512; this process can use AVX-512\n"
            + "caches per core: L1d 48 KiB, L2 1 MiB, L3 32 MiB shared by 16 (from CPUID leaf 0x8000001D)\n"
            + "processors seen by the runtime: 2",
            cpu.ToString());
        Assert.Equal((48 * KiB, 1 * MiB, 32 * MiB, 16), (cpu.L1DataBytes, cpu.L2Bytes, cpu.L3Bytes, cpu.L3SharedBy));
        Assert.False(cpu.LeavesFasterPathUnused);
    }

    [Fact]
    public void Intel_leaves_give_the_caches_of_leaf_4_and_the_extended_model()
    {
        CpuInfo cpu = Describe(SkylakeXeon(), InstructionSet.Avx2);
        Assert.Equal(("GenuineIntel", "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz"), (cpu.Vendor, cpu.Name));
        Assert.Equal((6, 0x55, 4, "unknown"), (cpu.Family, cpu.Model, cpu.Stepping, cpu.Microarchitecture));
        Assert.Equal((32 * KiB, 1 * MiB, 11 * 64 * 40960L, 40, "CPUID leaf 4"), (cpu.L1DataBytes, cpu.L2Bytes, cpu.L3Bytes, cpu.L3SharedBy, cpu.CacheSource));
        Assert.Equal((InstructionSet.Avx512, InstructionSet.Avx2), (cpu.CpuOffers, cpu.Accelerated));
        Assert.True(cpu.LeavesFasterPathUnused);
    }

    /// <summary>Cache size = ways × partitions × line × sets, each field stored minus one; instruction caches and
    /// unknown levels do not count.</summary>
    [Fact]
    public void Cache_leaves_multiply_all_four_fields()
    {
        RecordedCpuid cpuid = new RecordedCpuid().Vendor("GenuineIntel", maxLeaf: 4).Leaf(1, Signature(6, 0, 5, 5, 4))
            .Cache(4, 0, Instruction, 1, 1, ways: 4, partitions: 1, line: 64, sets: 64)
            .Cache(4, 1, Data, 1, 1, ways: 3, partitions: 2, line: 32, sets: 5)
            .Cache(4, 2, Data, 2, 1, ways: 5, partitions: 3, line: 128, sets: 7)
            .Cache(4, 3, Unified, 4, 1, ways: 16, partitions: 1, line: 64, sets: 8192)
            .Cache(4, 4, Data, 3, 6, ways: 7, partitions: 2, line: 64, sets: 3);
        CpuInfo cpu = Describe(cpuid);
        Assert.Equal((3 * 2 * 32 * 5L, 5 * 3 * 128 * 7L, 7 * 2 * 64 * 3L, 6), (cpu.L1DataBytes, cpu.L2Bytes, cpu.L3Bytes, cpu.L3SharedBy));
    }

    /// <summary>The cache subleaves end at the first of type 0: a cache listed after it is not read.</summary>
    [Fact]
    public void Cache_leaves_end_at_type_zero()
    {
        RecordedCpuid cpuid = SkylakeXeon()
            .Leaf(4, 0, subleaf: 3)
            .Cache(4, 4, Unified, 3, 40, ways: 11, partitions: 1, line: 64, sets: 40960);
        CpuInfo cpu = Describe(cpuid);
        Assert.Equal((0L, 1), (cpu.L3Bytes, cpu.L3SharedBy));
        Assert.Contains("L3 none", cpu.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Without an L1d or an L2 in the cache leaves, sysfs answers; without sysfs, AMD's older leaves; without
    /// those, the defaults.</summary>
    [Fact]
    public void Caches_fall_back_from_cpuid_to_sysfs_to_amd_legacy_leaves_to_defaults()
    {
        RecordedCpuid NoL2() => Zen5().Leaf(0x8000001D, 0, subleaf: 2).Leaf(0x8000001D, 0, subleaf: 3);
        CpuInfo fromSysfs = Describe(NoL2(), sysfs: (64 * KiB, 2 * MiB, 0, 0, "sysfs"));
        Assert.Equal((64 * KiB, 2 * MiB, 0L, "sysfs"), (fromSysfs.L1DataBytes, fromSysfs.L2Bytes, fromSysfs.L3Bytes, fromSysfs.CacheSource));

        RecordedCpuid legacy = NoL2()
            .Leaf(0x80000005, 0, ecx: 48 << 24)
            .Leaf(0x80000006, 0, ecx: 1024 << 16, edx: 64 << 18);
        CpuInfo fromLegacy = Describe(legacy);
        Assert.Equal((48 * KiB, 1 * MiB, 32 * MiB, 0, "CPUID leaves 0x80000005/6"),
            (fromLegacy.L1DataBytes, fromLegacy.L2Bytes, fromLegacy.L3Bytes, fromLegacy.L3SharedBy, fromLegacy.CacheSource));
        Assert.Contains("L3 32 MiB (the whole processor's)", fromLegacy.ToString(), StringComparison.Ordinal);

        CpuInfo defaults = Describe(NoL2());
        Assert.Equal((32 * KiB, 512 * KiB, 8 * MiB, 0, "defaults"), (defaults.L1DataBytes, defaults.L2Bytes, defaults.L3Bytes, defaults.L3SharedBy, defaults.CacheSource));
    }

    /// <summary>A virtual machine that hides the topology leaves (no TOPOEXT bit, or a maximum below 0x8000001D) still
    /// gives its caches through AMD's older leaves; an Intel CPU is never read that way, and an AMD one only where leaf
    /// 0x80000006 exists.</summary>
    [Fact]
    public void Amd_legacy_leaves_need_an_amd_vendor_and_leaf_0x80000006()
    {
        RecordedCpuid Hidden(RecordedCpuid cpuid) => cpuid
            .Leaf(0x80000005, 0, ecx: 32 << 24)
            .Leaf(0x80000006, 0, ecx: 512 << 16, edx: 16 << 18);
        Assert.Equal("CPUID leaves 0x80000005/6", Describe(Hidden(Zen5().Leaf(0x80000001, 0))).CacheSource);
        Assert.Equal("CPUID leaves 0x80000005/6", Describe(Hidden(Zen5().Leaf(0x80000000, unchecked((int)0x8000001C)))).CacheSource);
        Assert.Equal("CPUID leaves 0x80000005/6", Describe(Hidden(Zen5().Vendor("HygonGenuine", 0x10).Leaf(0x80000001, 0))).CacheSource);
        Assert.Equal("CPUID leaf 0x8000001D", Describe(Hidden(Zen5().Leaf(0x80000000, unchecked((int)0x8000001D)))).CacheSource);
        Assert.Equal("CPUID leaves 0x80000005/6", Describe(Hidden(Zen5().Leaf(0x80000001, 0)).Leaf(0x80000000, unchecked((int)0x80000006))).CacheSource);

        RecordedCpuid intelWithoutLeaf4 = Hidden(SkylakeXeon().Vendor("GenuineIntel", maxLeaf: 3));
        Assert.Equal("defaults", Describe(intelWithoutLeaf4).CacheSource);
        RecordedCpuid amdWithout6 = Hidden(Zen5().Leaf(0x80000001, 0)).Leaf(0x80000000, unchecked((int)0x80000005));
        Assert.Equal("defaults", Describe(amdWithout6).CacheSource);
        // The legacy leaves need an L1d and an L2 too.
        Assert.Equal("defaults", Describe(Zen5().Leaf(0x80000001, 0).Leaf(0x80000006, 0, ecx: 512 << 16)).CacheSource);
        Assert.Equal("defaults", Describe(Zen5().Leaf(0x80000001, 0).Leaf(0x80000005, 0, ecx: 32 << 24)).CacheSource);
    }

    /// <summary>Leaf 4 is Intel's: another vendor's leaf 4 is not read as caches.</summary>
    [Fact]
    public void Leaf_4_is_read_only_for_intel()
    {
        RecordedCpuid other = SkylakeXeon().Vendor("CentaurHauls", maxLeaf: 0x16);
        Assert.Equal("defaults", Describe(other).CacheSource);
        Assert.Equal("CPUID leaf 4", Describe(SkylakeXeon().Vendor("GenuineIntel", maxLeaf: 4)).CacheSource);
    }

    /// <summary>Display family = base + extended only for base family 0xF; display model includes the extended model
    /// for base families 6 and 0xF only.</summary>
    [Theory]
    [InlineData(0xF, 0xB, 2, 0, 0x1A, 0x02)]
    [InlineData(0xF, 0x8, 1, 3, 0x17, 0x31)]
    [InlineData(0xF, 0x0, 4, 0, 0x0F, 0x04)]
    [InlineData(6, 0, 5, 5, 6, 0x55)]
    [InlineData(6, 3, 0xA, 9, 6, 0x9A)]
    [InlineData(5, 1, 4, 2, 5, 4)]
    public void Family_and_model_combine_base_and_extended_fields(int baseFamily, int extendedFamily, int baseModel, int extendedModel, int family, int model)
    {
        CpuInfo cpu = Describe(Zen5().Leaf(1, Signature(baseFamily, extendedFamily, baseModel, extendedModel, 0xB), ecx: Fma));
        Assert.Equal((family, model, 0xB), (cpu.Family, cpu.Model, cpu.Stepping));
    }

    /// <summary>AVX-512 needs F, DQ and BW with AVX2 and FMA; AVX2 needs FMA; leaf 7 counts only where the CPU has it.
    /// The CPU is never said to offer less than the runtime already uses (the OS's register saving is the runtime's
    /// check, not CPUID's).</summary>
    [Theory]
    [InlineData(Fma, Avx2 | Avx512F | Avx512DQ | Avx512BW, 7, InstructionSet.Avx512)]
    [InlineData(Fma, Avx2 | Avx512F | Avx512DQ, 7, InstructionSet.Avx2)]
    [InlineData(Fma, Avx2 | Avx512F | Avx512BW, 7, InstructionSet.Avx2)]
    [InlineData(Fma, Avx2 | Avx512DQ | Avx512BW, 7, InstructionSet.Avx2)]
    [InlineData(Fma, Avx512F | Avx512DQ | Avx512BW, 7, InstructionSet.Vector128)]
    [InlineData(0, Avx2 | Avx512F | Avx512DQ | Avx512BW, 7, InstructionSet.Vector128)]
    [InlineData(Fma, Avx2, 7, InstructionSet.Avx2)]
    [InlineData(Fma, Avx2 | Avx512F | Avx512DQ | Avx512BW, 6, InstructionSet.Vector128)]
    public void Feature_bits_decide_what_the_cpu_offers(int ecx1, int ebx7, int maxLeaf, InstructionSet offers)
    {
        RecordedCpuid cpuid = Zen5().Vendor("AuthenticAMD", maxLeaf).Leaf(1, Signature(0xF, 0xB, 2, 0, 1), ecx: ecx1).Leaf(7, 0, ebx: ebx7);
        CpuInfo cpu = Describe(cpuid, InstructionSet.Vector128);
        Assert.Equal((offers, InstructionSet.Vector128), (cpu.CpuOffers, cpu.Accelerated));
        Assert.Equal(offers > InstructionSet.Vector128, cpu.LeavesFasterPathUnused);
        foreach (InstructionSet runtime in Enum.GetValues<InstructionSet>())
            Assert.Equal(runtime > offers ? runtime : offers, Describe(cpuid, runtime).CpuOffers);
    }

    /// <summary>The brand string is trimmed and its runs of blanks collapsed; a CPU without the brand leaves (or with an
    /// empty brand) is named by its vendor.</summary>
    [Fact]
    public void Brand_string_is_tidied_or_replaced_by_the_vendor()
    {
        Assert.Equal("AMD EPYC 7B13 64-Core Processor", Describe(Zen5().Brand("  AMD EPYC   7B13 64-Core Processor   ", 0x80000028)).Name);
        Assert.Equal("AuthenticAMD", Describe(Zen5().Brand("AMD EPYC", maxExtended: 0x80000003)).Name);
        Assert.Equal("AuthenticAMD", Describe(Zen5().Brand("        ", maxExtended: 0x80000028)).Name);
        Assert.Equal("AMD EPYC", Describe(Zen5().Brand("AMD EPYC", maxExtended: 0x80000004)).Name);
    }

    // ---- The core's name, the figures in the description ----

    /// <summary>AMD names its cores by family and model range (Zen 3 and Zen 4 share family 0x19).</summary>
    [Theory]
    [InlineData("AuthenticAMD", 0x17, 0x01, "Zen / Zen+")]
    [InlineData("AuthenticAMD", 0x17, 0x2F, "Zen / Zen+")]
    [InlineData("AuthenticAMD", 0x17, 0x30, "Zen 2")]
    [InlineData("AuthenticAMD", 0x17, 0x71, "Zen 2")]
    [InlineData("AuthenticAMD", 0x19, 0x01, "Zen 3")]
    [InlineData("AuthenticAMD", 0x19, 0x0F, "Zen 3")]
    [InlineData("AuthenticAMD", 0x19, 0x10, "Zen 4")]
    [InlineData("AuthenticAMD", 0x19, 0x1F, "Zen 4")]
    [InlineData("AuthenticAMD", 0x19, 0x20, "Zen 3")]
    [InlineData("AuthenticAMD", 0x19, 0x5F, "Zen 3")]
    [InlineData("AuthenticAMD", 0x19, 0x60, "Zen 4")]
    [InlineData("AuthenticAMD", 0x19, 0x7F, "Zen 4")]
    [InlineData("AuthenticAMD", 0x19, 0x80, "Zen 3")]
    [InlineData("AuthenticAMD", 0x19, 0x9F, "Zen 3")]
    [InlineData("AuthenticAMD", 0x19, 0xA0, "Zen 4")]
    [InlineData("AuthenticAMD", 0x19, 0xAF, "Zen 4")]
    [InlineData("AuthenticAMD", 0x19, 0xB0, "Zen 3")]
    [InlineData("AuthenticAMD", 0x1A, 0x02, "Zen 5")]
    [InlineData("AuthenticAMD", 0x18, 0x00, "unknown")]
    [InlineData("AuthenticAMD", 0x1B, 0x00, "unknown")]
    [InlineData("HygonGenuine", 0x18, 0x00, "unknown")]
    [InlineData("GenuineIntel", 0x19, 0x10, "unknown")]
    public void Amd_cores_are_named_by_family_and_model(string vendor, int family, int model, string core)
        => Assert.Equal(core, new CpuInfo(vendor, "x", family, model, 0, 1, 32 * KiB, 512 * KiB, 0, 0, "test", InstructionSet.Avx2, InstructionSet.Avx2).Microarchitecture);

    [Theory]
    [InlineData(0L, "0 B")]
    [InlineData(1023L, "1023 B")]
    [InlineData(1024L, "1 KiB")]
    [InlineData(1025L, "1025 B")]
    [InlineData(1536L, "1536 B")]
    [InlineData(48 * KiB, "48 KiB")]
    [InlineData(MiB - KiB, "1023 KiB")]
    [InlineData(MiB, "1 MiB")]
    [InlineData(MiB + KiB, "1025 KiB")]
    [InlineData(32 * MiB, "32 MiB")]
    public void Sizes_print_in_the_largest_exact_unit(long bytes, string text) => Assert.Equal(text, CpuInfo.Bytes(bytes));

    [Fact]
    public void Paths_have_their_names_and_a_negative_sharing_count_reads_as_unknown()
    {
        Assert.Equal(("AVX-512", "AVX2 + FMA", "Vector128"),
            (CpuInfo.Describe(InstructionSet.Avx512), CpuInfo.Describe(InstructionSet.Avx2), CpuInfo.Describe(InstructionSet.Vector128)));
        CpuInfo cpu = new("AuthenticAMD", "x", 0x1A, 2, 1, 1, 48 * KiB, MiB, 32 * MiB, -3, "test", InstructionSet.Avx512, InstructionSet.Avx512);
        Assert.Equal(0, cpu.L3SharedBy);
    }

    [Fact]
    public void The_running_cpu_reads_like_its_cpuid()
    {
        // CpuInfo.Current goes through the same decoding with the real CPUID; on x86-64 it names a vendor and has caches.
        CpuInfo cpu = CpuInfo.Current;
        Assert.Equal(cpu.Accelerated, CpuInfo.RuntimeAccelerated());
        Assert.True(cpu.L1DataBytes > 0 && cpu.L2Bytes > cpu.L1DataBytes, cpu.ToString());
    }

    // ---- sysfs ----

    private void SysfsCache(int index, string level, string type, string size, string? sharedCpus = null)
    {
        string dir = Directory.CreateDirectory(Path.Combine(sysfs, $"index{index}")).FullName;
        File.WriteAllText(Path.Combine(dir, "level"), level + "\n");
        File.WriteAllText(Path.Combine(dir, "type"), type + "\n");
        File.WriteAllText(Path.Combine(dir, "size"), size + "\n");
        if (sharedCpus is not null)
            File.WriteAllText(Path.Combine(dir, "shared_cpu_list"), sharedCpus + "\n");
    }

    [Fact]
    public void Sysfs_tree_gives_the_data_and_unified_caches()
    {
        SysfsCache(0, "1", "Data", "48K");
        SysfsCache(1, "1", "Instruction", "32K");
        SysfsCache(2, "2", "Unified", "1024K");
        SysfsCache(3, "3", "Unified", "32M", "0-7,16-23");
        Assert.Equal((48 * KiB, 1 * MiB, 32 * MiB, 16, "sysfs"), CpuInfo.CachesFromSysfs(sysfs));
    }

    [Theory]
    [InlineData("0", 1)]
    [InlineData("0,2,4", 3)]
    [InlineData("0-15", 16)]
    [InlineData("4-5,8,10-11", 5)]
    [InlineData("", 1)]
    public void Sysfs_sharing_counts_the_cpu_list(string list, int sharedBy)
    {
        SysfsCache(0, "1", "Data", "32768");
        SysfsCache(1, "2", "Unified", "512K");
        SysfsCache(2, "3", "Unified", "16M", list);
        Assert.Equal((32 * KiB, 512 * KiB, 16 * MiB, sharedBy, "sysfs"), CpuInfo.CachesFromSysfs(sysfs));
    }

    [Fact]
    public void Sysfs_without_a_sharing_list_or_an_l3_still_answers()
    {
        SysfsCache(0, "1", "Data", "32K");
        SysfsCache(1, "2", "Unified", "512K");
        SysfsCache(2, "3", "Instruction", "8M", "0-3");
        Assert.Equal((32 * KiB, 512 * KiB, 0L, 1, "sysfs"), CpuInfo.CachesFromSysfs(sysfs));
        SysfsCache(3, "3", "Unified", "8M");
        Assert.Equal((32 * KiB, 512 * KiB, 8 * MiB, 1, "sysfs"), CpuInfo.CachesFromSysfs(sysfs));
    }

    [Fact]
    public void Sysfs_without_an_l1d_or_l2_or_readable_sizes_does_not_answer()
    {
        Assert.Null(CpuInfo.CachesFromSysfs(Path.Combine(sysfs, "missing")));
        SysfsCache(0, "1", "Data", "32K");
        Assert.Null(CpuInfo.CachesFromSysfs(sysfs));
        SysfsCache(1, "2", "Instruction", "512K");
        Assert.Null(CpuInfo.CachesFromSysfs(sysfs));
        SysfsCache(2, "2", "Unified", "lots");
        Assert.Null(CpuInfo.CachesFromSysfs(sysfs));
    }
}
