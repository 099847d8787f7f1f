using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using FastBackprop.Hardware;

namespace FastBackprop.Tests.Hardware;

/// <summary>
/// The CPU description on Arm64 as a specification: recorded <c>/proc/cpuinfo</c> texts and sysfs Main ID Registers →
/// the core, its designer and release; the caches as sysfs gives them; SDOT and RDM as the runtime reports them.
/// </summary>
public sealed class ArmCpuSpecTests
{
    private const long KiB = 1024, MiB = 1024 * 1024;

    /// <summary>The first lines of an AWS Graviton2 (Neoverse N1 r3p1) /proc/cpuinfo, two processors.</summary>
    private const string Graviton2 = """
        processor	: 0
        BogoMIPS	: 243.75
        Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
        CPU implementer	: 0x41
        CPU architecture: 8
        CPU variant	: 0x3
        CPU part	: 0xd0c
        CPU revision	: 1

        processor	: 1
        BogoMIPS	: 243.75
        CPU implementer	: 0x51
        CPU architecture: 8
        CPU variant	: 0x0
        CPU part	: 0x800
        CPU revision	: 2

        """;

    /// <summary>An x86-64 host's /proc/cpuinfo, which an emulated Arm64 program reads under QEMU's user mode.</summary>
    private const string X86Host = """
        processor	: 0
        vendor_id	: AuthenticAMD
        cpu family	: 26
        model		: 2
        stepping	: 1

        """;

    private static readonly (long, long, long, int, string) Caches = (64 * KiB, MiB, 32 * MiB, 64, "sysfs");

    private static CpuInfo Describe(string? midr, string? cpuinfo, bool dotProduct = true, bool rdm = true,
        (long, long, long, int, string)? caches = null)
        => CpuInfo.FromArm(midr, cpuinfo, caches ?? Caches, dotProduct, rdm, InstructionSet.Vector128, processors: 64);

    [Fact]
    public void Proc_cpuinfo_names_the_first_processors_core()
    {
        CpuInfo cpu = Describe(midr: null, Graviton2);
        Assert.Equal(("Arm", "Arm Neoverse N1", "Neoverse N1"), (cpu.Vendor, cpu.Name, cpu.Microarchitecture));
        Assert.Equal((0x41, 0xD0C, 1), (cpu.Family, cpu.Model, cpu.Stepping));
        Assert.Equal((64 * KiB, MiB, 32 * MiB, 64, "sysfs"), (cpu.L1DataBytes, cpu.L2Bytes, cpu.L3Bytes, cpu.L3SharedBy, cpu.CacheSource));
        Assert.Equal((InstructionSet.Vector128, InstructionSet.Vector128), (cpu.CpuOffers, cpu.Accelerated));
        Assert.Equal(
            "CPU: Arm Neoverse N1 (Arm, implementer 0x41, part 0xD0C, r3p1; Neoverse N1)\n" +
            "instruction sets: the CPU offers Vector128 (AdvSimd; SDOT yes, RDM yes); this process can use Vector128\n" +
            "caches per core: L1d 64 KiB, L2 1 MiB, L3 32 MiB shared by 64 (from sysfs)\n" +
            "processors seen by the runtime: 64", cpu.ToString());
    }

    [Fact]
    public void The_sysfs_register_comes_before_proc_cpuinfo()
    {
        // 0x410FD4F0: implementer 0x41, variant 0, architecture 0xF, part 0xD4F (Neoverse V2), revision 0.
        CpuInfo cpu = Describe("0x00000000410fd4f0\n", Graviton2);
        Assert.Equal(("Arm Neoverse V2", 0xD4F, 0), (cpu.Name, cpu.Model, cpu.Stepping));
        Assert.Contains("implementer 0x41, part 0xD4F, r0p0", cpu.ToString());
    }

    [Theory]
    [InlineData("0x00000000413fd0c1", 0x41, 3, 0xD0C, 1)]
    [InlineData("0x00000000c00fac30", 0xC0, 0, 0xAC3, 0)]
    [InlineData("  0x000000004F1FD49A  ", 0x4F, 1, 0xD49, 0xA)]
    [InlineData("413fd0c1", 0x41, 3, 0xD0C, 1)]
    public void The_register_splits_into_its_fields(string text, int implementer, int variant, int part, int revision)
        => Assert.Equal(new ArmCpu.Midr(implementer, variant, part, revision), ArmCpu.ParseMidr(text));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0x0")]
    [InlineData("not a register")]
    [InlineData("0x1234567890abcdef01")]
    public void A_register_that_cannot_be_read_is_ignored(string? text) => Assert.Null(ArmCpu.ParseMidr(text));

    /// <summary>The cores of the common Arm servers (Graviton2–4, Ampere Altra and AmpereOne, Azure Cobalt), and designers
    /// by implementer code; an unknown part is "unknown" and the name falls back to the architecture.</summary>
    [Theory]
    [InlineData(0x41, 0xD0C, "Arm", "Neoverse N1")]
    [InlineData(0x41, 0xD40, "Arm", "Neoverse V1")]
    [InlineData(0x41, 0xD49, "Arm", "Neoverse N2")]
    [InlineData(0x41, 0xD4F, "Arm", "Neoverse V2")]
    [InlineData(0x41, 0xD84, "Arm", "Neoverse V3")]
    [InlineData(0x41, 0xD8E, "Arm", "Neoverse N3")]
    [InlineData(0x41, 0xD08, "Arm", "Cortex-A72")]
    [InlineData(0x41, 0xD0B, "Arm", "Cortex-A76")]
    [InlineData(0xC0, 0xAC3, "Ampere", "AmpereOne")]
    [InlineData(0xC0, 0xAC4, "Ampere", "AmpereOne A")]
    [InlineData(0x61, 0x022, "Apple", "unknown")]
    [InlineData(0x51, 0x001, "Qualcomm", "unknown")]
    [InlineData(0x7A, 0x123, "implementer 0x7A", "unknown")]
    public void Cores_are_named_by_implementer_and_part(int implementer, int part, string vendor, string core)
    {
        CpuInfo cpu = Describe($"0x{(implementer << 24) | (0xF << 16) | (part << 4):x}", cpuinfo: null);
        Assert.Equal((vendor, core, core == "unknown" ? "Arm64" : $"{vendor} {core}"), (cpu.Vendor, cpu.Microarchitecture, cpu.Name));
    }

    [Fact]
    public void Without_a_register_the_core_is_unknown_and_the_caches_come_from_sysfs_or_defaults()
    {
        foreach (string? cpuinfo in new[] { X86Host, null, "CPU implementer\t: 0x41\n" })
        {
            CpuInfo cpu = Describe(midr: null, cpuinfo, dotProduct: false, rdm: false, caches: null);
            Assert.Equal(("unknown", "Arm64", "unknown", 0, 0, 0), (cpu.Vendor, cpu.Name, cpu.Microarchitecture, cpu.Family, cpu.Model, cpu.Stepping));
            Assert.Equal((64 * KiB, MiB, 32 * MiB, "sysfs"), (cpu.L1DataBytes, cpu.L2Bytes, cpu.L3Bytes, cpu.CacheSource));
            Assert.StartsWith("CPU: Arm64 (its Main ID Register is not readable, as under user-mode emulation; core unknown)\n" +
                "instruction sets: the CPU offers Vector128 (AdvSimd; SDOT no, RDM no)", cpu.ToString());
        }
        CpuInfo defaults = CpuInfo.FromArm(null, null, caches: null, dotProduct: true, rdm: false, InstructionSet.Vector128, processors: 1);
        Assert.Equal((32 * KiB, 512 * KiB, 8 * MiB, 0, "defaults"), (defaults.L1DataBytes, defaults.L2Bytes, defaults.L3Bytes, defaults.L3SharedBy, defaults.CacheSource));
    }

    /// <summary>The running process: on Arm64 the description is the Arm one, with SDOT and RDM as the runtime reports them
    /// (the int8 kernels choose SDOT from the same flag); on x86-64 it is the CPUID one.</summary>
    [Fact]
    public void The_running_cpu_is_described_for_its_architecture()
    {
        CpuInfo cpu = CpuInfo.Current;
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
        {
            ArmCpu.Identity arm = Assert.IsType<ArmCpu.Identity>(cpu.Arm);
            Assert.Equal((Dp.IsSupported, Rdm.IsSupported), (arm.DotProduct, arm.Rdm));
            Assert.Contains($"SDOT {(Dp.IsSupported ? "yes" : "no")}, RDM {(Rdm.IsSupported ? "yes" : "no")}", cpu.ToString());
            Assert.Equal(InstructionSet.Vector128, cpu.Accelerated);
        }
        else
        {
            Assert.Null(cpu.Arm);
            Assert.DoesNotContain("AdvSimd", cpu.ToString());
        }
    }
}
