using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace FastBackprop.Fuzz;

/// <summary>
/// Runs the serving sample (samples/FastBackprop.Serving, built in Release) once, on a free loopback port, with the
/// run's model, and sends each case's body to <c>POST /v1/predict</c>. A 5xx answer or a stack trace in the service's
/// log (stdout and stderr) is a crash; no answer within the time limit is a hang; a service that died is restarted for
/// the next case.
/// </summary>
public sealed partial class ServingRunner(FuzzSettings settings, string servingDll, int runSeed) : IDisposable
{
    private Process? service;
    private HttpClient? client;
    private readonly ConcurrentQueue<string> log = new();

    /// <summary>Finds the serving sample built in Release next to this repository's sources.</summary>
    public static string? FindServingDll(string start)
    {
        for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "samples", "FastBackprop.Serving", "bin", "Release", "net10.0", "FastBackprop.Serving.dll");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    public CaseResult Run(FuzzCase fuzzCase)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            EnsureStarted();
        }
        catch (InvalidOperationException e)
        {
            return new CaseResult(Outcome.Crash, $"the service did not start: {CaseRunner.OneLine(e.Message)}", null, clock.Elapsed, 0);
        }
        log.Clear();
        using var body = new MemoryStream();
        fuzzCase.File("request.json").Open().CopyTo(body);
        var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        int status;
        string answer;
        try
        {
            using HttpResponseMessage response = client!.PostAsync("/v1/predict", content).GetAwaiter().GetResult();
            status = (int)response.StatusCode;
            answer = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        }
        catch (TaskCanceledException)
        {
            Stop();
            return new CaseResult(Outcome.Hang, $"no answer within {settings.TimeLimit.TotalSeconds:0.#} s", null, clock.Elapsed, 0);
        }
        catch (HttpRequestException e)
        {
            bool died = service!.HasExited;
            Stop();
            return new CaseResult(Outcome.Crash, $"{(died ? "the service died" : "no HTTP answer")}: {CaseRunner.OneLine(e.Message)}", null, clock.Elapsed, 0);
        }
        string? trace = AwaitTrace(expected: status >= 500);
        if (status >= 500)
            return new CaseResult(Outcome.Crash, $"HTTP {status}: {CaseRunner.OneLine(answer)}", trace is null ? null : CaseRunner.OneLine(trace.Trim()), clock.Elapsed, 0);
        if (trace is not null)
            return new CaseResult(Outcome.Crash, $"HTTP {status}, and a stack trace in the log", CaseRunner.OneLine(trace.Trim()), clock.Elapsed, 0);
        return status is >= 200 and < 300
            ? new CaseResult(Outcome.Accepted, $"HTTP {status}", null, clock.Elapsed, 0)
            : new CaseResult(Outcome.CleanError, $"HTTP {status}: {CaseRunner.OneLine(answer)}", null, clock.Elapsed, 0);
    }

    /// <summary>The first line of a stack trace the service logged for this request, or null. The console logger writes
    /// from a background queue, so the trace of a 500 may come after the answer: wait for it (up to a second), or
    /// briefly when none is expected, so it is not blamed on the next case.</summary>
    private string? AwaitTrace(bool expected)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan wait = expected ? TimeSpan.FromSeconds(1) : TimeSpan.FromMilliseconds(5);
        while (true)
        {
            string? trace = log.FirstOrDefault(line => StackFrame().IsMatch(line) || line.Contains("Exception:", StringComparison.Ordinal));
            if (trace is not null || clock.Elapsed > wait)
            {
                if (trace is not null)
                    Thread.Sleep(20);   // the rest of the block, so it is not left for the next case
                return trace;
            }
            Thread.Sleep(2);
        }
    }

    [GeneratedRegex(@"^\s+at \S+.*\(")]
    private static partial Regex StackFrame();

    private void EnsureStarted()
    {
        if (service is { HasExited: false })
            return;
        Stop();
        string directory = ModelDirectory();
        Directory.CreateDirectory(directory);
        string model = Path.Combine(directory, "model.fbpm");
        File.WriteAllBytes(model, ServingCases.Model(runSeed).Bytes);
        int port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (string a in (string[])[servingDll, "--model", model, "--urls", $"http://127.0.0.1:{port}"])
            start.ArgumentList.Add(a);
        if (settings.MemoryCapBytes > 0)
            start.Environment["DOTNET_GCHeapHardLimit"] = "0x" + settings.MemoryCapBytes.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        service = Process.Start(start)!;
        service.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        service.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        service.BeginOutputReadLine();
        service.BeginErrorReadLine();
        client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = settings.TimeLimit };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (service.HasExited)
                throw new InvalidOperationException($"exit {service.ExitCode}: {string.Join(" / ", log.TakeLast(3))}");
            try
            {
                using HttpResponseMessage health = client.GetAsync("/healthz").GetAwaiter().GetResult();
                if (health.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            Thread.Sleep(200);
        }
        throw new InvalidOperationException("no healthy answer within 120 s");
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private void Stop()
    {
        client?.Dispose();
        client = null;
        if (service is not null)
        {
            try
            {
                if (!service.HasExited)
                {
                    service.Kill(entireProcessTree: true);
                    service.WaitForExit();
                }
            }
            catch (InvalidOperationException) { }
            service.Dispose();
            service = null;
        }
    }

    public void Dispose()
    {
        Stop();
        try { Directory.Delete(ModelDirectory(), recursive: true); }
        catch (IOException) { }
    }

    /// <summary>Where the service's model file is written.</summary>
    private string ModelDirectory() => Path.Combine(settings.WorkDirectory, $"serving-{Environment.ProcessId}");
}
