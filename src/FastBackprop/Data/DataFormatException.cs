namespace FastBackprop;

/// <summary>
/// A data file (CSV or IDX) is malformed. The message always names the file, the place (line for text,
/// byte offset for binary) and what was wrong, e.g. <c>digits.csv, line 17: expected 65 cells, found 64</c>.
/// </summary>
public sealed class DataFormatException : FormatException
{
    /// <summary>Describes a problem at a place in a file.</summary>
    /// <param name="fileName">The file (or stream name); null when unknown.</param>
    /// <param name="line">1-based line number in a text file, if the problem has one.</param>
    /// <param name="offset">Byte offset in a binary file (after decompression), if the problem has one.</param>
    /// <param name="problem">What was wrong, without the place (it is prefixed).</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public DataFormatException(string? fileName, long? line, long? offset, string problem, Exception? innerException = null)
        : base(Compose(fileName, line, offset, problem), innerException)
    {
        FileName = fileName;
        Line = line;
        Offset = offset;
        Problem = problem;
    }

    /// <summary>The file (or stream name) that is malformed; null when the caller gave none.</summary>
    public string? FileName { get; }

    /// <summary>1-based line number, for text formats.</summary>
    public long? Line { get; }

    /// <summary>Byte offset (in the decompressed data), for binary formats.</summary>
    public long? Offset { get; }

    /// <summary>What was wrong, without the file and place.</summary>
    public string Problem { get; }

    private static string Compose(string? fileName, long? line, long? offset, string problem)
    {
        string place = fileName is null ? "<stream>" : Path.GetFileName(fileName) is { Length: > 0 } name ? name : fileName;
        if (line is long l)
            place += $", line {l}";
        if (offset is long o)
            place += $", offset {o}";
        return $"{place}: {problem}";
    }
}
