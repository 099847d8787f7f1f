using BenchmarkDotNet.Attributes;
using FastBackprop.Hardware;
using FastBackprop.Kernels.Int8;

namespace FastBackprop.Benchmarks;

/// <summary>
/// Serving at int8: <see cref="QuantizedNetwork.Predict"/> against the fp32 <see cref="FrozenNetwork{T}.Predict"/> (the
/// baseline), ONNX Runtime fp32 and ONNX Runtime int8, all on the same 784-512-256-10 ReLU/softmax weights, one and two
/// threads (ONNX Runtime given as many), batches 1, 16 and 128. <see cref="Int8Path"/>
/// forces the int8 instruction ("auto": what this CPU gets by default), so the paths can be compared on one machine.
/// </summary>
[MemoryDiagnoser]
public class QuantizedInferenceBenchmarks
{
    private static readonly int[] Sizes = [784, 512, 256, 10];

    private Network<float> network = null!;
    private FrozenNetwork<float> frozen = null!;
    private InferenceWorkspace<float> frozenWorkspace = null!;
    private QuantizedNetwork quantized = null!;
    private QuantizedInferenceWorkspace quantizedWorkspace = null!;
    private float[] inputs = [], outputs = [];
    private IDisposable? forced;

    [Params(1, 16, 128)]
    public int Batch { get; set; }

    [Params("auto", "AvxVnni")]
    public string Int8Path { get; set; } = "auto";

    [Params(false)]
    public bool OutputInFloat { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxDegreeOfParallelism = Threads;
        KernelConfiguration configuration = KernelConfiguration.For();
        if (Int8Path != "auto")
            configuration = configuration.WithInt8Path(Enum.Parse<Kernels.Int8.Int8Path>(Int8Path));
        forced = KernelConfiguration.Use(configuration);
        network = new Network<float>(Sizes[0], [new(Sizes[1], Activation.ReLU), new(Sizes[2], Activation.ReLU), new(Sizes[3], Activation.Softmax)], 1);
        frozen = network.Freeze();
        frozenWorkspace = frozen.CreateInferenceWorkspace(Batch);
        quantized = network.Quantize(new QuantizationOptions { KeepOutputLayerInFloat = OutputInFloat });
        quantizedWorkspace = quantized.CreateInferenceWorkspace(Batch);
        var random = new Random(7);
        inputs = new float[Batch * Sizes[0]];
        for (int i = 0; i < inputs.Length; i++)
            inputs[i] = (float)random.NextDouble();
        outputs = new float[Batch * Sizes[^1]];
        Console.WriteLine($"// int8 path: {Int8Paths.Describe(KernelConfiguration.Current.Int8Path)}; fp32: {CpuInfo.Describe(KernelConfiguration.Current.InstructionSet)}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        forced?.Dispose();
        onnxRuntime?.Dispose();
    }

    // ONNX Runtime int8 on the same weights, as quantize_dynamic writes them (OnnxInt8Graph), on as many threads.
    private OnnxRuntimePeer? onnxRuntime;

    [GlobalSetup(Target = nameof(OnnxRuntimeInt8))]
    public void SetupOnnxRuntime()
    {
        Setup();
        var onnxOutputs = new float[outputs.Length];
        onnxRuntime = new OnnxRuntimePeer(OnnxInt8Graph.Build(network), Threads, inputs, onnxOutputs, Batch);
        // The same network at int8 twice over: compare both with the fp32 answers once before timing anything.
        var ours = new float[outputs.Length];
        frozen.Predict(inputs, Batch, outputs, frozenWorkspace);
        quantized.Predict(inputs, Batch, ours, quantizedWorkspace);
        OnnxRuntimeInt8();
        double worst = OnnxRuntimePeer.LargestDifference(outputs, onnxOutputs);
        Console.WriteLine($"// batch {Batch}: largest difference from fp32 Predict: ONNX Runtime int8 {worst:E2}, QuantizedNetwork {OnnxRuntimePeer.LargestDifference(outputs, ours):E2}");
        if (worst > 0.1)
            throw new InvalidOperationException($"ONNX Runtime int8 disagrees with fp32 Predict by {worst}: the quantized graph is wrong.");
    }

    [Benchmark]
    public void OnnxRuntimeInt8() => onnxRuntime!.Run();

    // ONNX Runtime fp32 on the same weights (the library's own export of the float network), on as many threads.
    [GlobalSetup(Target = nameof(OnnxRuntimeFp32))]
    public void SetupOnnxRuntimeFp32()
    {
        Setup();
        var onnxOutputs = new float[outputs.Length];
        using var onnx = new MemoryStream();
        OnnxModel.Export(new Model<float>(network), onnx);
        onnxRuntime = new OnnxRuntimePeer(onnx.ToArray(), Threads, inputs, onnxOutputs, Batch);
        frozen.Predict(inputs, Batch, outputs, frozenWorkspace);
        OnnxRuntimeFp32();
        double worst = OnnxRuntimePeer.LargestDifference(outputs, onnxOutputs);
        if (worst > 1e-4)
            throw new InvalidOperationException($"ONNX Runtime fp32 disagrees with fp32 Predict by {worst}: the exported graph is wrong.");
    }

    [Benchmark]
    public void OnnxRuntimeFp32() => onnxRuntime!.Run();

    [Benchmark(Baseline = true)]
    public void Fp32Frozen() => frozen.Predict(inputs, Batch, outputs, frozenWorkspace);

    [Benchmark]
    public void Int8() => quantized.Predict(inputs, Batch, outputs, quantizedWorkspace);

    /// <summary>Only the int32 products of the three layers (an epilogue that does nothing): what the rest of
    /// <see cref="Int8"/> costs is the difference.</summary>
    [Benchmark]
    public unsafe void Int8ProductsOnly()
    {
        fixed (byte* codes = quantizedWorkspace.Codes(0))
        fixed (int* accumulators = quantizedWorkspace.Accumulators)
        {
            foreach (QuantizedNetwork.Stage stage in quantized.Stages)
            {
                if (stage.Quantized is null)
                    continue;
                PackedInt8Weights packed = stage.Quantized.Packed(KernelConfiguration.Current.Int8Path);
                Int8Gemm.Run(packed, codes, Int8Scheme.PaddedDepth(stage.Inputs), Batch, new Discard(), accumulators,
                    quantizedWorkspace.AccumulatorsPerPart, 1);
            }
        }
    }

    private readonly unsafe struct Discard : IInt8RowEpilogue
    {
        public void Finish(int row, int* accumulators, int part) { }
    }
}
