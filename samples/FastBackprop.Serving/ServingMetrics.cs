namespace FastBackprop.Serving;

/// <summary>Counters for <c>GET /v1/diagnostics</c>: requests, rows, rejections, and the bytes the predict path
/// allocated (measured with <see cref="GC.GetAllocatedBytesForCurrentThread"/> around its synchronous part, so they
/// are exact for that part and exclude Kestrel's and the routing's own allocations).</summary>
public sealed class ServingMetrics
{
    private long predictions;
    private long rows;
    private long rejected;
    private long modelBytes;
    private long handlerBytes;

    /// <summary>Set once shutdown has begun.</summary>
    public volatile bool Stopping;

    internal void CountPrediction(int requestRows, long modelAllocated, long handlerAllocated)
    {
        Interlocked.Increment(ref predictions);
        Interlocked.Add(ref rows, requestRows);
        Interlocked.Add(ref modelBytes, modelAllocated);
        Interlocked.Add(ref handlerBytes, handlerAllocated);
    }

    internal void CountRejected() => Interlocked.Increment(ref rejected);

    /// <summary>The counters now. Per-request figures are means over every answered prediction.</summary>
    public object Snapshot()
    {
        long p = Interlocked.Read(ref predictions);
        long model = Interlocked.Read(ref modelBytes), handler = Interlocked.Read(ref handlerBytes);
        return new
        {
            predictions = p,
            rows = Interlocked.Read(ref rows),
            rejected = Interlocked.Read(ref rejected),
            // The model call alone: standardise, FrozenNetwork.Predict, undo the target standardisation.
            modelAllocatedBytes = model,
            modelAllocatedBytesPerRequest = p == 0 ? 0 : (double)model / p,
            // Parsing the JSON body, the model call and writing the JSON answer.
            handlerAllocatedBytes = handler,
            handlerAllocatedBytesPerRequest = p == 0 ? 0 : (double)handler / p,
            // Everything the process allocated, Kestrel's and the routing's per-request objects included (the load
            // generator divides the difference over a run by the requests served).
            processAllocatedBytes = GC.GetTotalAllocatedBytes(precise: false),
            gcCollections = new[] { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) },
            stopping = Stopping,
        };
    }
}
