namespace FastBackprop.Serving;

/// <summary>Settings, from appsettings.json, environment variables (<c>Serving__MaxRowsPerRequest=64</c>) or the
/// command line (<c>--model FILE</c>, <c>--max-rows N</c>, or any <c>--Serving:Key=value</c>).</summary>
public sealed class ServingOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Serving";

    /// <summary>The model file (<c>ModelFile.Load&lt;float&gt;</c>), loaded once at start-up. Required.</summary>
    public string? ModelPath { get; set; }

    /// <summary>The most rows one request may send: bounds the memory a request can make the service hold (each
    /// pooled workspace is sized for it) and the time one request occupies a thread. Bigger requests get 400.</summary>
    public int MaxRowsPerRequest { get; set; } = 256;

    /// <summary>The largest request body accepted, in bytes (Kestrel answers 413 beyond it).</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Threads one prediction may use (<c>Parallelism.MaxDegreeOfParallelism</c>). 1 by default: a service runs
    /// requests in parallel already, and splitting each one's matrix products would only make them compete.</summary>
    public int ThreadsPerPrediction { get; set; } = 1;

    /// <summary>Predictions running at once, each with its own context (workspace and buffers, created on first need
    /// and kept); more requests wait for a free one. Default: twice the processors, so a processor never idles while
    /// another request's thread is between its parse and its answer.</summary>
    public int MaxConcurrentPredictions { get; set; } = 2 * Environment.ProcessorCount;

    /// <summary>How long shutdown waits for requests in flight.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);
}
