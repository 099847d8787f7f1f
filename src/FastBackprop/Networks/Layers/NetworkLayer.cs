using System.Numerics;
using FastBackprop.Kernels.Gemm;

namespace FastBackprop;

/// <summary>
/// One layer as the network's single loop sees it (MATH.md's backpropagation, layer by layer). The loop runs
/// <see cref="Forward"/> from the first layer to the last, then the loss head fills the last layer's gradient buffer,
/// then <see cref="Backward"/> from the last layer to the first. A layer's gradient buffer holds what it needs to go
/// back through itself (for a dense layer Δ = ∂C/∂Z, for dropout ∂C/∂ of its input); whoever produces it — the layer
/// above through <see cref="ReceiveProduct"/> (fused into the GEMM that computes it) or <see cref="ReceiveElementwise"/>,
/// or the loss head — finishes it with the receiving layer's own local derivative, and also produces that layer's bias
/// gradient. A new layer kind is a subclass of this plus its <see cref="LayerType"/>.
/// </summary>
internal abstract class NetworkLayer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    protected NetworkLayer(int index, int inputs, int units)
    {
        Index = index;
        Inputs = inputs;
        Units = units;
    }

    /// <summary>Position in the network (0-based).</summary>
    public int Index { get; }

    /// <summary>Width of the layer's input.</summary>
    public int Inputs { get; }

    /// <summary>Width of the layer's output.</summary>
    public int Units { get; }

    /// <summary>The layer as a user describes it (with its actual width).</summary>
    public abstract LayerSpec Spec { get; }

    /// <summary>Training or evaluation forward pass; returns the output (a pass-through layer may return its input).</summary>
    public abstract ReadOnlySpan<T> Forward(scoped in LayerPass<T> pass, ReadOnlySpan<T> input);

    /// <summary>Inference into <paramref name="output"/> (a buffer of the inference workspace, or the caller's outputs for the
    /// last layer); returns the output, which a pass-through layer leaves as <paramref name="input"/>.</summary>
    public abstract ReadOnlySpan<T> Predict(ReadOnlySpan<T> input, Span<T> output, int batch, bool fused, PackedOperand<T>? packedWeights);

    /// <summary>Whether <see cref="Predict"/> writes its output (false: it returns its input and needs no buffer).</summary>
    public virtual bool WritesOutput => true;

    /// <summary>Back through this layer: its parameter gradients (or their SGD update) from its gradient buffer, and the
    /// gradient of the layer below (through that layer's <c>Receive</c> methods). <paramref name="input"/> is what
    /// <see cref="Forward"/> read.</summary>
    public abstract void Backward(in LayerPass<T> pass, ReadOnlySpan<T> input, NetworkLayer<T>? below, in GradientSink<T> sink);

    /// <summary>This layer's gradient buffer = (<paramref name="upstream"/>·<paramref name="upstreamWeights"/>) finished with
    /// this layer's local derivative: the gradient flowing down from a dense layer above (upstream is its Δ,
    /// batch×upstreamUnits; its weights are upstreamUnits×this layer's units).</summary>
    public abstract void ReceiveProduct(in LayerPass<T> pass, ReadOnlySpan<T> upstream, ReadOnlySpan<T> upstreamWeights, int upstreamUnits,
        in GradientSink<T> sink);

    /// <summary>This layer's gradient buffer = <paramref name="gradient"/> (∂C/∂ of this layer's output) finished with this
    /// layer's local derivative: the gradient handed down by a layer without weights above.</summary>
    public abstract void ReceiveElementwise(in LayerPass<T> pass, ReadOnlySpan<T> gradient, in GradientSink<T> sink);
}

/// <summary>What every layer of one pass shares: the workspace, the batch, and how the pass runs.</summary>
/// <param name="Workspace">The training workspace (activations, gradients, masks).</param>
/// <param name="Batch">Rows in the batch.</param>
/// <param name="Training">Dropout is active (a training step), not an evaluation.</param>
/// <param name="Fused">Use the fused kernels (<see cref="Network{T}.UseFusedKernels"/>).</param>
/// <param name="OutputActivation">The last dense layer applies its activation (false: it stops at the logits, which the
/// fused loss head turns into the activation itself).</param>
/// <param name="DropoutSeed">With <paramref name="DropoutStep"/>, what the dropout masks are drawn from: a counter-based
/// hash, so a mask depends on the seed, the step, the layer and the position only (never on the thread count).</param>
/// <param name="DropoutStep">The training step the masks are drawn for.</param>
internal readonly record struct LayerPass<T>(TrainingWorkspace<T> Workspace, int Batch, bool Training, bool Fused,
    bool OutputActivation, ulong DropoutSeed, ulong DropoutStep) where T : unmanaged, IBinaryFloatingPointIeee754<T>;

/// <summary>Where parameter gradients go: into a <see cref="Gradients{T}"/> buffer, or, in the fused SGD step, straight into
/// the parameters (θ ← θ − η·∂C/∂θ) as soon as each is known, the gradients never written out.</summary>
internal readonly struct GradientSink<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private GradientSink(Gradients<T>? gradients, T learningRate)
    {
        Gradients = gradients;
        LearningRate = learningRate;
    }

    public Gradients<T>? Gradients { get; }

    /// <summary>η for the fused SGD step.</summary>
    public T LearningRate { get; }

    public bool UpdatesInPlace => Gradients is null;

    public static GradientSink<T> Into(Gradients<T> gradients) => new(gradients, T.Zero);

    public static GradientSink<T> Sgd(T learningRate) => new(null, learningRate);
}
