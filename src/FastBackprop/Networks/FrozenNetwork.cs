using System.Numerics;
using FastBackprop.Kernels.Gemm;
using FastBackprop.Hardware;

namespace FastBackprop;

/// <summary>
/// A read-only snapshot of a <see cref="Network{T}"/> for serving: its parameters copied when
/// <see cref="Network{T}.Freeze"/> was called, and each layer's Wᵀ packed once into the order the GEMM kernels read,
/// so a prediction does not re-pack the weights on every call (ONNX Runtime does the same with a model's constant
/// weights when it creates a session). Results are bit-identical to <see cref="Network{T}.Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/>
/// on the network as it was when frozen; later changes to that network are not seen. It holds about twice the memory of
/// the parameters. Any number of threads may predict at once, each with its own workspace.
/// </summary>
public sealed class FrozenNetwork<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Network<T> network;
    private readonly PackedOperand<T>?[] packedWeights;

    internal FrozenNetwork(Network<T> source)
    {
        network = source.Copy();
        packedWeights = new PackedOperand<T>?[network.LayerCount];
        for (int l = 0; l < network.LayerCount; l++)
        {
            if (network.Layer(l).Kind == LayerKind.Dense)
                packedWeights[l] = PackedOperand<T>.ForLayer(network.Weights(l), network.Layer(l).Units, network.LayerInputs(l));
        }
        Configuration = KernelConfiguration.Current;
    }

    /// <summary>The copy of the network this snapshot runs.</summary>
    internal Network<T> Source => network;

    /// <summary>Features per sample.</summary>
    public int InputSize => network.InputSize;

    /// <summary>Outputs per sample.</summary>
    public int OutputSize => network.OutputSize;

    /// <summary>Number of layers (dense and dropout).</summary>
    public int LayerCount => network.LayerCount;

    /// <summary>The kernel configuration the weights were packed for. Under another one (a test forcing it) predictions
    /// stay correct and pack as a <see cref="Network{T}"/> does.</summary>
    public KernelConfiguration Configuration { get; }

    /// <summary>Layer <paramref name="index"/>'s units and activation.</summary>
    public LayerSpec Layer(int index) => network.Layer(index);

    /// <summary>A workspace for <see cref="Predict"/> on batches of up to <paramref name="maxBatchSize"/> samples; give each
    /// thread that predicts its own.</summary>
    public InferenceWorkspace<T> CreateInferenceWorkspace(int maxBatchSize = 1) => network.CreateInferenceWorkspace(maxBatchSize);

    /// <summary>Inference without allocating, exactly as <see cref="Network{T}.Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/>
    /// (same checks, same exceptions, same bits). Like it, returns what the arithmetic gives: NaN or ±∞ where the weights
    /// overflow on a row; <see cref="FirstNonFiniteRow"/> finds the first such row.</summary>
    public void Predict(ReadOnlySpan<T> inputs, int batchSize, Span<T> outputs, InferenceWorkspace<T> workspace)
        => network.Predict(inputs, batchSize, outputs, workspace, packedWeights);

    /// <summary>The first of <paramref name="batchSize"/> rows of <paramref name="outputs"/> holding NaN or ±∞, or −1 when
    /// every value is finite: <see cref="Network{T}.FirstNonFiniteRow"/>.</summary>
    /// <exception cref="ArgumentException">batchSize is not positive, or outputs is not batchSize×OutputSize values.</exception>
    public int FirstNonFiniteRow(ReadOnlySpan<T> outputs, int batchSize) => network.FirstNonFiniteRow(outputs, batchSize);
}
