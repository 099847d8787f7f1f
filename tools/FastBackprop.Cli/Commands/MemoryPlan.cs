using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>
/// What a training run will allocate, estimated from the shapes before anything large is allocated (issue 12:
/// <c>--hidden 40000,40000</c> used to run for minutes and take 12.6 GB before failing). Counts the float buffers
/// that grow with the network, the batch or the data: parameters, gradients, optimizer state, the copies kept for early
/// stopping and for saving on an interrupt, the per-layer workspaces, and the standardised copy of the data.
/// </summary>
internal sealed record MemoryPlan(long Parameters, long ParameterBytes, long StateBytes, long WorkspaceBytes, long DataBytes)
{
    private const int ElementBytes = sizeof(float);

    public long TotalBytes => ParameterBytes + StateBytes + WorkspaceBytes + DataBytes;

    /// <param name="sizes">Inputs, then the units of each layer.</param>
    /// <param name="batch">Samples per step.</param>
    /// <param name="optimizerSlots">Values the optimizer keeps per parameter (SGD 0, momentum 1, Adam 2).</param>
    /// <param name="parameterCopies">Extra whole copies of the parameters kept (best weights, the interrupt snapshot).</param>
    /// <param name="dataValues">Feature values that are copied when standardised (0 when not standardising).</param>
    /// <param name="dropoutUnits">The widths of the dropout layers, summed (each keeps an output, a gradient and a mask
    /// per batch row).</param>
    public static MemoryPlan For(IReadOnlyList<int> sizes, int batch, int optimizerSlots, int parameterCopies, long dataValues,
        long dropoutUnits = 0)
    {
        long parameters = 0, units = 0;
        for (int l = 1; l < sizes.Count; l++)
        {
            parameters += ((long)sizes[l - 1] + 1) * sizes[l];
            units += sizes[l];
        }
        long widest = sizes.Skip(1).Max();
        // Per layer: activations and deltas for the batch; plus the batch's inputs, logits, bias-gradient partial sums
        // and the inference workspace's two ping-pong buffers.
        long workspace = (long)batch * (2 * units + 3 * dropoutUnits + sizes[0] + sizes[^1]) + (batch / 6 + 2) * widest + 2L * batch * widest;
        return new MemoryPlan(parameters,
            ParameterBytes: ElementBytes * parameters * (2 + parameterCopies),   // weights, gradients, copies
            StateBytes: ElementBytes * parameters * optimizerSlots,
            WorkspaceBytes: ElementBytes * workspace,
            DataBytes: ElementBytes * dataValues);
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
        $"{Parameters:N0} parameters: {Bytes(ParameterBytes)} for weights, gradients and copies, {Bytes(StateBytes)} optimizer state, {Bytes(WorkspaceBytes)} workspaces, {Bytes(DataBytes)} standardised data");

    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
    };
}
