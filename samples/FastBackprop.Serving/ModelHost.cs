using System.Buffers;
using System.Numerics.Tensors;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Collections.Concurrent;

namespace FastBackprop.Serving;

/// <summary>
/// The loaded model and what serving it concurrently needs. <see cref="Model{T}.Predict"/> keeps scratch buffers and
/// is not thread-safe, so requests do not call it: they take a <see cref="PredictionContext"/> from a bounded pool (an
/// <see cref="InferenceWorkspace{T}"/> and buffers sized for <see cref="ServingOptions.MaxRowsPerRequest"/> rows) and run
/// the model's three steps on it — standardise the features, <see cref="FrozenNetwork{T}.Predict"/>, undo the target
/// standardisation — which give the same bits as <see cref="Model{T}.Predict"/> (the integration test checks it) and
/// allocate nothing. The network is frozen once: its weights are packed for the kernels at start-up, not per request. A
/// quantized model file (<c>fastbackprop quantize</c>) is served the same way through its <see cref="QuantizedNetwork"/>,
/// whose int8 weights were packed when it loaded.
/// </summary>
public sealed class ModelHost
{
    private readonly FrozenNetwork<float>? network;   // null for a quantized model
    private readonly QuantizedNetwork? quantized;
    // At most MaxConcurrentPredictions contexts ever exist: a request waits (asynchronously) for a free slot, then
    // takes an idle context or creates one. Nothing is created and dropped under load, so the large buffers of a
    // context are allocated once, and the slots bound the memory and the CPU that predictions can take at once.
    private readonly SemaphoreSlim slots;
    private readonly ConcurrentQueue<PredictionContext> idle = new();

    /// <summary>Loads and freezes the model at <paramref name="path"/>.</summary>
    public ModelHost(string path, ServingOptions options)
    {
        Path = System.IO.Path.GetFullPath(path);
        Model = ModelFile.Load<float>(Path);
        quantized = Model.Quantized;
        network = quantized is null ? Model.Network.Freeze() : null;
        MaxRows = options.MaxRowsPerRequest;
        LastActivation = Model.Network.Layer(Model.Network.LayerCount - 1).Activation;
        // A classifier: named classes, a softmax output, or one sigmoid unit trained with binary cross-entropy.
        IsClassifier = Model.TargetStandardization is null
            && (Model.ClassLabels is not null || LastActivation.Kind == ActivationKind.Softmax || Model.Loss == Loss.BinaryCrossEntropy);
        slots = new SemaphoreSlim(options.MaxConcurrentPredictions, options.MaxConcurrentPredictions);
        idle.Enqueue(Warm(NewContext()));
    }

    /// <summary>The model file's full path.</summary>
    public string Path { get; }

    private PredictionContext NewContext() => quantized is not null
        ? new PredictionContext(quantized.CreateInferenceWorkspace(MaxRows), MaxRows, InputSize, OutputSize)
        : new PredictionContext(network!.CreateInferenceWorkspace(MaxRows), MaxRows, InputSize, OutputSize);

    /// <summary>The model, for its description. Not for predicting: see the class summary.</summary>
    public Model<float> Model { get; }

    /// <summary>The most rows a request may send.</summary>
    public int MaxRows { get; }

    /// <summary>Whether predictions include a class (and its label when the model names its classes).</summary>
    public bool IsClassifier { get; }

    /// <summary>The output layer's activation.</summary>
    public Activation LastActivation { get; }

    /// <summary>Features per row.</summary>
    public int InputSize => Model.InputSize;

    /// <summary>Outputs per row.</summary>
    public int OutputSize => Model.OutputSize;

    /// <summary>The first of the <paramref name="rows"/> rows just predicted in <paramref name="context"/> whose outputs hold
    /// NaN or ±∞ (after the target standardisation is undone), or −1 when every value is finite.</summary>
    public int FirstNonFiniteRow(PredictionContext context, int rows) =>
        Model.Network.FirstNonFiniteRow(context.Outputs.AsSpan(0, rows * OutputSize), rows);

    /// <summary>A context for one request, once one of the prediction slots is free (at once, without allocating,
    /// when one is); give it back with <see cref="Return"/>.</summary>
    public async ValueTask<PredictionContext> RentAsync(CancellationToken cancellationToken)
    {
        await slots.WaitAsync(cancellationToken);
        return idle.TryDequeue(out PredictionContext? context) ? context : NewContext();
    }

    /// <summary>Returns a context and its slot.</summary>
    public void Return(PredictionContext context)
    {
        context.ResetResponse();
        idle.Enqueue(context);
        slots.Release();
    }

    /// <summary>Predicts <paramref name="rows"/> rows of raw features held in <see cref="PredictionContext.Inputs"/>
    /// (overwritten with their standardised values) into <see cref="PredictionContext.Outputs"/>, as
    /// <see cref="Model{T}.Predict"/> does, without allocating.</summary>
    /// <returns>−1, or — when the standardisation turns a finite feature into ±∞ (a value near float's limits, far
    /// outside the training data) — the index (row × InputSize + feature) of the first such value, and predicts nothing.</returns>
    public int Predict(PredictionContext context, int rows)
    {
        Span<float> x = context.Inputs.AsSpan(0, rows * InputSize);
        Span<float> y = context.Outputs.AsSpan(0, rows * OutputSize);
        if (Model.InputStandardization is { } standardization)
        {
            standardization.Transform(x);
            for (int i = 0; i < x.Length; i++)
            {
                if (!float.IsFinite(x[i]))
                    return i;
            }
        }
        if (quantized is not null)
            quantized.Predict(x, rows, y, context.QuantizedWorkspace!);
        else
            network!.Predict(x, rows, y, context.Workspace!);
        Model.TargetStandardization?.InverseTransform(y);
        return -1;
    }

    /// <summary>The predicted class of one row's outputs, as <see cref="Model{T}.PredictClasses"/> decides it.</summary>
    public int ClassOf(ReadOnlySpan<float> outputs)
        => outputs.Length == 1 ? (outputs[0] > 0.5f ? 1 : 0) : TensorPrimitives.IndexOfMax(outputs);

    /// <summary>The name of a class, or null when the model has none.</summary>
    public string? LabelOf(int cls) => Model.ClassLabels?[cls];

    // The first prediction of each batch shape runs the JIT and sizes the kernels' buffers; do it before the first
    // request, not during it.
    private PredictionContext Warm(PredictionContext context)
    {
        foreach (int rows in new[] { 1, MaxRows })
        {
            context.Inputs.AsSpan(0, rows * InputSize).Clear();
            _ = Predict(context, rows);
        }
        return context;
    }
}

/// <summary>Everything one request needs, reused across requests: the network's workspace (fp32 or int8), the feature
/// and output buffers, and the response buffer with its JSON writer.</summary>
public sealed class PredictionContext
{
    internal PredictionContext(InferenceWorkspace<float> workspace, int maxRows, int inputs, int outputs)
        : this(maxRows, inputs, outputs)
        => Workspace = workspace;

    internal PredictionContext(QuantizedInferenceWorkspace workspace, int maxRows, int inputs, int outputs)
        : this(maxRows, inputs, outputs)
        => QuantizedWorkspace = workspace;

    private PredictionContext(int maxRows, int inputs, int outputs)
    {
        Inputs = new float[maxRows * inputs];
        Outputs = new float[maxRows * outputs];
        Response = new ArrayBufferWriter<byte>(4096);
        // Relaxed escaping: error messages quote JSON ('x', "rows") and labels may be any text; the body is served as
        // application/json, never embedded in HTML.
        Writer = new Utf8JsonWriter(Response, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>The fp32 network's scratch memory for up to the service's row limit (null for a quantized model).</summary>
    public InferenceWorkspace<float>? Workspace { get; }

    /// <summary>The int8 network's scratch memory for up to the service's row limit (null for an fp32 model).</summary>
    public QuantizedInferenceWorkspace? QuantizedWorkspace { get; }

    /// <summary>Rows of features, row-major.</summary>
    public float[] Inputs { get; }

    /// <summary>Rows of outputs, row-major.</summary>
    public float[] Outputs { get; }

    /// <summary>A copy of <paramref name="body"/> in one span, in a buffer that grows to the largest body seen and is
    /// kept (bounded by Kestrel's request size limit).</summary>
    public ReadOnlySpan<byte> Contiguous(ReadOnlySequence<byte> body)
    {
        if (requestCopy.Length < body.Length)
            requestCopy = new byte[Math.Max(body.Length, 2L * requestCopy.Length)];
        body.CopyTo(requestCopy);
        return requestCopy.AsSpan(0, (int)body.Length);
    }

    private byte[] requestCopy = [];

    /// <summary>The response body being written.</summary>
    public ArrayBufferWriter<byte> Response { get; }

    /// <summary>Writes into <see cref="Response"/>.</summary>
    public Utf8JsonWriter Writer { get; }

    internal void ResetResponse()
    {
        Response.ResetWrittenCount();
        Writer.Reset(Response);
    }
}
