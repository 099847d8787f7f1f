using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>
/// What a training run will allocate, estimated from the shapes before anything large is allocated (without it,
/// <c>--hidden 40000,40000</c> used to run for minutes and take 12.6 GB before failing). Counts the float buffers
/// that grow with the network, the batch or the data: parameters, gradients, optimizer state, the copies kept for early
/// stopping and for saving on an interrupt, the per-layer workspaces, and the data at their peak, two or three copies
/// (<see cref="DataPeakBytes"/>), plus what the runtime itself takes.
/// </summary>
internal sealed record MemoryPlan(long Parameters, long ParameterBytes, long StateBytes, long WorkspaceBytes, long DataBytes)
{
    private const int ElementBytes = sizeof(float);

    /// <summary>The runtime, the JIT and the tool's own code and buffers, measured at about 70 MiB for a small run; planned
    /// with room to spare.</summary>
    public const long RuntimeBytes = 128L << 20;

    /// <summary>Bytes per feature value at the data's peak while a CSV file grows, its rows not known yet: the feature
    /// copies only. The labels and row numbers (<see cref="DataPeakBytes"/>, 52 bytes a row) are checked with the whole
    /// plan once the rows are known, right after loading; counting a row per value here would refuse most real files.</summary>
    public const long WorstBytesPerValue = ElementBytes * CsvFeatureCopies;

    public long TotalBytes => ParameterBytes + StateBytes + WorkspaceBytes + DataBytes + RuntimeBytes;

    /// <summary>Copies of the features at the peak for a CSV file: the loader's row chunks and the array they are joined
    /// into, and the parts the split copies out. The chunks are garbage by then, but measured, the runtime does not hand
    /// their memory back before the split's large arrays are allocated (3.4 GiB resident for 3e8 values), so they count.</summary>
    public const int CsvFeatureCopies = 3;

    /// <summary>Copies of the features at the peak for IDX files and the built-in sets: the whole set and the parts the
    /// split copies out of it in one pass (the IDX loader decodes straight into its result; standardisation works in
    /// place).</summary>
    public const int DecodedFeatureCopies = 2;

    /// <summary>The data at their peak: <paramref name="featureCopies"/> copies of the features, three of the labels or
    /// targets (the loader's list and its copy, then the parts), and the row numbers the split shuffles.</summary>
    /// <param name="values">Feature values (rows × features), training and test files together.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="labelsPerRow">Class index (1) or target values per row.</param>
    /// <param name="featureCopies"><see cref="CsvFeatureCopies"/> or <see cref="DecodedFeatureCopies"/>.</param>
    public static long DataPeakBytes(long values, long rows, int labelsPerRow, int featureCopies)
        => ElementBytes * (featureCopies * values + 3 * rows * labelsPerRow) + SplitBytesPerRow * rows;

    /// <summary>The row numbers the split shuffles (a double and an int per row, copied into the parts, and the indices).</summary>
    public const long SplitBytesPerRow = 40;

    /// <param name="sizes">Inputs, then the units of each layer.</param>
    /// <param name="batch">Samples per step.</param>
    /// <param name="optimizerSlots">Values the optimizer keeps per parameter (SGD 0, momentum 1, Adam 2).</param>
    /// <param name="parameterCopies">Extra whole copies of the parameters kept (best weights, the interrupt snapshot).</param>
    /// <param name="dataBytes">The data at their peak (<see cref="DataPeakBytes"/>).</param>
    /// <param name="dropoutUnits">The widths of the dropout layers, summed (each keeps an output, a gradient and a mask
    /// per batch row).</param>
    /// <param name="layerNormUnits">The widths of the layer normalisations, summed (each owns γ and β, and keeps an output,
    /// a gradient and x̂ per batch row).</param>
    public static MemoryPlan For(IReadOnlyList<int> sizes, int batch, int optimizerSlots, int parameterCopies, long dataBytes,
        long dropoutUnits = 0, long layerNormUnits = 0)
    {
        long parameters = 2 * layerNormUnits, units = 0;
        for (int l = 1; l < sizes.Count; l++)
        {
            parameters += ((long)sizes[l - 1] + 1) * sizes[l];
            units += sizes[l];
        }
        long widest = sizes.Skip(1).Max();
        // Per layer: activations and deltas for the batch; plus the batch's inputs, logits, bias-gradient partial sums
        // and the inference workspace's two ping-pong buffers.
        long workspace = (long)batch * (2 * units + 3 * dropoutUnits + 3 * layerNormUnits + sizes[0] + sizes[^1]) + (batch / 6 + 2) * widest + 2L * batch * widest;
        return new MemoryPlan(parameters,
            ParameterBytes: ElementBytes * parameters * (2 + parameterCopies),   // weights, gradients, copies
            StateBytes: ElementBytes * parameters * optimizerSlots,
            WorkspaceBytes: ElementBytes * workspace,
            DataBytes: dataBytes);
    }

    /// <summary>The default limit: three quarters of the memory the runtime may use (the machine's, or the container's).</summary>
    public static long DefaultLimit => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4 * 3;

    /// <summary>Fails, naming the parts, when the plan exceeds <paramref name="limit"/> (null for <see cref="DefaultLimit"/>).</summary>
    public void Check(long? limit)
    {
        long allowed = limit ?? DefaultLimit;
        if (TotalBytes <= allowed)
            return;
        string source = limit is null
            ? $"three quarters of the {Bytes(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)} available"
            : "--limit memory";
        throw new UsageException(
            $"training would need about {Bytes(TotalBytes)} ({Describe()}), more than the memory limit of {Bytes(allowed)} ({source}); " +
            "use fewer or smaller hidden layers, a smaller --batch, --optimizer sgd, or raise the limit with --limit memory=N");
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Parameters:N0} parameters: {Bytes(ParameterBytes)} for weights, gradients and copies, {Bytes(StateBytes)} optimizer state, {Bytes(WorkspaceBytes)} workspaces, {Bytes(DataBytes)} data at their peak (loading and splitting), {Bytes(RuntimeBytes)} runtime");

    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
    };
}
