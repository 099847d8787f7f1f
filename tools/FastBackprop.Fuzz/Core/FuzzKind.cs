namespace FastBackprop.Fuzz;

/// <summary>The file formats the fuzzer mutates, each fed to its own loader.</summary>
public enum FuzzKind
{
    /// <summary>CSV data sets (<see cref="CsvLoader"/>), plain or gzip.</summary>
    Csv,
    /// <summary>IDX image + label pairs (<see cref="IdxLoader.LoadDataset"/>), plain or gzip.</summary>
    Idx,
    /// <summary>Model files (<see cref="ModelFile.Load{T}(Stream)"/>, then a prediction).</summary>
    Model,
    /// <summary>ONNX files (<see cref="OnnxModel.Import{T}(Stream)"/>, then a prediction): exported seed models, mutated.</summary>
    Onnx,
    /// <summary>Gzip CSV and IDX files cut short (in the header, the deflate data, the trailer, the last cell), with
    /// corrupted CRC or ISIZE, with bytes after the member, or split into several members; what loads is compared with
    /// what the uncompressed original holds.</summary>
    Gzip,
    /// <summary>Model files whose weights cancel on constant rows and overflow on real ones, through the CLI's
    /// <c>predict</c> and <c>evaluate</c>.</summary>
    Cancel,
    /// <summary>FIFOs and character-device nodes as the CLI's inputs (<c>--csv</c>, <c>--model</c>, …) and targets
    /// (<c>--save</c>, <c>export</c>, <c>import</c>, <c>predict --output</c>).</summary>
    Special,
    /// <summary>Model files of tens of thousands of layers (dropout and dense) and wide layers: the CLI's peak memory
    /// in <c>predict</c> against a bound proportional to the file and the work.</summary>
    Deep,
    /// <summary>Request bodies to the serving sample: invalid UTF-8, lone surrogates, values whose outputs overflow.</summary>
    Serving,
    /// <summary>CSV columns swapped, renamed, dropped or added before <c>evaluate</c>/<c>predict</c> of a model trained
    /// by the CLI on a CSV with a header.</summary>
    Columns,
}

/// <summary>The command-line names of the kinds and how each is run.</summary>
public static class FuzzKinds
{
    /// <summary>Every kind, in the order <c>--kind all</c> runs them.</summary>
    public static readonly FuzzKind[] All = Enum.GetValues<FuzzKind>();

    /// <summary>The name <c>--kind</c> takes.</summary>
    public static string Name(FuzzKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>The kind named <paramref name="name"/>, or null.</summary>
    public static FuzzKind? Parse(string name) => All.Cast<FuzzKind?>().FirstOrDefault(k => Name(k!.Value) == name);

    /// <summary>Where a kind's cases run: "library" (in this process, a sample also through the CLI with <c>--cli</c>),
    /// "cli" (every case in a child process: the defect is the program's, not a loader's), or "serving" (HTTP requests
    /// to the serving sample).</summary>
    public static string Mode(FuzzKind kind) => kind switch
    {
        FuzzKind.Cancel or FuzzKind.Special or FuzzKind.Deep or FuzzKind.Columns => "cli",
        FuzzKind.Serving => "serving",
        _ => "library",
    };
}

/// <summary>How one case ended.</summary>
public enum Outcome
{
    /// <summary>The loader refused the input with one of its documented exception types.</summary>
    CleanError,
    /// <summary>The loader accepted the input and the result makes sense (e.g. a harmless mutation, or none).</summary>
    Accepted,
    /// <summary>An undocumented exception type escaped (OutOfMemory, ArgumentOutOfRange, IndexOutOfRange, …), or
    /// the CLI exited with an unexpected code or printed "unexpected".</summary>
    Crash,
    /// <summary>The case ran past the per-case time limit.</summary>
    Hang,
    /// <summary>The loader accepted the input but the result is nonsense (non-finite values, fewer than two classes,
    /// a model that cannot predict finite values on its own means, a truncated file read as complete, …).</summary>
    SilentNonsense,
    /// <summary>The case used more memory than its bound (proportional to the file and the work): a CLI child's peak
    /// resident set, or an out-of-memory failure under the heap cap.</summary>
    MemoryBlowUp,
}

/// <summary>The result of one case.</summary>
/// <param name="Outcome">How it ended.</param>
/// <param name="Detail">One line: the exception type and message, or what was nonsensical.</param>
/// <param name="StackTop">The first library (or runtime) frame of an unexpected exception, else null.</param>
/// <param name="Elapsed">Wall time of the case.</param>
/// <param name="AllocatedBytes">Bytes the case allocated (GC count for in-process runs; 0 for child processes).</param>
public sealed record CaseResult(Outcome Outcome, string Detail, string? StackTop, TimeSpan Elapsed, long AllocatedBytes)
{
    /// <summary>Whether this outcome is a failure of the library (crash, hang, silent nonsense).</summary>
    public bool IsFailure => Outcome is Outcome.Crash or Outcome.Hang or Outcome.SilentNonsense or Outcome.MemoryBlowUp;
}
