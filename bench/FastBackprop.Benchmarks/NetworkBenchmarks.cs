using BenchmarkDotNet.Attributes;
using FastBackprop.Primitives;

namespace FastBackprop.Benchmarks;

/// <summary>A network and batch size to time; the same cases are timed in PyTorch by bench/pytorch_mlp.py.</summary>
public sealed class NetworkCase(string name, int[] sizes, Activation hidden, Activation output, Loss loss, int batch, bool training = true) : IFlopCount
{
    public int[] Sizes { get; } = sizes;
    public Activation Hidden { get; } = hidden;
    public Activation Output { get; } = output;
    public Loss Loss { get; } = loss;
    public int Batch { get; } = batch;

    /// <summary>One training step (or one forward pass for an inference case): forward 2·b·Σ n_l·n_{l-1}, weight gradients the same again, and input
    /// gradients of every layer but the first.</summary>
    public double Flops
    {
        get
        {
            double forward = 0, inputGradients = 0;
            for (int l = 1; l < Sizes.Length; l++)
            {
                forward += 2.0 * Batch * Sizes[l] * Sizes[l - 1];
                if (l > 1)
                    inputGradients += 2.0 * Batch * Sizes[l] * Sizes[l - 1];
            }
            return training ? 2 * forward + inputGradients : forward;
        }
    }

    public Network<float> Build(int seed = 1)
    {
        var layers = new List<LayerSpec>();
        for (int l = 1; l < Sizes.Length; l++)
            layers.Add(new LayerSpec(Sizes[l], l == Sizes.Length - 1 ? Output : Hidden));
        return new Network<float>(Sizes[0], layers, seed);
    }

    public override string ToString() => name;

    /// <summary>The two training cases: MNIST-sized ReLU with softmax cross-entropy, and a small
    /// tanh network with binary cross-entropy where per-call overhead dominates.</summary>
    public static IEnumerable<NetworkCase> Training =>
    [
        new("784-512-256-10 relu/softmax-CE b128", [784, 512, 256, 10], Activation.ReLU, Activation.Softmax, new Loss(LossKind.SoftmaxCrossEntropy), 128),
        new("32-64-64-1 tanh/sigmoid-BCE b32", [32, 64, 64, 1], Activation.Tanh, Activation.Sigmoid, new Loss(LossKind.BinaryCrossEntropy), 32),
    ];

    public static IEnumerable<NetworkCase> Inference =>
    [
        new("784-512-256-10 b1", [784, 512, 256, 10], Activation.ReLU, Activation.Softmax, new Loss(LossKind.SoftmaxCrossEntropy), 1, training: false),
        new("784-512-256-10 b128", [784, 512, 256, 10], Activation.ReLU, Activation.Softmax, new Loss(LossKind.SoftmaxCrossEntropy), 128, training: false),
    ];
}

/// <summary>One SGD training step (forward, backward, gradients, update) with the fused kernels and
/// with the unfused reference path (GEMM, then separate passes for everything elementwise).</summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    protected virtual int Threads => 1;

    private Network<float> network = null!;
    private float[] inputs = [], targets = [];
    private int[] classes = [];

    public static IEnumerable<NetworkCase> Cases => NetworkCase.Training;

    [ParamsSource(nameof(Cases))]
    public NetworkCase Case { get; set; } = null!;

    [Params(true, false)]
    public bool Fused { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxDegreeOfParallelism = Threads;
        network = Case.Build();
        network.UseFusedKernels = Fused;
        var random = new Random(7);
        inputs = new float[Case.Batch * Case.Sizes[0]];
        for (int i = 0; i < inputs.Length; i++)
            inputs[i] = (float)random.NextDouble();
        int outputs = Case.Sizes[^1];
        classes = new int[Case.Batch];
        targets = new float[Case.Batch * outputs];
        for (int i = 0; i < Case.Batch; i++)
        {
            classes[i] = random.Next(Math.Max(outputs, 2)) % outputs;
            targets[i * outputs + classes[i]] = outputs == 1 ? random.Next(2) : 1;
        }
        int layers = Case.Sizes.Length;
        activations = new float[layers][];
        deltas = new float[layers][];
        weightGradients = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            activations[l] = new float[Case.Batch * Case.Sizes[l]];
            deltas[l] = new float[Case.Batch * Case.Sizes[l]];
            for (int i = 0; i < deltas[l].Length; i++)
                deltas[l][i] = (float)random.NextDouble() - 0.5f;
            weightGradients[l] = l == 0 ? [] : new float[Case.Sizes[l] * Case.Sizes[l - 1]];
        }
        Console.WriteLine($"// threads: {Threads}; fused: {Fused}; kernel: {Kernels.Gemm.GemmDriver<float>.KernelName}");
    }

    private float[][] activations = [], deltas = [], weightGradients = [];

    /// <summary>Only the GEMMs of one step (forward, weight gradients, input gradients of every layer but the
    /// first), with the step's shapes and plain stores: TrainStep minus this is what everything else costs.
    /// Runs once per parameter set (Fused true/false time the same thing).</summary>
    [Benchmark]
    public void GemmsOfTheStep()
    {
        int b = Case.Batch;
        int[] sizes = Case.Sizes;
        float[] input = inputs;
        for (int l = 1; l < sizes.Length; l++)
        {
            Gemm.Multiply(Transpose.No, Transpose.Yes, b, sizes[l], sizes[l - 1], 1f, input, sizes[l - 1],
                network.Weights(l - 1), sizes[l - 1], 0f, activations[l], sizes[l]);
            input = activations[l];
        }
        for (int l = sizes.Length - 1; l >= 1; l--)
        {
            float[] layerInput = l == 1 ? inputs : activations[l - 1];
            Gemm.Multiply(Transpose.Yes, Transpose.No, sizes[l], sizes[l - 1], b, 1f, deltas[l], sizes[l],
                layerInput, sizes[l - 1], 0f, weightGradients[l], sizes[l - 1]);
            if (l > 1)
                Gemm.Multiply(Transpose.No, Transpose.No, b, sizes[l - 1], sizes[l], 1f, deltas[l], sizes[l],
                    network.Weights(l - 1), sizes[l - 1], 0f, deltas[l - 1], sizes[l - 1]);
        }
    }

    [Benchmark]
    public float TrainStep() => Case.Loss.Kind == LossKind.SoftmaxCrossEntropy
        ? network.TrainStep(inputs, classes, Case.Batch, Case.Loss, 0.001f)
        : network.TrainStep(inputs, targets, Case.Batch, Case.Loss, 0.001f);
}

/// <summary>The same steps with two GEMM threads.</summary>
public class TrainingStepTwoThreadBenchmarks : TrainingStepBenchmarks
{
    protected override int Threads => 2;
}

/// <summary>Inference through <see cref="Network{T}.Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/>:
/// one sample (bound by reading the weights) and a batch of 128.</summary>
[MemoryDiagnoser]
public class InferenceBenchmarks
{
    private Network<float> network = null!;
    private InferenceWorkspace<float> workspace = null!;
    private float[] inputs = [], outputs = [];

    public static IEnumerable<NetworkCase> Cases => NetworkCase.Inference;

    [ParamsSource(nameof(Cases))]
    public NetworkCase Case { get; set; } = null!;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxDegreeOfParallelism = Threads;
        network = Case.Build();
        workspace = network.CreateInferenceWorkspace(Case.Batch);
        var random = new Random(7);
        inputs = new float[Case.Batch * Case.Sizes[0]];
        for (int i = 0; i < inputs.Length; i++)
            inputs[i] = (float)random.NextDouble();
        outputs = new float[Case.Batch * Case.Sizes[^1]];
    }

    [Benchmark(Baseline = true)]
    public void Predict() => network.Predict(inputs, Case.Batch, outputs, workspace);

    private FrozenNetwork<float> frozen = null!;
    private InferenceWorkspace<float> frozenWorkspace = null!;

    [GlobalSetup(Target = nameof(PredictFrozen))]
    public void SetupFrozen()
    {
        Setup();
        frozen = network.Freeze();
        frozenWorkspace = frozen.CreateInferenceWorkspace(Case.Batch);
    }

    /// <summary>The same network frozen (weights packed once, as ONNX Runtime does when it creates a session).</summary>
    [Benchmark]
    public void PredictFrozen() => frozen.Predict(inputs, Case.Batch, outputs, frozenWorkspace);

    // ONNX Runtime on the same weights (exported by the library's OnnxModel.Export), with the same thread count.
    private OnnxRuntimePeer? onnxRuntime;
    private float[] onnxOutputs = [];

    [GlobalSetup(Target = nameof(OnnxRuntime))]
    public void SetupOnnxRuntime()
    {
        Setup();
        using var onnx = new MemoryStream();
        OnnxModel.Export(new Model<float>(network), onnx);
        onnxOutputs = new float[outputs.Length];
        onnxRuntime = new OnnxRuntimePeer(onnx.ToArray(), Threads, inputs, onnxOutputs, Case.Batch);
        // Same weights, same answers: compare once with Predict before timing anything.
        network.Predict(inputs, Case.Batch, outputs, workspace);
        OnnxRuntime();
        double worst = OnnxRuntimePeer.LargestDifference(outputs, onnxOutputs);
        Console.WriteLine($"// ONNX Runtime {Case}: largest difference from Predict {worst:E2}");
        if (worst > 1e-4)
            throw new InvalidOperationException($"ONNX Runtime disagrees with Predict by {worst} on {Case}: the exported model is wrong.");
    }

    [Benchmark]
    public void OnnxRuntime() => onnxRuntime!.Run();

    [GlobalCleanup(Target = nameof(OnnxRuntime))]
    public void CleanupOnnxRuntime() => onnxRuntime?.Dispose();
}
