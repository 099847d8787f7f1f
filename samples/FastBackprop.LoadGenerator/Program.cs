using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

// Closed-loop load on a FastBackprop.Serving instance: for each concurrency level, that many clients each send a
// prediction, wait for the answer and send the next, first for a warm-up, then for a measured phase bounded both in
// time (--seconds) and in requests (--max-requests). Loopback addresses only; the run stops by itself.
//
//   dotnet run -c Release --project samples/FastBackprop.LoadGenerator -- --url http://127.0.0.1:5080 \
//       [--concurrency 1,4,16,64] [--seconds 10] [--warmup 2] [--max-requests 200000] [--rows 1]
//
// Prints one Markdown table row per level: throughput, latency percentiles (nearest rank over every measured request)
// and the bytes the service allocated per request — in the model call, in its whole predict handler (parse, predict,
// write) and in the whole process (Kestrel included) — from its /v1/diagnostics counters, taken before and after the
// measured phase, so warm-up and first-call costs are excluded.

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
const string Usage = "usage: FastBackprop.LoadGenerator --url http://127.0.0.1:PORT [--concurrency 1,4,16,64] [--seconds 10] [--warmup 2] [--max-requests 200000] [--rows 1]";
if (args.Any(a => a is "-h" or "--help" or "-?"))
{
    Console.WriteLine(Usage);
    return 0;
}
LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    // A command-line mistake is one line and exit code 2, never a stack trace.
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
using var handler = new SocketsHttpHandler
{
    // One connection per client (HTTP/1.1), kept open: the latency measured is the service's, not TCP set-up's.
    MaxConnectionsPerServer = options.Concurrency.Max(),
    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    UseProxy = false,
};
using var http = new HttpClient(handler) { BaseAddress = options.Url, Timeout = TimeSpan.FromSeconds(30) };

using JsonDocument model = JsonDocument.Parse(await http.GetStringAsync("/v1/model"));
int inputSize = model.RootElement.GetProperty("inputSize").GetInt32();
int maxRows = model.RootElement.GetProperty("maxRowsPerRequest").GetInt32();
if (options.Rows > maxRows)
    throw new ArgumentException($"--rows {options.Rows} exceeds the service's {maxRows} rows per request");
byte[][] bodies = RequestBodies.Create(inputSize, options.Rows, count: 256, seed: 1);
Console.WriteLine($"# {options.Url}: model {model.RootElement.GetProperty("path").GetString()} ({inputSize} features, "
    + $"{model.RootElement.GetProperty("kernels").GetString()}), {options.Rows} row(s) per request, "
    + $"{options.Seconds} s per level after {options.Warmup} s warm-up, at most {options.MaxRequests} requests per level");
Console.WriteLine();
Console.WriteLine("| clients | requests | errors | requests/s | rows/s | p50 ms | p99 ms | p99.9 ms | max ms | model bytes/req | handler bytes/req | process bytes/req | server GCs (0/1/2) |");
Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");

foreach (int clients in options.Concurrency)
{
    await Phase.RunAsync(http, bodies, clients, TimeSpan.FromSeconds(options.Warmup), options.MaxRequests, record: false);
    Diagnostics before = await Diagnostics.ReadAsync(http);
    Phase result = await Phase.RunAsync(http, bodies, clients, TimeSpan.FromSeconds(options.Seconds), options.MaxRequests, record: true);
    Diagnostics after = await Diagnostics.ReadAsync(http);
    long served = Math.Max(1, after.Predictions - before.Predictions);
    Console.WriteLine(
        $"| {clients} | {result.Completed} | {result.Errors} | {result.Completed / result.Elapsed.TotalSeconds:0} | "
        + $"{result.Completed * options.Rows / result.Elapsed.TotalSeconds:0} | {result.Percentile(0.50):0.000} | {result.Percentile(0.99):0.000} | "
        + $"{result.Percentile(0.999):0.000} | {result.Percentile(1.0):0.000} | "
        + $"{(double)(after.ModelBytes - before.ModelBytes) / served:0.#} | {(double)(after.HandlerBytes - before.HandlerBytes) / served:0.#} | {(double)(after.ProcessBytes - before.ProcessBytes) / served:0} | "
        + $"{after.Gc0 - before.Gc0}/{after.Gc1 - before.Gc1}/{after.Gc2 - before.Gc2} |");
}
return 0;

internal sealed record LoadOptions(Uri Url, int[] Concurrency, double Seconds, double Warmup, int MaxRequests, int Rows)
{
    public static LoadOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"expected --name value pairs, got '{args[i]}'");
            values[args[i][2..]] = args[i + 1];
        }
        string Get(string name, string fallback) => values.Remove(name, out string? v) ? v : fallback;
        var url = new Uri(Get("url", "http://127.0.0.1:5080"));
        // Loopback only: this is a benchmark of the service on this machine, not a tool to load anyone else's.
        if (!url.IsLoopback)
            throw new ArgumentException($"--url must be a loopback address (127.0.0.1, [::1], localhost), not {url.Host}");
        var options = new LoadOptions(url,
            Get("concurrency", "1,4,16,64").Split(',').Select(c => Bounded(int.Parse(c), 1, 1024, "concurrency")).ToArray(),
            Bounded(double.Parse(Get("seconds", "10")), 0.1, 600, "seconds"),
            Bounded(double.Parse(Get("warmup", "2")), 0, 60, "warmup"),
            Bounded(int.Parse(Get("max-requests", "200000")), 1, 10_000_000, "max-requests"),
            Bounded(int.Parse(Get("rows", "1")), 1, 100_000, "rows"));
        if (values.Count > 0)
            throw new ArgumentException($"unknown option --{values.Keys.First()}");
        return options;
    }

    private static T Bounded<T>(T value, T min, T max, string name) where T : IComparable<T>
        => value.CompareTo(min) >= 0 && value.CompareTo(max) <= 0 ? value
            : throw new ArgumentOutOfRangeException(name, value, $"--{name} must be in [{min}, {max}]");
}

internal static class RequestBodies
{
    /// <summary><paramref name="count"/> request bodies of standard-normal features, written in round-trip form.</summary>
    public static byte[][] Create(int inputSize, int rows, int count, int seed)
    {
        var random = new Random(seed);
        var bodies = new byte[count][];
        for (int b = 0; b < count; b++)
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream))
            {
                w.WriteStartObject();
                w.WriteStartArray("rows");
                for (int r = 0; r < rows; r++)
                {
                    w.WriteStartArray();
                    for (int i = 0; i < inputSize; i++)
                        w.WriteNumberValue((float)random.NextGaussian());
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            bodies[b] = stream.ToArray();
        }
        return bodies;
    }

    private static double NextGaussian(this Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}

internal sealed class Phase
{
    private readonly long[] latencies;   // Stopwatch ticks of every measured request, in completion order

    private Phase(long[] latencies, long errors, TimeSpan elapsed)
    {
        this.latencies = latencies;
        Errors = errors;
        Elapsed = elapsed;
        Array.Sort(this.latencies);
    }

    public int Completed => latencies.Length;
    public long Errors { get; }
    public TimeSpan Elapsed { get; }

    /// <summary>Nearest-rank percentile in milliseconds (p = 1 is the maximum).</summary>
    public double Percentile(double p)
    {
        if (latencies.Length == 0)
            return double.NaN;
        int rank = Math.Clamp((int)Math.Ceiling(p * latencies.Length) - 1, 0, latencies.Length - 1);
        return latencies[rank] * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary><paramref name="clients"/> closed-loop clients until <paramref name="duration"/> has passed or
    /// <paramref name="maxRequests"/> were sent, whichever comes first.</summary>
    public static async Task<Phase> RunAsync(HttpClient http, byte[][] bodies, int clients, TimeSpan duration, int maxRequests, bool record)
    {
        long started = 0, errors = 0;
        var perClient = new List<long>[clients];
        var clock = Stopwatch.StartNew();
        long deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var mediaType = new MediaTypeHeaderValue("application/json");
        var tasks = new Task[clients];
        for (int c = 0; c < clients; c++)
        {
            var mine = perClient[c] = new List<long>(record ? 1 << 16 : 0);
            int client = c;
            tasks[c] = Task.Run(async () =>
            {
                while (Stopwatch.GetTimestamp() < deadline)
                {
                    long n = Interlocked.Increment(ref started);
                    if (n > maxRequests)
                        break;
                    var content = new ByteArrayContent(bodies[(int)((n * 31 + client) % bodies.Length)]);
                    content.Headers.ContentType = mediaType;
                    long t0 = Stopwatch.GetTimestamp();
                    using HttpResponseMessage response = await http.PostAsync("/v1/predict", content);
                    // Read the whole answer: the latency ends when the client has it, not at the headers.
                    await response.Content.LoadIntoBufferAsync();
                    long t1 = Stopwatch.GetTimestamp();
                    if (response.StatusCode != HttpStatusCode.OK)
                        Interlocked.Increment(ref errors);
                    else if (record)
                        mine.Add(t1 - t0);
                }
            });
        }
        await Task.WhenAll(tasks);
        return new Phase(perClient.SelectMany(l => l).ToArray(), errors, clock.Elapsed);
    }
}

internal sealed record Diagnostics(long Predictions, long ModelBytes, long HandlerBytes, long ProcessBytes, int Gc0, int Gc1, int Gc2)
{
    public static async Task<Diagnostics> ReadAsync(HttpClient http)
    {
        using JsonDocument d = JsonDocument.Parse(await http.GetStringAsync("/v1/diagnostics"));
        JsonElement root = d.RootElement, gc = root.GetProperty("gcCollections");
        return new Diagnostics(root.GetProperty("predictions").GetInt64(), root.GetProperty("modelAllocatedBytes").GetInt64(),
            root.GetProperty("handlerAllocatedBytes").GetInt64(), root.GetProperty("processAllocatedBytes").GetInt64(), gc[0].GetInt32(), gc[1].GetInt32(), gc[2].GetInt32());
    }
}
