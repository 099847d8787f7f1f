using Microsoft.ML.OnnxRuntime;

namespace FastBackprop.Benchmarks;

/// <summary>
/// ONNX Runtime on a model the benchmark wrote, through its fastest managed path: buffers bound once (IoBinding over
/// OrtValues that wrap the benchmark's arrays), the given thread count, sequential execution, all graph optimisations.
/// </summary>
internal sealed class OnnxRuntimePeer : IDisposable
{
    private readonly InferenceSession session;
    private readonly OrtIoBinding binding;
    private readonly RunOptions runOptions = new();
    private readonly OrtValue inputValue, outputValue;

    /// <summary>A session over <paramref name="model"/> reading batch×inputs floats from <paramref name="inputs"/> (graph
    /// input "input") and writing <paramref name="outputs"/> (graph output "output").</summary>
    public OnnxRuntimePeer(byte[] model, int threads, float[] inputs, float[] outputs, int batch)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        session = new InferenceSession(model, options);
        inputValue = OrtValue.CreateTensorValueFromMemory(inputs, [batch, inputs.Length / batch]);
        outputValue = OrtValue.CreateTensorValueFromMemory(outputs, [batch, outputs.Length / batch]);
        binding = session.CreateIoBinding();
        binding.BindInput("input", inputValue);
        binding.BindOutput("output", outputValue);
    }

    public void Run() => session.RunWithBinding(runOptions, binding);

    /// <summary>max_i |a_i − b_i|: how far a peer's answers are from the library's.</summary>
    public static double LargestDifference(float[] a, float[] b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
            worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        return worst;
    }

    public void Dispose()
    {
        binding.Dispose();
        inputValue.Dispose();
        outputValue.Dispose();
        runOptions.Dispose();
        session.Dispose();
    }
}
