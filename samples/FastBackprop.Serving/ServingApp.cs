using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using FastBackprop.Hardware;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace FastBackprop.Serving;

/// <summary>
/// The service: <c>POST /v1/predict</c>, <c>GET /v1/model</c>, <c>GET /v1/diagnostics</c>, <c>GET /healthz</c>.
/// <see cref="Create"/> builds it without starting it, so the integration test can host it on a free port.
/// </summary>
public static class ServingApp
{
    private static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--model"] = $"{ServingOptions.Section}:{nameof(ServingOptions.ModelPath)}",
        ["--max-rows"] = $"{ServingOptions.Section}:{nameof(ServingOptions.MaxRowsPerRequest)}",
        ["--threads"] = $"{ServingOptions.Section}:{nameof(ServingOptions.ThreadsPerPrediction)}",
    };

    /// <summary>Builds the service from command-line arguments and the usual configuration sources, loading the model.</summary>
    /// <exception cref="ServingConfigurationException">No model path, an unreadable or invalid model, or bad settings.</exception>
    public static WebApplication Create(string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddCommandLine(args, SwitchMappings);
        ServingOptions options = builder.Configuration.GetSection(ServingOptions.Section).Get<ServingOptions>() ?? new();
        Validate(options);

        // Per-request log lines at Information would cost more than a prediction; keep the framework's warnings only.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.AddServerHeader = false;
        });
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownTimeout);

        Parallelism.MaxDegreeOfParallelism = options.ThreadsPerPrediction;
        ModelHost host = LoadModel(options);
        builder.Services.AddSingleton(host);
        builder.Services.AddSingleton<ServingMetrics>();

        WebApplication app = builder.Build();
        var metrics = app.Services.GetRequiredService<ServingMetrics>();
        ILogger logger = app.Logger;
        logger.LogInformation("Serving {Path}: {Inputs} features -> {Outputs} outputs, up to {MaxRows} rows per request, {Kernels}",
            host.Path, host.InputSize, host.OutputSize, host.MaxRows, KernelConfiguration.Current.GemmKernels);

        // Graceful shutdown (Ctrl+C, SIGTERM): health answers 503 at once so a load balancer stops sending, Kestrel stops
        // accepting connections and the requests in flight finish (up to ShutdownTimeout) before the process exits.
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            metrics.Stopping = true;
            logger.LogInformation("Stopping: finishing the requests in flight");
        });

        app.MapGet("/healthz", () => metrics.Stopping
            ? Results.Json(new { status = "stopping" }, statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Json(new { status = "ok" }));
        app.MapGet("/v1/model", () => Results.Json(DescribeModel(host)));
        app.MapGet("/v1/diagnostics", () => Results.Json(metrics.Snapshot()));
        // A plain RequestDelegate: the predict path reads and writes JSON itself (PredictRequest, WriteResponse), so
        // the only allocations per request are the framework's own.
        app.MapPost("/v1/predict", (RequestDelegate)(http => PredictAsync(http, host, metrics)));
        return app;
    }

    private static void Validate(ServingOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ModelPath))
            throw new ServingConfigurationException("no model: pass --model FILE (or set Serving:ModelPath)", 2);
        if (options.MaxRowsPerRequest is < 1 or > 1_000_000)
            throw new ServingConfigurationException($"--max-rows must be in [1, 1000000] (got {options.MaxRowsPerRequest})", 2);
        if (options.ThreadsPerPrediction < 1)
            throw new ServingConfigurationException($"--threads must be at least 1 (got {options.ThreadsPerPrediction})", 2);
        if (options.MaxConcurrentPredictions < 1)
            throw new ServingConfigurationException($"Serving:MaxConcurrentPredictions must be at least 1 (got {options.MaxConcurrentPredictions})", 2);
        if (options.MaxRequestBodyBytes < 1024)
            throw new ServingConfigurationException($"Serving:MaxRequestBodyBytes must be at least 1024 (got {options.MaxRequestBodyBytes})", 2);
    }

    private static ModelHost LoadModel(ServingOptions options)
    {
        try
        {
            return new ModelHost(options.ModelPath!, options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException)
        {
            throw new ServingConfigurationException($"cannot load the model {options.ModelPath}: {e.Message}", e is InvalidDataException ? 1 : 2);
        }
    }

    private static object DescribeModel(ModelHost host) => new
    {
        path = host.Path,
        inputSize = host.InputSize,
        outputSize = host.OutputSize,
        layers = Enumerable.Range(0, host.Model.Network.LayerCount)
            .Select(l => new
            {
                units = host.Model.Network.Layer(l).Units,
                activation = host.Model.Network.Layer(l).Activation.Kind.ToString(),
                int8 = host.Model.Quantized?.IsQuantized(l) ?? false,
            }),
        quantized = host.Model.Quantized is not null,
        loss = host.Model.Loss?.Kind.ToString(),
        classifier = host.IsClassifier,
        classLabels = host.Model.ClassLabels,
        standardizedInputs = host.Model.InputStandardization is not null,
        standardizedTargets = host.Model.TargetStandardization is not null,
        maxRowsPerRequest = host.MaxRows,
        kernels = KernelConfiguration.Current.GemmKernels,
    };

    private static async Task PredictAsync(HttpContext http, ModelHost host, ServingMetrics metrics)
    {
        if (UnsupportedContentType(http.Request) is string reason)
        {
            metrics.CountRejected();
            await WriteErrorAsync(http, StatusCodes.Status415UnsupportedMediaType, reason);
            return;
        }
        PipeReader body = http.Request.BodyReader;
        ReadResult read;
        try
        {
            // Buffer the whole body in the pipe (Kestrel's MaxRequestBodySize bounds it), then parse it in one go. No
            // cancellation token: a client that hangs up ends the read with an exception, and RequestAborted, asked
            // for only then, says at once whether it has gone (see below).
            while (true)
            {
                read = await body.ReadAsync();
                if (read.IsCompleted || read.IsCanceled)
                    break;
                body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            }
        }
        catch (BadHttpRequestException e)
        {
            // A client that hung up mid-body: no one to answer. Rethrown, Kestrel closes the connection quietly;
            // answered here, Kestrel goes on to read another request from it and, about 1 hang-up in 70, logs
            // "Connection processing ended abnormally ... Reading is already in progress" with a stack trace.
            if (http.RequestAborted.IsCancellationRequested)
                throw;
            // A body over the limit (413) or with broken chunked framing (400).
            metrics.CountRejected();
            await WriteErrorAsync(http, e.StatusCode, e.Message);
            return;
        }

        // The context is held only while this thread works synchronously: the answer is copied into Kestrel's own
        // (pooled) response buffers and the context goes back before the network write is awaited.
        PredictionContext context;
        try
        {
            context = await host.RentAsync(http.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            body.AdvanceTo(read.Buffer.End);
            return;   // the client has gone
        }
        try
        {
            int status = Handle(read.Buffer, host, context, metrics);
            http.Response.StatusCode = status;
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = context.Response.WrittenCount;
            http.Response.BodyWriter.Write(context.Response.WrittenSpan);
        }
        finally
        {
            body.AdvanceTo(read.Buffer.End);   // the body is consumed whatever happened, or Kestrel cannot drain it
            host.Return(context);
        }
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
    }

    /// <summary>The synchronous part of a prediction: parse, predict, write the JSON answer into the context. Returns
    /// the status code. Measures what it allocates on this thread, in all and in the model call alone.</summary>
    private static int Handle(ReadOnlySequence<byte> body, ModelHost host, PredictionContext context, ServingMetrics metrics)
    {
        long start = GC.GetAllocatedBytesForCurrentThread();
        int rows;
        bool single;
        try
        {
            (rows, single) = PredictRequest.Parse(body, host, context);
        }
        catch (BadRequestException e)
        {
            WriteError(context.Writer, e.Message);
            metrics.CountRejected();
            return StatusCodes.Status400BadRequest;
        }

        long beforeModel = GC.GetAllocatedBytesForCurrentThread();
        int overflowed = host.Predict(context, rows);
        long afterModel = GC.GetAllocatedBytesForCurrentThread();
        if (overflowed >= 0)
        {
            WriteError(context.Writer, $"{PredictRequest.RowName(overflowed / host.InputSize, single)}, feature {overflowed % host.InputSize}: the value is too far outside the training data for the model's standardisation (it overflows a 32-bit float)");
            metrics.CountRejected();
            return StatusCodes.Status422UnprocessableEntity;
        }

        // JSON has no NaN or infinity, and a client must not get a number that means nothing. Finite features can
        // still overflow a layer (values near float's limits, far outside what the model was trained on): that is
        // this request's input, not the service's fault, so 422 naming the row, not 500.
        int nonFinite = host.FirstNonFiniteRow(context, rows);
        if (nonFinite >= 0)
        {
            WriteError(context.Writer, $"{PredictRequest.RowName(nonFinite, single)}: the model's output is not finite (inf/NaN) for this input");
            metrics.CountRejected();
            return StatusCodes.Status422UnprocessableEntity;
        }

        WriteResponse(context, host, rows, single);
        long end = GC.GetAllocatedBytesForCurrentThread();
        metrics.CountPrediction(rows, afterModel - beforeModel, end - start);
        return StatusCodes.Status200OK;
    }

    /// <summary>Why the request's Content-Type cannot be read as a prediction request (JSON, in UTF-8), or null.</summary>
    private static string? UnsupportedContentType(HttpRequest request)
    {
        if (!request.HasJsonContentType())
            return "send the request as Content-Type: application/json";
        // HasJsonContentType looks at the media type only; a body declared in another encoding would be misread.
        StringSegment charset = MediaTypeHeaderValue.Parse(request.ContentType).Charset;
        charset = HeaderUtilities.RemoveQuotes(charset);
        return charset.HasValue && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)
            ? $"send the request as Content-Type: application/json in UTF-8, not {charset}"
            : null;
    }

    private static readonly JsonEncodedText OutputsName = JsonEncodedText.Encode("outputs");
    private static readonly JsonEncodedText ClassName = JsonEncodedText.Encode("class");
    private static readonly JsonEncodedText LabelName = JsonEncodedText.Encode("label");
    private static readonly JsonEncodedText PredictionsName = JsonEncodedText.Encode("predictions");
    private static readonly JsonEncodedText ErrorName = JsonEncodedText.Encode("error");

    /// <summary><c>{"outputs": [...], "class": c, "label": "name"}</c> for a bare row, <c>{"predictions": [that, ...]}</c>
    /// for rows; class and label only for classifiers (label when the model names its classes). Floats are written in
    /// their shortest round-trip form, so a client parsing them as float gets the service's bits.</summary>
    private static void WriteResponse(PredictionContext context, ModelHost host, int rows, bool single)
    {
        int n = host.OutputSize;
        ReadOnlySpan<float> outputs = context.Outputs.AsSpan(0, rows * n);
        Utf8JsonWriter w = context.Writer;
        w.WriteStartObject();
        if (!single)
            w.WriteStartArray(PredictionsName);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = outputs.Slice(r * n, n);
            if (!single)
                w.WriteStartObject();
            w.WriteStartArray(OutputsName);
            foreach (float v in row)
                w.WriteNumberValue(v);
            w.WriteEndArray();
            if (host.IsClassifier)
            {
                int cls = host.ClassOf(row);
                w.WriteNumber(ClassName, cls);
                if (host.LabelOf(cls) is string label)
                    w.WriteString(LabelName, label);
            }
            if (!single)
                w.WriteEndObject();
        }
        if (!single)
            w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
    }

    private static void WriteError(Utf8JsonWriter w, string message)
    {
        w.WriteStartObject();
        w.WriteString(ErrorName, message);
        w.WriteEndObject();
        w.Flush();
    }

    private static async Task WriteErrorAsync(HttpContext http, int status, string message)
    {
        http.Response.StatusCode = status;
        await http.Response.WriteAsJsonAsync(new { error = message });
    }
}

/// <summary>A start-up problem reported as one line, with the process's exit code.</summary>
public sealed class ServingConfigurationException(string message, int exitCode) : Exception(message)
{
    /// <summary>2 for usage mistakes, 1 for a model file that is not valid.</summary>
    public int ExitCode { get; } = exitCode;
}
