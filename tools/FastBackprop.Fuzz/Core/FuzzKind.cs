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
    /// a model that cannot predict finite values on its own means, …).</summary>
    SilentNonsense,
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
    public bool IsFailure => Outcome is Outcome.Crash or Outcome.Hang or Outcome.SilentNonsense;
}
