using System.Globalization;

namespace FastBackprop.Hardware;

/// <summary>
/// What an Arm64 CPU says of itself. Arm64 has no CPUID: the core is named by its Main ID Register (MIDR_EL1), which
/// Linux shows in sysfs (<c>/sys/devices/system/cpu/cpu0/regs/identification/midr_el1</c>) and, field by field, in
/// <c>/proc/cpuinfo</c>; the cache sizes come from sysfs as on x86-64. Under user-mode emulation on an x86-64 host both
/// files are the host's: the core is then unknown and the caches are the host's.
/// </summary>
internal static class ArmCpu
{
    internal const string MidrPath = "/sys/devices/system/cpu/cpu0/regs/identification/midr_el1";

    /// <summary>An Arm64 CPU: its Main ID Register where readable, and whether it has the dot-product instructions
    /// (SDOT/UDOT, the int8 kernels' path) and SQRDMLAH (RDM).</summary>
    internal sealed record Identity(Midr? Midr, bool DotProduct, bool Rdm);

    /// <summary>MIDR_EL1's fields: implementer [31:24], variant [23:20], part number [15:4], revision [3:0].</summary>
    internal readonly record struct Midr(int Implementer, int Variant, int Part, int Revision)
    {
        /// <summary>Arm's way of writing a core's release: r(variant)p(revision), e.g. r3p1.</summary>
        public string Release => $"r{Variant}p{Revision}";
    }

    /// <summary>The register as sysfs prints it ("0x00000000413fd0c1"); null for anything else.</summary>
    internal static Midr? ParseMidr(string? text)
    {
        string hex = text?.Trim() ?? "";
        if (hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            hex = hex[2..];
        if (!ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong midr) || midr == 0)
            return null;
        return new Midr((int)(midr >> 24) & 0xFF, (int)(midr >> 20) & 0xF, (int)(midr >> 4) & 0xFFF, (int)midr & 0xF);
    }

    /// <summary>The first processor's "CPU implementer", "CPU variant", "CPU part" and "CPU revision" lines of
    /// <c>/proc/cpuinfo</c>; null where implementer or part is missing (an x86-64 host's file, under emulation).</summary>
    internal static Midr? FromProcCpuinfo(string? text)
    {
        int? implementer = null, variant = null, part = null, revision = null;
        foreach (string line in (text ?? "").Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0)
            {
                if (implementer is not null && line.Trim().Length == 0)
                    break;   // the end of the first processor's block
                continue;
            }
            string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
            int? number = ParseNumber(value);
            switch (key)
            {
                case "CPU implementer": implementer ??= number; break;
                case "CPU variant": variant ??= number; break;
                case "CPU part": part ??= number; break;
                case "CPU revision": revision ??= number; break;
            }
        }
        return implementer is int i && part is int p ? new Midr(i, variant ?? 0, p, revision ?? 0) : null;
    }

    private static int? ParseNumber(string value)
        => value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(value[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int hex) ? hex : null
            : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int dec) ? dec : null;

    /// <summary>The company that designed the core (MIDR implementer codes, as Linux's cputype.h lists them).</summary>
    internal static string Implementer(int code) => code switch
    {
        0x41 => "Arm",
        0x42 => "Broadcom",
        0x43 => "Cavium",
        0x46 => "Fujitsu",
        0x48 => "HiSilicon",
        0x4E => "NVIDIA",
        0x51 => "Qualcomm",
        0x61 => "Apple",
        0x6D => "Microsoft",
        0xC0 => "Ampere",
        _ => $"implementer 0x{code:X2}",
    };

    /// <summary>The common server cores and a few others by (implementer, part); "unknown" otherwise. AWS Graviton2,
    /// Ampere Altra and Oracle's A1 are Neoverse N1; Graviton3 is V1, Graviton4 V2, Azure Cobalt 100 N2.</summary>
    internal static string Core(int implementer, int part) => (implementer, part) switch
    {
        (0x41, 0xD08) => "Cortex-A72",
        (0x41, 0xD0B) => "Cortex-A76",
        (0x41, 0xD0C) => "Neoverse N1",
        (0x41, 0xD40) => "Neoverse V1",
        (0x41, 0xD49) => "Neoverse N2",
        (0x41, 0xD4F) => "Neoverse V2",
        (0x41, 0xD84) => "Neoverse V3",
        (0x41, 0xD8E) => "Neoverse N3",
        (0xC0, 0xAC3) => "AmpereOne",
        (0xC0, 0xAC4) => "AmpereOne A",
        _ => "unknown",
    };

    /// <summary>The file's text, or null where it cannot be read.</summary>
    internal static string? ReadOrNull(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
