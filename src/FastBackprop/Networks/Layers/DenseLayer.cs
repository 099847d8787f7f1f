using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using FastBackprop.Kernels.Elementwise;
using FastBackprop.Kernels.Gemm;
using FastBackprop.Primitives;

namespace FastBackprop;

/// <summary>A dense layer: <c>A = g(X·Wᵀ + b)</c> forward (bias and activation fused into the GEMM), and back:
/// <c>∂C/∂W = Δᵀ·X</c>, the gradient below <c>Δ·W</c>; it finishes a gradient handed to it with g'(A) (fused into the GEMM
/// that computes it, with the bias gradient summed on the way). Its weights and biases are views of the network's one
/// parameter buffer.</summary>
internal sealed class DenseLayer<T> : NetworkLayer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Memory<T> weights, biases;

    public DenseLayer(int index, int inputs, int units, Activation activation, Memory<T> weights, Memory<T> biases, bool isOutput)
        : base(index, inputs, units)
    {
        Activation = activation;
        this.weights = weights;
        this.biases = biases;
        IsOutput = isOutput;
    }

    public Activation Activation { get; }

    /// <summary>The network's last layer: it keeps its logits Z for the loss head.</summary>
    public bool IsOutput { get; }

    public Span<T> Weights => weights.Span;

    public Span<T> Biases => biases.Span;

    public override LayerSpec Spec => new(Units, Activation);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override ReadOnlySpan<T> Forward(scoped in LayerPass<T> pass, ReadOnlySpan<T> input)
    {
        TrainingWorkspace<T> w = pass.Workspace;
        if (IsOutput && !pass.OutputActivation)
        {
            // The fused loss head applies the activation itself: stop at the logits.
            Span<T> logits = w.Logits(Units, pass.Batch);
            DenseLayerKernels.ForwardUnchecked(logits, default, input, Weights, Biases, pass.Batch, Inputs, Units, Activation.Identity);
            return logits;
        }
        Span<T> output = w.Output(Index, Units, pass.Batch);
        // The output layer keeps Z so the losses can be computed from the logits; a hidden layer whose derivative is
        // written from z keeps it for the backward pass.
        Span<T> preActivation = IsOutput ? w.Logits(Units, pass.Batch)
            : pass.Training && Activation.DerivativeNeedsPreActivation ? w.PreActivation(Index, Units, pass.Batch) : default;
        Run(output, preActivation, input, pass.Batch, pass.Fused, null);
        return output;
    }

    public override ReadOnlySpan<T> Predict(ReadOnlySpan<T> input, Span<T> output, int batch, bool fused, PackedOperand<T>? packedWeights)
    {
        // Softmax keeps its logits in the output itself and normalises them in place.
        Run(output, IsOutput && Activation.Kind == ActivationKind.Softmax ? output : default, input, batch, fused, packedWeights);
        return output;
    }

    private void Run(Span<T> output, Span<T> preActivation, ReadOnlySpan<T> input, int batch, bool fused, PackedOperand<T>? packedWeights)
    {
        if (fused)
            DenseLayerKernels.ForwardUnchecked(output, preActivation, input, Weights, Biases, batch, Inputs, Units, Activation, packedWeights);
        else
            DenseLayerKernels.ForwardUnfused(output, preActivation, input, Weights, Biases, batch, Inputs, Units, Activation);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Backward(in LayerPass<T> pass, ReadOnlySpan<T> input, NetworkLayer<T>? below, in GradientSink<T> sink)
    {
        Span<T> delta = pass.Workspace.Delta(Index, Units, pass.Batch);
        // The layer below first: its gradient needs this layer's weights before the SGD step changes them.
        below?.ReceiveProduct(pass, delta, Weights, Units, sink);
        if (sink.UpdatesInPlace)
        {
            // W ← W − η·Δᵀ·X: the update is the GEMM's β = 1.
            var none = new NoEpilogue<T>();
            Gemm.RunChecked(Transpose.Yes, Transpose.No, Units, Inputs, pass.Batch, -sink.LearningRate, delta, Units,
                input, Inputs, T.One, Weights, Inputs, in none);
        }
        else
        {
            DenseLayerKernels.WeightGradientUnchecked(sink.Gradients!.Weights(Index), delta, input, pass.Batch, Inputs, Units);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void ReceiveProduct(in LayerPass<T> pass, ReadOnlySpan<T> upstream, ReadOnlySpan<T> upstreamWeights, int upstreamUnits,
        in GradientSink<T> sink)
    {
        TrainingWorkspace<T> w = pass.Workspace;
        int batch = pass.Batch;
        Span<T> delta = w.Delta(Index, Units, batch), operand = DerivativeOperand(w, batch);
        Span<T> biasGradient = BiasGradientTarget(w, sink);
        if (pass.Fused)
        {
            // Δ = (Δ_up·W_up) ⊙ g'(A) in the GEMM epilogue, then the bias gradient (Δ's column sums in row order).
            DenseLayerKernels.HiddenDeltaUnchecked(delta, upstream, upstreamWeights, operand, batch, Units, upstreamUnits, Activation,
                biasGradient);
        }
        else
        {
            DenseLayerKernels.HiddenDeltaUnfused(delta, upstream, upstreamWeights, operand, batch, Units, upstreamUnits, Activation);
            DenseLayerKernels.BiasGradientUnchecked(biasGradient, delta, batch, Units);
        }
        FinishBiases(biasGradient, sink);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void ReceiveElementwise(in LayerPass<T> pass, ReadOnlySpan<T> gradient, in GradientSink<T> sink)
    {
        TrainingWorkspace<T> w = pass.Workspace;
        Span<T> delta = w.Delta(Index, Units, pass.Batch);
        ActivationKernels<T>.MultiplyByDerivative(Activation, gradient, DerivativeOperand(w, pass.Batch), delta);
        Span<T> biasGradient = BiasGradientTarget(w, sink);
        DenseLayerKernels.BiasGradientUnchecked(biasGradient, delta, pass.Batch, Units);
        FinishBiases(biasGradient, sink);
    }

    /// <summary>What g' is written from: A, or Z where the activation needs it (SiLU).</summary>
    private Span<T> DerivativeOperand(TrainingWorkspace<T> w, int batch)
        => Activation.DerivativeNeedsPreActivation ? w.PreActivation(Index, Units, batch) : w.Output(Index, Units, batch);

    /// <summary>Where this layer's bias gradient goes: the gradients, or the workspace's scratch in the SGD step.</summary>
    public Span<T> BiasGradientTarget(TrainingWorkspace<T> w, in GradientSink<T> sink)
        => sink.UpdatesInPlace ? w.BiasGradient(Units) : sink.Gradients!.Biases(Index);

    /// <summary>In the SGD step b is not read again this step, so it is updated as soon as its gradient is known (the same
    /// arithmetic as <see cref="Network{T}.ApplyGradients"/>).</summary>
    public void FinishBiases(ReadOnlySpan<T> biasGradient, in GradientSink<T> sink)
    {
        if (sink.UpdatesInPlace)
            TensorPrimitives.MultiplyAdd<T>(biasGradient, -sink.LearningRate, Biases, Biases);
    }
}

/// <summary>The dense kind: its own width and activation, W (units×inputs) and b (units), He or Xavier initialisation.</summary>
internal sealed class DenseLayerType : LayerType
{
    public static readonly DenseLayerType Instance = new();

    public override LayerKind Kind => LayerKind.Dense;

    public override string Name => "dense";

    public override uint FileVersion => 1;

    public override bool KeepsWidth => false;

    protected override LayerSpec ResolveOwnWidth(LayerSpec spec, int index, int count, string argument)
    {
        if (spec.Units <= 0)
            throw new ArgumentOutOfRangeException(argument, spec.Units, $"Layer {index} has {spec.Units} units; it needs at least 1.");
        if (!Enum.IsDefined(spec.Activation.Kind))
            throw new ArgumentOutOfRangeException(argument, spec.Activation.Kind, $"Layer {index} has an unknown activation kind.");
        if (ActivationRegistry.Of(spec.Activation.Kind).OutputOnly && index != count - 1)
            throw new ArgumentException($"{spec.Activation.Kind} is only allowed on the output layer, but layer {index} of {count} uses it.", argument);
        return spec;
    }

    public override TensorShape[] ParameterTensors(long inputs, long units) => [new("weight", [units, inputs]), new("bias", [units])];

    public override void Initialize<T>(LayerSpec spec, int inputs, Span<T> weights, Span<T> biases, Random random)
    {
        if (ActivationRegistry.Of(spec.Activation.Kind).Initialization == WeightInitialization.He)
        {
            // He: N(0, 2/fan_in), keeps the variance of ReLU activations constant across layers.
            double std = Math.Sqrt(2.0 / inputs);
            for (int i = 0; i < weights.Length; i++)
                weights[i] = T.CreateChecked(std * Network<T>.StandardNormal(random));
        }
        else
        {
            // Xavier/Glorot: U(−r, r) with r = √(6/(fan_in + fan_out)).
            double limit = Math.Sqrt(6.0 / (inputs + spec.Units));
            for (int i = 0; i < weights.Length; i++)
                weights[i] = T.CreateChecked((2 * random.NextDouble() - 1) * limit);
        }
        biases.Clear();
    }

    public override NetworkLayer<T> Create<T>(LayerSpec spec, int index, int inputs, Memory<T> weights, Memory<T> biases, bool isOutput)
        => new DenseLayer<T>(index, inputs, spec.Units, spec.Activation, weights, biases, isOutput);

    public override double RecordValue(LayerSpec spec) => spec.Activation.Alpha;

    public override string Describe(LayerSpec spec) => $"Dense({spec.Units}, {spec.Activation})";

    public override string Summary(LayerSpec spec, int inputs, bool quantized) => $"dense, {spec.Units} units, {spec.Activation}, {inputs} inputs";
}
