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
    public string Replay => $"fastbackprop-fuzz --replay --kind {Kind.ToString().ToLowerInvariant()} --seed {RunSeed} --index {Index}";

    public FuzzFile File(string name) => Files.First(f => f.Name == name).File;
}
