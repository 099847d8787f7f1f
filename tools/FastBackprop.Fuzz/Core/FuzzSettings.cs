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

    /// <summary>An accepted classification set with more classes than this is nonsense (the loaders have no class limit
    /// yet; issue 12 asks for one: 70,000 classes crash the CLI's confusion matrix).</summary>
    public int MaxClasses { get; init; } = 10_000;

    /// <summary>Percentage of cases that are gzip bombs (each decompresses up to <see cref="BombBytes"/>, so they
    /// dominate the run time).</summary>
    public int BombPercent { get; init; } = 2;

    /// <summary>Rows of the large CSV built for the unclosed-quote case (a quadratic reader shows up as a hang).</summary>
    public int LargeCsvRows { get; init; } = 100_000;

    /// <summary>Where per-case files are written (IDX pairs and CLI inputs).</summary>
    public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "fastbackprop-fuzz");
}
