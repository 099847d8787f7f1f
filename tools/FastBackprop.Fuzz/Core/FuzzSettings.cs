namespace FastBackprop.Fuzz;

/// <summary>What a fuzz run may use and what it calls nonsense. The defaults are the tool's; the bounded test uses
/// smaller bombs.</summary>
public sealed record FuzzSettings
{
    /// <summary>Wall-time limit of one case; a case still running then is a hang.</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Decompressed size of the gzip bombs. Larger than <see cref="MemoryCapBytes"/> on purpose: a reader
    /// that keeps what it decompresses then runs out of memory instead of passing.</summary>
    public long BombBytes { get; init; } = 4L << 30;

    /// <summary>The memory cap: the GC heap hard limit of the fuzzing process and of the CLI's child processes
    /// (0 = none). An allocation beyond it is an <see cref="OutOfMemoryException"/>, counted as a crash.</summary>
    public long MemoryCapBytes { get; init; } = 1L << 30;

    /// <summary>The class limit the loaders are given; an accepted classification set with more classes is nonsense.</summary>
    public int MaxClasses { get; init; } = 10_000;

    /// <summary>The loaders' limits, derived from the memory cap so that any file within them fits in it: values (4 bytes
    /// each, plus the raw bytes and one copy while loading) to a sixteenth of the cap, decompressed bytes to the cap, the
    /// classes to <see cref="MaxClasses"/>. Without a cap, the library's defaults.</summary>
    public DataLimits Limits => MemoryCapBytes <= 0
        ? new DataLimits { MaxClasses = MaxClasses }
        : new DataLimits { MaxClasses = MaxClasses, MaxValues = MemoryCapBytes / 16, MaxBytes = MemoryCapBytes };

    /// <summary>The same limits as the CLI's --limit value.</summary>
    public string LimitArgument => $"classes={Limits.MaxClasses},values={Limits.MaxValues},bytes={Limits.MaxBytes}";

    /// <summary>Percentage of cases that are gzip bombs (each decompresses up to <see cref="BombBytes"/>, so they
    /// dominate the run time).</summary>
    public int BombPercent { get; init; } = 2;

    /// <summary>The scale of the large hostile inputs that are not bombs: rows of the unclosed-quote CSV (a reader
    /// quadratic in an open cell's length shows up as a hang), the most rows of the label-per-row CSV, cells per row
    /// (×16), digits in one cell (×64). The bounded test uses a small value to stay within seconds.</summary>
    public int HostileRows { get; init; } = 100_000;

    /// <summary>The options a replay needs besides kind, seed and index: those of the settings that shape a case and
    /// differ from the tool's defaults (the bounded test's smaller sizes, say).</summary>
    public string ReplayOptions()
    {
        var defaults = new FuzzSettings();
        var parts = new List<string>();
        if (BombBytes != defaults.BombBytes) parts.Add($"--bomb-mb {BombBytes >> 20}");
        if (BombPercent != defaults.BombPercent) parts.Add($"--bomb-percent {BombPercent}");
        if (HostileRows != defaults.HostileRows) parts.Add($"--hostile-rows {HostileRows}");
        if (MaxClasses != defaults.MaxClasses) parts.Add($"--max-classes {MaxClasses}");
        return string.Concat(parts.Select(p => " " + p));
    }

    /// <summary>Where per-case files are written (IDX pairs and CLI inputs).</summary>
    public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "fastbackprop-fuzz");
}
