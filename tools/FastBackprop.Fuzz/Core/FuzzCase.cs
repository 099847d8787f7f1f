namespace FastBackprop.Fuzz;

/// <summary>One mutated input: its files (one, or images + labels for IDX), how it was made, and how to read it.</summary>
/// <param name="Kind">The format.</param>
/// <param name="RunSeed">The run's seed; with <paramref name="Index"/> it regenerates the case exactly.</param>
/// <param name="Index">The case's number within its kind.</param>
/// <param name="Seed">The valid file it started from.</param>
/// <param name="Mutation">What was done to it (one line).</param>
/// <param name="Files">File name → content: "data.csv", or "images.idx" + "labels.idx", or "model.fbpm".</param>
/// <param name="CsvOptions">How to read a CSV case.</param>
/// <param name="ModelInputSize">The seed model's input size (for the CLI's predict input).</param>
public sealed record FuzzCase(FuzzKind Kind, int RunSeed, int Index, string Seed, string Mutation,
    IReadOnlyList<(string Name, FuzzFile File)> Files, CsvOptions? CsvOptions = null, int ModelInputSize = 0)
{
    /// <summary>The command line that regenerates and runs this case alone.</summary>
    public string Replay => $"fastbackprop-fuzz --replay --kind {FuzzKinds.Name(Kind)} --seed {RunSeed} --index {Index}";

    public FuzzFile File(string name) => Files.First(f => f.Name == name).File;

    /// <summary>What the files should read as (same names, uncompressed), when the case has a known right answer:
    /// a load that gives anything else without an error is silent nonsense.</summary>
    public IReadOnlyList<(string Name, FuzzFile File)>? Originals { get; init; }

    /// <summary>The input is damaged (cut short, a checksum wrong, bytes after the end): loading it at all is silent
    /// nonsense, whatever it gives.</summary>
    public bool MustBeRefused { get; init; }

    /// <summary>The CLI command of a CLI case; an argument starting with '@' is a file of the case's directory.</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>For a CLI case judged against a reference: the same command on the unmutated input (its result is
    /// what <see cref="Command"/> must give, or refuse).</summary>
    public IReadOnlyList<string>? Baseline { get; init; }

    /// <summary>For a CLI case that needs a model trained by the CLI first: the <c>train</c> command (it writes
    /// "@model.fbpm"); its result is cached per run, keyed by the command and its input files.</summary>
    public IReadOnlyList<string>? Setup { get; init; }

    /// <summary>Special files to create in the case's directory before the command runs (FIFOs, device nodes).</summary>
    public IReadOnlyList<SpecialNode>? Nodes { get; init; }

    /// <summary>The memory this case may use (in-process allocation; a CLI child's peak resident set less the runtime's
    /// own), or 0 for no bound.</summary>
    public long MemoryBoundBytes { get; init; }
}

/// <summary>A FIFO (<c>mkfifo</c>) or a character device node (<c>mknod NAME c MAJOR MINOR</c>) a case creates in its own
/// directory. Device nodes are only made as root; without the right a FIFO stands in.</summary>
/// <param name="Name">The file name in the case directory.</param>
/// <param name="IsFifo">A FIFO; else a character device.</param>
/// <param name="Major">The device's major number (1: memory devices).</param>
/// <param name="Minor">The device's minor number (3: null, 5: zero, 7: full).</param>
public sealed record SpecialNode(string Name, bool IsFifo, int Major = 0, int Minor = 0)
{
    public override string ToString() => IsFifo ? $"FIFO {Name}" : $"char device {Name} ({Major},{Minor})";
}
