using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace FastBackprop.Hardware;

/// <summary>The instruction-set path the kernels run: the register width and what it multiplies with.</summary>
public enum InstructionSet
{
    /// <summary>128-bit registers (SSE on x86-64, AdvSimd on Arm64); a multiply and an add where x86 lacks FMA.</summary>
    Vector128,

    /// <summary>256-bit registers with fused multiply-add (x86-64-v3: AVX2 + FMA).</summary>
    Avx2,

    /// <summary>512-bit registers (AVX-512 F/BW/DQ/VL, x86-64-v4).</summary>
    Avx512,
}

/// <summary>
/// The processor this process runs on, read once: vendor, family and model, the cache sizes of one core, what
/// the CPU offers and what the running build and runtime let the library use. <see cref="KernelConfiguration"/>
/// chooses micro-kernels and cache blocks from it. Read from CPUID on x86-64 (leaves 0, 1, 7, 0x80000002–4
/// for the name, 4 or 0x8000001D for the caches), then Linux's sysfs, then AMD's older cache leaves, then conservative defaults (32 KiB L1d,
/// 512 KiB L2, 8 MiB L3) — <see cref="CacheSource"/> says which answered. On Arm64, which has no CPUID, the core is named
/// from its Main ID Register as Linux shows it and the caches come from sysfs.
/// </summary>
public sealed class CpuInfo
{
    private const long DefaultL1 = 32 * 1024, DefaultL2 = 512 * 1024, DefaultL3 = 8 * 1024 * 1024;

    private static readonly Lazy<CpuInfo> current = new(Detect);

    /// <summary>The processor this process runs on.</summary>
    public static CpuInfo Current => current.Value;

    /// <summary>"AuthenticAMD", "GenuineIntel", … on x86-64; the core's designer on Arm64 ("Arm", "Ampere", …, or "unknown"
    /// where the Main ID Register cannot be read); the runtime's architecture name elsewhere.</summary>
    public string Vendor { get; }

    /// <summary>The CPU's own name (CPUID brand string), or the architecture where the CPU has none to give.</summary>
    public string Name { get; }

    /// <summary>Display family (base + extended), as Linux's /proc/cpuinfo shows it; on Arm64 the implementer code of the Main
    /// ID Register (0x41 Arm, 0xC0 Ampere); 0 where unknown.</summary>
    public int Family { get; }

    /// <summary>Display model (base + extended); on Arm64 the part number (0xD0C Neoverse N1); 0 where unknown.</summary>
    public int Model { get; }

    /// <summary>Stepping; on Arm64 the revision (the p of r3p1); 0 where unknown.</summary>
    public int Stepping { get; }

    /// <summary>The core design where the family and model identify it ("Zen 3", "Zen 5"; on Arm64 "Neoverse N1", "Neoverse
    /// V2", "AmpereOne", …), else "unknown".</summary>
    public string Microarchitecture { get; }

    /// <summary>Processors as the runtime sees them (<see cref="Environment.ProcessorCount"/>: a container's CPU limit
    /// or <c>DOTNET_PROCESSOR_COUNT</c> included).</summary>
    public int ProcessorCount { get; }

    /// <summary>Level-1 data cache of one core, in bytes.</summary>
    public long L1DataBytes { get; }

    /// <summary>Level-2 cache of one core, in bytes.</summary>
    public long L2Bytes { get; }

    /// <summary>Level-3 cache, in bytes, of the whole cache one core sees (shared by <see cref="L3SharedBy"/> logical
    /// processors); 0 where there is none.</summary>
    public long L3Bytes { get; }

    /// <summary>Logical processors sharing the L3 (0 where unknown).</summary>
    public int L3SharedBy { get; }

    /// <summary>Where the cache sizes came from: "CPUID leaf 0x8000001D", "CPUID leaf 4", "sysfs", "CPUID leaves
    /// 0x80000005/6" (AMD, where a virtual machine hides the others) or "defaults".</summary>
    public string CacheSource { get; }

    /// <summary>The widest path the CPU itself offers (CPUID feature bits), whatever the build or runtime allow.</summary>
    public InstructionSet CpuOffers { get; }

    /// <summary>The widest path this process can run in hardware: what the CPU offers, limited by the runtime's
    /// switches (<c>DOTNET_EnableAVX512=0</c>, …) and, under NativeAOT, by the instruction set the binary was
    /// compiled for.</summary>
    public InstructionSet Accelerated { get; }

    /// <summary>The CPU offers a wider path than this process can use (a NativeAOT build for an older
    /// instruction set, or a runtime switch): the kernels run narrower than they could.</summary>
    public bool LeavesFasterPathUnused => CpuOffers > Accelerated;

    /// <summary>On Arm64: the Main ID Register (if readable) and the extensions the int8 kernels care about; null elsewhere.</summary>
    internal ArmCpu.Identity? Arm { get; }

    internal CpuInfo(string vendor, string name, int family, int model, int stepping, int processorCount,
        long l1, long l2, long l3, int l3SharedBy, string cacheSource, InstructionSet offers, InstructionSet accelerated,
        ArmCpu.Identity? arm = null)
    {
        Vendor = vendor;
        Name = name;
        Family = family;
        Model = model;
        Stepping = stepping;
        Arm = arm;
        Microarchitecture = arm is { Midr: { } midr } ? ArmCpu.Core(midr.Implementer, midr.Part) : NameCore(vendor, family, model);
        ProcessorCount = processorCount;
        L1DataBytes = l1;
        L2Bytes = l2;
        L3Bytes = l3;
        L3SharedBy = Math.Max(0, l3SharedBy);
        CacheSource = cacheSource;
        CpuOffers = offers;
        Accelerated = accelerated;
    }

    /// <summary>A few lines for people: name, core, ISA paths, caches, processors.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        if (Arm is { } arm)
        {
            if (arm.Midr is { } midr)
                text.Append(CultureInfo.InvariantCulture, $"CPU: {Name} ({Vendor}, implementer 0x{midr.Implementer:X2}, part 0x{midr.Part:X3}, {midr.Release}; {Microarchitecture})\n");
            else
                text.Append($"CPU: {Name} (its Main ID Register is not readable, as under user-mode emulation; core unknown)\n");
            text.Append(CultureInfo.InvariantCulture, $"instruction sets: the CPU offers {Describe(CpuOffers)} (AdvSimd; SDOT {YesNo(arm.DotProduct)}, RDM {YesNo(arm.Rdm)}); this process can use {Describe(Accelerated)}\n");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"CPU: {Name} ({Vendor}, family {Family} (0x{Family:X}), model {Model} (0x{Model:X}), stepping {Stepping}; {Microarchitecture})\n");
            text.Append(CultureInfo.InvariantCulture, $"instruction sets: the CPU offers {Describe(CpuOffers)}; this process can use {Describe(Accelerated)}\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"caches per core: L1d {Bytes(L1DataBytes)}, L2 {Bytes(L2Bytes)}, L3 {(L3Bytes == 0 ? "none" : L3SharedBy > 0 ? $"{Bytes(L3Bytes)} shared by {L3SharedBy}" : $"{Bytes(L3Bytes)} (the whole processor's)")} (from {CacheSource})\n");
        text.Append(CultureInfo.InvariantCulture, $"processors seen by the runtime: {ProcessorCount}");
        return text.ToString();
    }

    private static string YesNo(bool present) => present ? "yes" : "no";

    /// <summary>"AVX-512", "AVX2 + FMA" or "Vector128".</summary>
    public static string Describe(InstructionSet set) => set switch
    {
        InstructionSet.Avx512 => "AVX-512",
        InstructionSet.Avx2 => "AVX2 + FMA",
        _ => "Vector128",
    };

    internal static string Bytes(long bytes)
        => bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? $"{bytes >> 20} MiB"
        : bytes >= 1 << 10 && bytes % (1 << 10) == 0 ? $"{bytes >> 10} KiB"
        : $"{bytes} B";

    /// <summary>The widest path the runtime accelerates now (the JIT's view, or the AOT compiler's target).</summary>
    internal static InstructionSet RuntimeAccelerated()
        => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported ? InstructionSet.Avx512
        : Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported ? InstructionSet.Avx2
        : InstructionSet.Vector128;

    private static CpuInfo Detect()
    {
        InstructionSet accelerated = RuntimeAccelerated();
        int processors = Environment.ProcessorCount;
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
            return FromArm(ArmCpu.ReadOrNull(ArmCpu.MidrPath), ArmCpu.ReadOrNull("/proc/cpuinfo"), CachesFromSysfs(),
                Dp.IsSupported, Rdm.IsSupported, accelerated, processors);
        if (!X86Base.IsSupported)
        {
            (long l1, long l2, long l3, int shared, string source) = CachesFromSysfs() ?? (DefaultL1, DefaultL2, DefaultL3, 0, "defaults");
            string arch = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
            return new CpuInfo(arch, arch, 0, 0, 0, processors, l1, l2, l3, shared, source, accelerated, accelerated);
        }

        return FromCpuid(X86Base.CpuId, accelerated, processors, () => CachesFromSysfs());
    }

    /// <summary>The description of an Arm64 CPU: the Main ID Register from sysfs (<paramref name="midrText"/>) or else from
    /// <paramref name="procCpuinfo"/>, the caches from sysfs (<paramref name="caches"/>) or the defaults, and whether it has
    /// SDOT/UDOT (<paramref name="dotProduct"/>) and SQRDMLAH (<paramref name="rdm"/>).</summary>
    internal static CpuInfo FromArm(string? midrText, string? procCpuinfo, (long, long, long, int, string)? caches,
        bool dotProduct, bool rdm, InstructionSet accelerated, int processors)
    {
        ArmCpu.Midr? midr = ArmCpu.ParseMidr(midrText) ?? ArmCpu.FromProcCpuinfo(procCpuinfo);
        string vendor = midr is { } m ? ArmCpu.Implementer(m.Implementer) : "unknown";
        string core = midr is { } c ? ArmCpu.Core(c.Implementer, c.Part) : "unknown";
        string name = core == "unknown" ? "Arm64" : $"{vendor} {core}";
        (long l1, long l2, long l3, int shared, string source) = caches ?? (DefaultL1, DefaultL2, DefaultL3, 0, "defaults");
        return new CpuInfo(vendor, name, midr?.Implementer ?? 0, midr?.Part ?? 0, midr?.Revision ?? 0, processors,
            l1, l2, l3, shared, source, accelerated, accelerated, new ArmCpu.Identity(midr, dotProduct, rdm));
    }

    /// <summary>One CPUID query, (leaf, subleaf) → (EAX, EBX, ECX, EDX): <see cref="X86Base.CpuId"/> in the process,
    /// recorded leaves in tests.</summary>
    internal delegate (int Eax, int Ebx, int Ecx, int Edx) CpuidQuery(int leaf, int subleaf);

    /// <summary>The description an x86-64 CPU gives through <paramref name="cpuid"/>; <paramref name="sysfs"/> answers the
    /// cache sizes where the CPUID cache leaves do not.</summary>
    internal static CpuInfo FromCpuid(CpuidQuery cpuid, InstructionSet accelerated, int processors,
        Func<(long, long, long, int, string)?> sysfs)
    {
        (int maxLeaf, int ebx0, int ecx0, int edx0) = cpuid(0, 0);
        string vendor = Ascii(ebx0, edx0, ecx0);
        (int eax1, _, int ecx1, _) = cpuid(1, 0);
        int baseFamily = (eax1 >> 8) & 0xF, baseModel = (eax1 >> 4) & 0xF;
        int family = baseFamily == 0xF ? baseFamily + ((eax1 >> 20) & 0xFF) : baseFamily;
        int model = baseFamily is 0x6 or 0xF ? baseModel + (((eax1 >> 16) & 0xF) << 4) : baseModel;
        int stepping = eax1 & 0xF;

        int maxExtended = cpuid(unchecked((int)0x80000000), 0).Eax;
        string name = vendor;
        if ((uint)maxExtended >= 0x80000004)
        {
            var brand = new StringBuilder();
            for (uint leaf = 0x80000002; leaf <= 0x80000004; leaf++)
            {
                (int a, int b, int c, int d) = cpuid(unchecked((int)leaf), 0);
                brand.Append(Ascii(a, b, c, d));
            }
            string trimmed = brand.ToString().Trim();
            if (trimmed.Length > 0)
                name = string.Join(' ', trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }

        // What the CPU offers: leaf 1 ECX bit 12 FMA; leaf 7 EBX bit 5 AVX2, bits 16/17/30 AVX-512 F/DQ/BW.
        bool fma = (ecx1 & (1 << 12)) != 0;
        int ebx7 = maxLeaf >= 7 ? cpuid(7, 0).Ebx : 0;
        bool avx2 = (ebx7 & (1 << 5)) != 0;
        bool avx512 = (ebx7 & (1 << 16)) != 0 && (ebx7 & (1 << 17)) != 0 && (ebx7 & (1 << 30)) != 0;
        InstructionSet offers = avx512 && avx2 && fma ? InstructionSet.Avx512 : avx2 && fma ? InstructionSet.Avx2 : InstructionSet.Vector128;
        // The OS may not save the wide registers (XCR0), which CPUID's feature bits do not say; the runtime checks it.
        if (offers < accelerated)
            offers = accelerated;

        bool amdTopology = (uint)maxExtended >= 0x8000001D && (cpuid(unchecked((int)0x80000001), 0).Ecx & (1 << 22)) != 0;
        var caches = amdTopology ? CachesFromCpuid(cpuid, unchecked((int)0x8000001D), "CPUID leaf 0x8000001D")
            : vendor == "GenuineIntel" && maxLeaf >= 4 ? CachesFromCpuid(cpuid, 4, "CPUID leaf 4")
            : null;
        caches ??= sysfs();
        if (caches is null && vendor is "AuthenticAMD" or "HygonGenuine" && (uint)maxExtended >= 0x80000006)
            caches = CachesFromAmdLegacyLeaves(cpuid);
        (long l1d, long l2b, long l3b, int l3Shared, string cacheSource) = caches ?? (DefaultL1, DefaultL2, DefaultL3, 0, "defaults");
        return new CpuInfo(vendor, name, family, model, stepping, processors, l1d, l2b, l3b, l3Shared, cacheSource, offers, accelerated);
    }

    /// <summary>Deterministic cache parameters (Intel leaf 4, AMD leaf 0x8000001D share the layout): one subleaf per
    /// cache until type 0. Size = ways × partitions × line size × sets.</summary>
    private static (long, long, long, int, string)? CachesFromCpuid(CpuidQuery cpuid, int leaf, string source)
    {
        long l1 = 0, l2 = 0, l3 = 0;
        int l3Shared = 1;
        for (int sub = 0; sub < 16; sub++)
        {
            (int eax, int ebx, int ecx, _) = cpuid(leaf, sub);
            int type = eax & 0x1F;
            if (type == 0)
                break;
            int level = (eax >> 5) & 0x7;
            long size = (long)(((ebx >> 22) & 0x3FF) + 1) * (((ebx >> 12) & 0x3FF) + 1) * ((ebx & 0xFFF) + 1) * ((long)(uint)ecx + 1);
            int sharing = ((eax >> 14) & 0xFFF) + 1;
            if (level == 1 && type == 1)
                l1 = size;
            else if (level == 2 && type is 3 or 1)
                l2 = size;
            else if (level == 3 && type is 3 or 1)
                (l3, l3Shared) = (size, sharing);
        }
        return l1 > 0 && l2 > 0 ? (l1, l2, l3, l3Shared, source) : null;
    }

    /// <summary>AMD's older leaves, which virtual machines answer when they hide the topology leaves: 0x80000005 ECX[31:24]
    /// is the L1d in KiB, 0x80000006 ECX[31:16] the L2 in KiB and EDX[31:18] the L3 in 512 KiB units (the whole
    /// processor's, so the sharing is unknown).</summary>
    private static (long, long, long, int, string)? CachesFromAmdLegacyLeaves(CpuidQuery cpuid)
    {
        long l1 = (long)((uint)cpuid(unchecked((int)0x80000005), 0).Ecx >> 24) * 1024;
        (_, _, int ecx6, int edx6) = cpuid(unchecked((int)0x80000006), 0);
        long l2 = (long)((uint)ecx6 >> 16) * 1024;
        long l3 = (long)((uint)edx6 >> 18) * 512 * 1024;
        return l1 > 0 && l2 > 0 ? (l1, l2, l3, 0, "CPUID leaves 0x80000005/6") : null;
    }

    /// <summary>Linux: /sys/devices/system/cpu/cpu0/cache/index*/{level,type,size,shared_cpu_list} (another
    /// <paramref name="root"/> in tests).</summary>
    internal static (long, long, long, int, string)? CachesFromSysfs(string root = "/sys/devices/system/cpu/cpu0/cache")
    {
        try
        {
            if (!Directory.Exists(root))
                return null;
            long l1 = 0, l2 = 0, l3 = 0;
            int l3Shared = 1;
            foreach (string index in Directory.GetDirectories(root, "index*"))
            {
                string level = File.ReadAllText(Path.Combine(index, "level")).Trim();
                string type = File.ReadAllText(Path.Combine(index, "type")).Trim();
                long size = ParseSysfsSize(File.ReadAllText(Path.Combine(index, "size")).Trim());
                if (level == "1" && type == "Data")
                    l1 = size;
                else if (level == "2" && type != "Instruction")
                    l2 = size;
                else if (level == "3" && type != "Instruction")
                {
                    l3 = size;
                    string shared = Path.Combine(index, "shared_cpu_list");
                    l3Shared = File.Exists(shared) ? CountCpus(File.ReadAllText(shared).Trim()) : 1;
                }
            }
            return l1 > 0 && l2 > 0 ? (l1, l2, l3, l3Shared, "sysfs") : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    private static long ParseSysfsSize(string text)
    {
        long multiplier = text.EndsWith('K') ? 1024 : text.EndsWith('M') ? 1024 * 1024 : 1;
        return long.Parse(multiplier == 1 ? text : text[..^1], CultureInfo.InvariantCulture) * multiplier;
    }

    private static int CountCpus(string list)
    {
        int count = 0;
        foreach (string range in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] ends = range.Split('-');
            count += ends.Length == 2 ? int.Parse(ends[1], CultureInfo.InvariantCulture) - int.Parse(ends[0], CultureInfo.InvariantCulture) + 1 : 1;
        }
        return Math.Max(1, count);
    }

    private static string Ascii(params int[] registers)
    {
        var bytes = new byte[registers.Length * 4];
        for (int i = 0; i < registers.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), registers[i]);
        return Encoding.ASCII.GetString(bytes).TrimEnd('\0');
    }

    /// <summary>AMD's families name their cores (Zen 3 and Zen 4 share family 0x19 and differ by model range);
    /// other vendors are described by their brand string.</summary>
    private static string NameCore(string vendor, int family, int model)
    {
        if (vendor != "AuthenticAMD")
            return "unknown";
        return family switch
        {
            0x17 => model >= 0x30 ? "Zen 2" : "Zen / Zen+",
            0x19 => model is (>= 0x10 and <= 0x1F) or (>= 0x60 and <= 0x7F) or (>= 0xA0 and <= 0xAF) ? "Zen 4" : "Zen 3",
            0x1A => "Zen 5",
            _ => "unknown",
        };
    }
}
