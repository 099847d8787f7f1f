using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using FastBackprop.Kernels.Fused;
using FastBackprop.Kernels.Gemm;

namespace FastBackprop;

/// <summary>
/// A multilayer perceptron of dense layers (MATH.md): <c>Z_l = A_{l-1}·W_lᵀ + b_l</c>,
/// <c>A_l = g_l(Z_l)</c>, batches row-major with one sample per row. All parameters live in one
/// contiguous buffer. Forward, ComputeLoss, ComputeGradients and TrainStep reuse a workspace owned by the
/// network (nothing is allocated after the first call for a batch size), so they must not run on several
/// threads at once; <see cref="Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/> takes the
/// caller's own workspace and may. Each GEMM may itself use several threads (<see cref="Gemm.MaxDegreeOfParallelism"/>).
/// </summary>
public sealed class Network<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly LayerSpec[] layers;
    private readonly ParameterLayout layout;
    private readonly T[] parameters;
    private Workspace? workspace;

    /// <summary>Builds a network and initialises it reproducibly from <paramref name="seed"/>: weights
    /// Xavier/Glorot-uniform for sigmoid, tanh, identity, step and softmax layers, He-normal for the
    /// ReLU family; biases zero.</summary>
    /// <exception cref="ArgumentException">A size is not positive, the list is empty, or softmax is not the last layer.</exception>
    public Network(int inputSize, IReadOnlyList<LayerSpec> layers, int seed = 0)
    {
        Guard.Positive(inputSize, nameof(inputSize));
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0)
            throw new ArgumentException("A network needs at least one layer.", nameof(layers));
        this.layers = layers.ToArray();
        var sizes = new int[this.layers.Length + 1];
        sizes[0] = inputSize;
        for (int l = 0; l < this.layers.Length; l++)
        {
            LayerSpec spec = this.layers[l];
            if (spec.Units <= 0)
                throw new ArgumentOutOfRangeException(nameof(layers), spec.Units, $"Layer {l} has {spec.Units} units; it needs at least 1.");
            if (!Enum.IsDefined(spec.Activation.Kind))
                throw new ArgumentOutOfRangeException(nameof(layers), spec.Activation.Kind, $"Layer {l} has an unknown activation kind.");
            if (spec.Activation.Kind == ActivationKind.Softmax && l != this.layers.Length - 1)
                throw new ArgumentException($"Softmax is only allowed on the output layer, but layer {l} of {this.layers.Length} uses it.", nameof(layers));
            sizes[l + 1] = spec.Units;
        }
        long parameterCount = ParameterLayout.Total(sizes);
        if (parameterCount > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(layers),
                $"A [{string.Join('-', sizes)}] network has {parameterCount:N0} parameters, more than one array can hold ({Array.MaxLength:N0}).");
        layout = new ParameterLayout(sizes);
        parameters = new T[layout.Count];
        Initialize(seed);
    }

    /// <summary>Features per sample.</summary>
    public int InputSize => layout.Sizes[0];

    /// <summary>Outputs per sample (units of the last layer).</summary>
    public int OutputSize => layout.Sizes[^1];

    /// <summary>Number of dense layers.</summary>
    public int LayerCount => layers.Length;

    /// <summary>
    /// True (the default) runs the fused kernels: bias and activation applied to each GEMM tile in registers,
    /// the Hadamard δ step and the bias gradient inside the backward GEMM, the output δ with its loss in one
    /// pass. False runs the same mathematics unfused — each GEMM, then separate passes over its result — kept
    /// for measuring what fusion buys and as a second path the tests compare.
    /// </summary>
    public bool UseFusedKernels { get; set; } = true;

    /// <summary>All weights and biases, layer by layer (W_l row-major, then b_l).</summary>
    public Span<T> Parameters => parameters;

    /// <summary>The shape and activation of layer <paramref name="index"/> (0-based).</summary>
    public LayerSpec Layer(int index)
    {
        CheckLayer(index, nameof(index));
        return layers[index];
    }

    /// <summary>Inputs of layer <paramref name="index"/> (the units of the layer before, or the input size).</summary>
    public int LayerInputs(int index)
    {
        CheckLayer(index, nameof(index));
        return layout.Sizes[index];
    }

    /// <summary>Live view of layer <paramref name="layer"/>'s weights, units×inputs row-major (row i: unit i's input weights).</summary>
    public Span<T> Weights(int layer)
    {
        CheckLayer(layer);
        var (offset, length) = layout.Weights(layer);
        return parameters.AsSpan(offset, length);
    }

    /// <summary>Live view of layer <paramref name="layer"/>'s biases.</summary>
    public Span<T> Biases(int layer)
    {
        CheckLayer(layer);
        var (offset, length) = layout.Biases(layer);
        return parameters.AsSpan(offset, length);
    }

    /// <summary>Copies <paramref name="values"/> (units×inputs, finite) into layer <paramref name="layer"/>'s weights.</summary>
    public void SetWeights(int layer, ReadOnlySpan<T> values)
    {
        Span<T> target = Weights(layer);
        Guard.Length(values, target.Length, nameof(values), $"layer {layer}'s weights ({layers[layer].Units}×{layout.Sizes[layer]})");
        Guard.Finite(values, nameof(values));
        values.CopyTo(target);
    }

    /// <summary>Copies <paramref name="values"/> (units, finite) into layer <paramref name="layer"/>'s biases.</summary>
    public void SetBiases(int layer, ReadOnlySpan<T> values)
    {
        Span<T> target = Biases(layer);
        Guard.Length(values, target.Length, nameof(values), $"layer {layer}'s biases ({layers[layer].Units})");
        Guard.Finite(values, nameof(values));
        values.CopyTo(target);
    }

    /// <summary>A gradient buffer shaped like this network's parameters.</summary>
    public Gradients<T> CreateGradients() => new(layout);

    /// <summary>Runs the network on <paramref name="batchSize"/> samples (rows of <paramref name="inputs"/>)
    /// and writes batchSize×OutputSize results to <paramref name="outputs"/>.</summary>
    public void Forward(ReadOnlySpan<T> inputs, int batchSize, Span<T> outputs)
    {
        ValidateInputs(inputs, batchSize);
        Guard.Length(outputs, (long)batchSize * OutputSize, nameof(outputs), $"batchSize×OutputSize = {batchSize}×{OutputSize}");
        Workspace w = WorkspaceFor(batchSize);
        ForwardPass(w, inputs, batchSize);
        w.Output(OutputSize, batchSize).CopyTo(outputs);
    }

    /// <summary>A read-only snapshot of this network for serving, its weights packed once for the kernels
    /// (<see cref="FrozenNetwork{T}"/>): faster batched predictions, the same results, blind to later changes here.</summary>
    public FrozenNetwork<T> Freeze() => new(this);

    /// <summary>An independent network with the same layers and a copy of the parameters (fused or not, as this one).</summary>
    internal Network<T> Copy()
    {
        var copy = new Network<T>(InputSize, layers, seed: 0) { UseFusedKernels = UseFusedKernels };
        parameters.CopyTo(copy.parameters, 0);
        return copy;
    }

    /// <summary>A workspace for <see cref="Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/> on batches of up to
    /// <paramref name="maxBatchSize"/> samples. Give each thread that predicts its own.</summary>
    public InferenceWorkspace<T> CreateInferenceWorkspace(int maxBatchSize = 1)
    {
        Guard.Positive(maxBatchSize, nameof(maxBatchSize));
        return new InferenceWorkspace<T>(layout, maxBatchSize);
    }

    /// <summary>
    /// Inference without allocating: runs <paramref name="batchSize"/> samples and writes
    /// batchSize×OutputSize results to <paramref name="outputs"/>, using only <paramref name="workspace"/>
    /// for intermediate values. Several threads may predict on one network at once, each with its own
    /// workspace, and get exactly what one thread would (the parameters must not change meanwhile).
    /// </summary>
    public void Predict(ReadOnlySpan<T> inputs, int batchSize, Span<T> outputs, InferenceWorkspace<T> workspace)
        => Predict(inputs, batchSize, outputs, workspace, packedWeights: null);

    /// <summary><see cref="Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/>, with each layer's Wᵀ packed in
    /// advance where <paramref name="packedWeights"/> has it (<see cref="FrozenNetwork{T}"/>).</summary>
    internal void Predict(ReadOnlySpan<T> inputs, int batchSize, Span<T> outputs, InferenceWorkspace<T> workspace,
        PackedOperand<T>?[]? packedWeights)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        if (!workspace.Layout.SameShape(layout))
            throw new ArgumentException(
                $"The workspace is shaped for a [{string.Join('-', workspace.Layout.Sizes)}] network, this one is [{string.Join('-', layout.Sizes)}].",
                nameof(workspace));
        if (batchSize > workspace.Capacity)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize,
                $"batchSize {batchSize} exceeds the workspace's capacity of {workspace.Capacity}; create one with CreateInferenceWorkspace({batchSize}).");
        ValidateInputs(inputs, batchSize);
        Guard.Length<T>(outputs, (long)batchSize * OutputSize, nameof(outputs), $"batchSize×OutputSize = {batchSize}×{OutputSize}");

        ReadOnlySpan<T> input = inputs;
        for (int l = 0; l < layers.Length; l++)
        {
            int n = layout.Sizes[l], m = layout.Sizes[l + 1];
            bool isOutput = l == layers.Length - 1;
            // Hidden layers alternate between the workspace's two buffers; the last writes the caller's
            // outputs directly (softmax keeps its logits there and normalises them in place).
            Span<T> output = isOutput ? outputs : workspace.Buffer(l & 1, m * batchSize);
            Span<T> preActivation = isOutput && layers[l].Activation.Kind == ActivationKind.Softmax ? outputs : default;
            LayerForward(l, output, preActivation, input, batchSize, packedWeights?[l]);
            input = output;
        }
    }

    /// <summary>
    /// Forward and backward pass on a batch: returns the loss and writes ∂C/∂θ for every parameter into
    /// <paramref name="gradients"/> (overwritten). Targets are batchSize×OutputSize: one-hot rows for
    /// softmax cross-entropy, values in [0, 1] for binary cross-entropy, real values for squared error.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, data are empty or non-finite, the loss does not fit
    /// the output activation, or a layer uses the step activation.</exception>
    public T ComputeGradients(ReadOnlySpan<T> inputs, ReadOnlySpan<T> targets, int batchSize, Loss loss, Gradients<T> gradients)
        => ComputeGradients(inputs, targets, batchSize, loss, gradients, default);

    /// <summary>Like <see cref="ComputeGradients(ReadOnlySpan{T}, ReadOnlySpan{T}, int, Loss, Gradients{T})"/>, also writing the
    /// batchSize×OutputSize outputs (what Forward would give) to <paramref name="outputs"/> when it is not empty —
    /// a trainer's accuracy then costs no second forward pass.</summary>
    public T ComputeGradients(ReadOnlySpan<T> inputs, ReadOnlySpan<T> targets, int batchSize, Loss loss, Gradients<T> gradients, Span<T> outputs)
    {
        ValidateOptionalOutputs(outputs, batchSize);
        ValidateTraining(inputs, batchSize, loss, gradients);
        Guard.Length(targets, (long)batchSize * OutputSize, nameof(targets), $"batchSize×OutputSize = {batchSize}×{OutputSize}");
        DenseLayerKernels.ValidateTargets(targets, batchSize, OutputSize, loss);

        Workspace w = WorkspaceFor(batchSize);
        int last = layers.Length - 1;
        bool fuseOutput = UseFusedKernels && OutputLayerKernels<T>.Fuses(layers[last].Activation, loss);
        ForwardPass(w, inputs, batchSize, outputActivation: !fuseOutput);
        T value = fuseOutput
            ? OutputLayerKernels<T>.Run(w.Delta(last, OutputSize, batchSize), w.Logits(OutputSize, batchSize), targets,
                gradients.Biases(last), batchSize, OutputSize, layers[last].Activation, loss)
            : DenseLayerKernels.OutputDeltaUnchecked(w.Delta(last, OutputSize, batchSize), w.Logits(OutputSize, batchSize),
                w.Output(OutputSize, batchSize), targets, batchSize, OutputSize, layers[last].Activation, loss);
        BackwardPass(w, inputs, batchSize, gradients, outputBiasDone: fuseOutput);
        CopyOutputs(w, batchSize, outputs, computed: !fuseOutput);
        return value;
    }

    /// <summary>Like <see cref="ComputeGradients(ReadOnlySpan{T}, ReadOnlySpan{T}, int, Loss, Gradients{T})"/>
    /// with one class index per sample (softmax cross-entropy only).</summary>
    public T ComputeGradients(ReadOnlySpan<T> inputs, ReadOnlySpan<int> classIndices, int batchSize, Loss loss, Gradients<T> gradients)
        => ComputeGradients(inputs, classIndices, batchSize, loss, gradients, default);

    /// <summary>Like <see cref="ComputeGradients(ReadOnlySpan{T}, ReadOnlySpan{int}, int, Loss, Gradients{T})"/>, also writing
    /// the outputs to <paramref name="outputs"/> when it is not empty.</summary>
    public T ComputeGradients(ReadOnlySpan<T> inputs, ReadOnlySpan<int> classIndices, int batchSize, Loss loss, Gradients<T> gradients, Span<T> outputs)
    {
        ValidateOptionalOutputs(outputs, batchSize);
        ValidateTraining(inputs, batchSize, loss, gradients);
        if (loss.Kind != LossKind.SoftmaxCrossEntropy)
            throw new ArgumentException($"Class indices need softmax cross-entropy, not {loss.Kind}.", nameof(loss));
        DenseLayerKernels.ValidateClassIndices(classIndices, batchSize, OutputSize);

        Workspace w = WorkspaceFor(batchSize);
        int last = layers.Length - 1;
        ForwardPass(w, inputs, batchSize, outputActivation: !UseFusedKernels);
        T value = UseFusedKernels
            ? OutputLayerKernels<T>.Run(w.Delta(last, OutputSize, batchSize), w.Logits(OutputSize, batchSize), classIndices,
                gradients.Biases(last), batchSize, OutputSize, loss)
            : DenseLayerKernels.OutputDeltaUnchecked(w.Delta(last, OutputSize, batchSize), w.Logits(OutputSize, batchSize),
                w.Output(OutputSize, batchSize), classIndices, batchSize, OutputSize, loss);
        BackwardPass(w, inputs, batchSize, gradients, outputBiasDone: UseFusedKernels);
        CopyOutputs(w, batchSize, outputs, computed: !UseFusedKernels);
        return value;
    }

    /// <summary>The loss of the network on a batch (forward pass only, from the output logits, so it is as
    /// stable as training's). Targets as for <see cref="ComputeGradients(ReadOnlySpan{T}, ReadOnlySpan{T}, int, Loss, Gradients{T})"/>;
    /// when <paramref name="outputs"/> is not empty it receives the batchSize×OutputSize outputs too.</summary>
    public T ComputeLoss(ReadOnlySpan<T> inputs, ReadOnlySpan<T> targets, int batchSize, Loss loss, Span<T> outputs = default)
    {
        DenseLayerKernels.ValidatePairing(layers[^1].Activation, loss);
        ValidateInputs(inputs, batchSize);
        Guard.Length(targets, (long)batchSize * OutputSize, nameof(targets), $"batchSize×OutputSize = {batchSize}×{OutputSize}");
        DenseLayerKernels.ValidateTargets(targets, batchSize, OutputSize, loss);
        ValidateOptionalOutputs(outputs, batchSize);
        Workspace w = WorkspaceFor(batchSize);
        ForwardPass(w, inputs, batchSize);
        int last = layers.Length - 1;
        // The same loss kernel as ComputeGradients, so evaluation and training report the same value.
        T value = UseFusedKernels && OutputLayerKernels<T>.Fuses(layers[last].Activation, loss)
            ? OutputLayerKernels<T>.Run(w.Delta(last, OutputSize, batchSize), w.Logits(OutputSize, batchSize), targets,
                w.PartialSums(OutputSize), batchSize, OutputSize, layers[last].Activation, loss)
            : DenseLayerKernels.OutputDeltaUnchecked(w.Delta(last, OutputSize, batchSize), w.Logits(OutputSize, batchSize),
                w.Output(OutputSize, batchSize), targets, batchSize, OutputSize, layers[last].Activation, loss);
        if (!outputs.IsEmpty)
            w.Output(OutputSize, batchSize).CopyTo(outputs);
        return value;
    }

    /// <summary>Like <see cref="ComputeLoss(ReadOnlySpan{T}, ReadOnlySpan{T}, int, Loss, Span{T})"/> with one class
    /// index per sample (softmax cross-entropy only).</summary>
    public T ComputeLoss(ReadOnlySpan<T> inputs, ReadOnlySpan<int> classIndices, int batchSize, Loss loss, Span<T> outputs = default)
    {
        DenseLayerKernels.ValidatePairing(layers[^1].Activation, loss);
        if (loss.Kind != LossKind.SoftmaxCrossEntropy)
            throw new ArgumentException($"Class indices need softmax cross-entropy, not {loss.Kind}.", nameof(loss));
        ValidateInputs(inputs, batchSize);
        DenseLayerKernels.ValidateClassIndices(classIndices, batchSize, OutputSize);
        ValidateOptionalOutputs(outputs, batchSize);
        Workspace w = WorkspaceFor(batchSize);
        ForwardPass(w, inputs, batchSize);
        int last = layers.Length - 1;
        T value = UseFusedKernels
            ? OutputLayerKernels<T>.Run(w.Delta(last, OutputSize, batchSize), w.Logits(OutputSize, batchSize), classIndices,
                w.PartialSums(OutputSize), batchSize, OutputSize, loss)
            : DenseLayerKernels.OutputDeltaUnchecked(w.Delta(last, OutputSize, batchSize), w.Logits(OutputSize, batchSize),
                w.Output(OutputSize, batchSize), classIndices, batchSize, OutputSize, loss);
        if (!outputs.IsEmpty)
            w.Output(OutputSize, batchSize).CopyTo(outputs);
        return value;
    }

    /// <summary>Writes the outputs the caller asked for: from the workspace when the forward pass computed them,
    /// otherwise from the logits (the fused output kernel never stores the activation).</summary>
    private void CopyOutputs(Workspace w, int batch, Span<T> outputs, bool computed)
    {
        if (outputs.IsEmpty)
            return;
        if (computed)
        {
            w.Output(OutputSize, batch).CopyTo(outputs);
            return;
        }
        w.Logits(OutputSize, batch).CopyTo(outputs);
        Activation activation = layers[^1].Activation;
        if (activation.Kind == ActivationKind.Softmax)
            Kernels.Elementwise.ActivationKernels<T>.SoftmaxRowsInPlace(outputs, batch, OutputSize, OutputSize);
        else
            Kernels.Elementwise.ActivationKernels<T>.ApplyInPlace(activation, outputs);
    }

    private void ValidateOptionalOutputs(Span<T> outputs, int batchSize)
    {
        if (!outputs.IsEmpty)
            Guard.Length<T>(outputs, (long)batchSize * OutputSize, nameof(outputs), $"batchSize×OutputSize = {batchSize}×{OutputSize}");
    }

    /// <summary>Plain gradient descent: θ ← θ − η·∂C/∂θ.</summary>
    public void ApplyGradients(Gradients<T> gradients, T learningRate)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        CheckGradients(gradients);
        Guard.PositiveFinite(learningRate, nameof(learningRate));
        TensorPrimitives.MultiplyAdd<T>(gradients.Values, -learningRate, parameters, parameters);
    }

    /// <summary>
    /// One gradient-descent step on a batch (θ ← θ − η·∂C/∂θ); returns the loss before the step. Fused, the
    /// update happens inside the backward pass: each layer's weights are updated by the weight-gradient GEMM
    /// itself (W ← W − η·Δᵀ·A, a GEMM with β = 1, after Δ of the layer below has used the old W), and each
    /// bias as soon as its gradient is summed, so the gradients are never written out or read back. The
    /// result is what ComputeGradients followed by ApplyGradients gives.
    /// </summary>
    public T TrainStep(ReadOnlySpan<T> inputs, ReadOnlySpan<T> targets, int batchSize, Loss loss, T learningRate)
    {
        Guard.PositiveFinite(learningRate, nameof(learningRate));
        if (UseFusedKernels)
        {
            ValidateTrainingData(inputs, batchSize, loss);
            Guard.Length(targets, (long)batchSize * OutputSize, nameof(targets), $"batchSize×OutputSize = {batchSize}×{OutputSize}");
            DenseLayerKernels.ValidateTargets(targets, batchSize, OutputSize, loss);
            return FusedStep(inputs, targets, default, batchSize, loss, learningRate);
        }
        Gradients<T> g = TrainingGradients();
        T value = ComputeGradients(inputs, targets, batchSize, loss, g);
        ApplyGradients(g, learningRate);
        return value;
    }

    /// <summary>One gradient-descent step on a batch labelled by class index; returns the loss before the step.</summary>
    public T TrainStep(ReadOnlySpan<T> inputs, ReadOnlySpan<int> classIndices, int batchSize, Loss loss, T learningRate)
    {
        Guard.PositiveFinite(learningRate, nameof(learningRate));
        if (UseFusedKernels)
        {
            ValidateTrainingData(inputs, batchSize, loss);
            if (loss.Kind != LossKind.SoftmaxCrossEntropy)
                throw new ArgumentException($"Class indices need softmax cross-entropy, not {loss.Kind}.", nameof(loss));
            DenseLayerKernels.ValidateClassIndices(classIndices, batchSize, OutputSize);
            return FusedStep(inputs, default, classIndices, batchSize, loss, learningRate);
        }
        Gradients<T> g = TrainingGradients();
        T value = ComputeGradients(inputs, classIndices, batchSize, loss, g);
        ApplyGradients(g, learningRate);
        return value;
    }

    /// <summary>The fused SGD step; targets are values, or class indices when <paramref name="targets"/> is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private T FusedStep(ReadOnlySpan<T> inputs, ReadOnlySpan<T> targets, ReadOnlySpan<int> classIndices, int batch, Loss loss, T learningRate)
    {
        Workspace w = WorkspaceFor(batch);
        int last = layers.Length - 1;
        Activation outputActivation = layers[last].Activation;
        bool byIndex = targets.IsEmpty;
        bool fuseOutput = byIndex || OutputLayerKernels<T>.Fuses(outputActivation, loss);
        ForwardPass(w, inputs, batch, outputActivation: !fuseOutput);

        Span<T> delta = w.Delta(last, OutputSize, batch);
        Span<T> biasGradient = w.BiasGradient(OutputSize);
        T value;
        if (byIndex)
            value = OutputLayerKernels<T>.Run(delta, w.Logits(OutputSize, batch), classIndices, biasGradient, batch, OutputSize, loss);
        else if (fuseOutput)
            value = OutputLayerKernels<T>.Run(delta, w.Logits(OutputSize, batch), targets, biasGradient, batch, OutputSize, outputActivation, loss);
        else
        {
            value = DenseLayerKernels.OutputDeltaUnchecked(delta, w.Logits(OutputSize, batch), w.Output(OutputSize, batch),
                targets, batch, OutputSize, outputActivation, loss);
            DenseLayerKernels.BiasGradientUnchecked(biasGradient, delta, batch, OutputSize);
        }
        // b_L is not read again this step: update it now (the same arithmetic as ApplyGradients).
        TensorPrimitives.MultiplyAdd<T>(biasGradient, -learningRate, Biases(last), Biases(last));

        for (int l = last; l >= 0; l--)
        {
            int n = layout.Sizes[l], m = layout.Sizes[l + 1];
            delta = w.Delta(l, m, batch);
            ReadOnlySpan<T> layerInput = l == 0 ? inputs : w.Activations(l - 1, n, batch);
            if (l > 0)
            {
                // Δ_{l-1} with the old W_l, and b_{l-1}'s gradient summed on the way; then b_{l-1} is updated.
                Span<T> belowBias = w.BiasGradient(n);
                DenseLayerKernels.HiddenDeltaUnchecked(w.Delta(l - 1, n, batch), delta, Weights(l), layerInput, batch, n, m,
                    layers[l - 1].Activation, belowBias, w.PartialSums(DenseLayerKernels.BiasGradientScratch<T>(batch, n, m)));
                TensorPrimitives.MultiplyAdd<T>(belowBias, -learningRate, Biases(l - 1), Biases(l - 1));
            }
            // W_l ← W_l − η·Δ_lᵀ·A_{l-1}: the update is the GEMM's β = 1.
            var none = new NoEpilogue<T>();
            Gemm.RunChecked(Transpose.Yes, Transpose.No, m, n, batch, -learningRate, delta, m,
                layerInput, n, T.One, Weights(l), n, in none);
        }
        return value;
    }

    private Gradients<T>? stepGradients;

    private Gradients<T> TrainingGradients() => stepGradients ??= CreateGradients();

    /// <summary>Fills the workspace's activations; with <paramref name="outputActivation"/> false the output
    /// layer stops at its logits (the fused output kernel applies the activation itself).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardPass(Workspace w, ReadOnlySpan<T> inputs, int batch, bool outputActivation = true)
    {
        ReadOnlySpan<T> input = inputs;
        for (int l = 0; l < layers.Length; l++)
        {
            int n = layout.Sizes[l], m = layout.Sizes[l + 1];
            bool isOutput = l == layers.Length - 1;
            Span<T> output = w.Activations(l, m, batch);
            // The output layer keeps Z_L so the losses can be computed from the logits.
            Span<T> preActivation = isOutput ? w.Logits(m, batch) : default;
            if (isOutput && !outputActivation)
            {
                DenseLayerKernels.ForwardUnchecked(preActivation, default, input, Weights(l), Biases(l), batch, n, m, Activation.Identity);
                break;
            }
            LayerForward(l, output, preActivation, input, batch);
            input = output;
        }
    }

    private void LayerForward(int l, Span<T> output, Span<T> preActivation, ReadOnlySpan<T> input, int batch,
        PackedOperand<T>? packedWeights = null)
    {
        int n = layout.Sizes[l], m = layout.Sizes[l + 1];
        if (UseFusedKernels)
            DenseLayerKernels.ForwardUnchecked(output, preActivation, input, Weights(l), Biases(l), batch, n, m, layers[l].Activation, packedWeights);
        else
            DenseLayerKernels.ForwardUnfused(output, preActivation, input, Weights(l), Biases(l), batch, n, m, layers[l].Activation);
    }

    /// <summary>Expects Δ_L in the workspace; fills every gradient (MATH.md's BP2–BP4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void BackwardPass(Workspace w, ReadOnlySpan<T> inputs, int batch, Gradients<T> gradients, bool outputBiasDone)
    {
        for (int l = layers.Length - 1; l >= 0; l--)
        {
            int n = layout.Sizes[l], m = layout.Sizes[l + 1];
            Span<T> delta = w.Delta(l, m, batch);
            ReadOnlySpan<T> layerInput = l == 0 ? inputs : w.Activations(l - 1, n, batch);
            DenseLayerKernels.WeightGradientUnchecked(gradients.Weights(l), delta, layerInput, batch, n, m);
            // Fused, a hidden layer's bias gradient was summed while its Δ was computed (below, one layer up),
            // and the output layer's with Δ_L and the loss.
            if (l == layers.Length - 1 ? !outputBiasDone : !UseFusedKernels)
                DenseLayerKernels.BiasGradientUnchecked(gradients.Biases(l), delta, batch, m);
            // Δ_{l-1} = (Δ_l·W_l) ⊙ g'(A_{l-1}); the gradient with respect to the input itself is not needed.
            if (l == 0)
                continue;
            if (UseFusedKernels)
                DenseLayerKernels.HiddenDeltaUnchecked(w.Delta(l - 1, n, batch), delta, Weights(l),
                    w.Activations(l - 1, n, batch), batch, n, m, layers[l - 1].Activation,
                    gradients.Biases(l - 1), w.PartialSums(DenseLayerKernels.BiasGradientScratch<T>(batch, n, m)));
            else
                DenseLayerKernels.HiddenDeltaUnfused(w.Delta(l - 1, n, batch), delta, Weights(l),
                    w.Activations(l - 1, n, batch), batch, n, m, layers[l - 1].Activation);
        }
    }

    private void ValidateInputs(ReadOnlySpan<T> inputs, int batchSize)
    {
        Guard.Positive(batchSize, nameof(batchSize));
        Guard.Length(inputs, (long)batchSize * InputSize, nameof(inputs), $"batchSize×InputSize = {batchSize}×{InputSize}");
        Guard.Finite(inputs, nameof(inputs));
    }

    private void ValidateTraining(ReadOnlySpan<T> inputs, int batchSize, Loss loss, Gradients<T> gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        CheckGradients(gradients);
        ValidateTrainingData(inputs, batchSize, loss);
    }

    private void ValidateTrainingData(ReadOnlySpan<T> inputs, int batchSize, Loss loss)
    {
        for (int l = 0; l < layers.Length; l++)
        {
            if (!layers[l].Activation.IsTrainable)
                throw new InvalidOperationException(
                    $"Layer {l} uses the {layers[l].Activation} activation, whose gradient is zero almost everywhere: it can run inference but cannot be trained by gradient descent.");
        }
        DenseLayerKernels.ValidatePairing(layers[^1].Activation, loss);
        ValidateInputs(inputs, batchSize);
    }

    private void CheckGradients(Gradients<T> gradients)
    {
        if (!gradients.Layout.SameShape(layout))
            throw new ArgumentException(
                $"The gradients are shaped for a [{string.Join('-', gradients.Layout.Sizes)}] network, this one is [{string.Join('-', layout.Sizes)}].",
                nameof(gradients));
    }

    private void CheckLayer(int layer, string name = "layer")
    {
        if ((uint)layer >= (uint)layers.Length)
            throw new ArgumentOutOfRangeException(name, layer, $"{name} must be in [0, {layers.Length}) (got {layer}).");
    }

    private Workspace WorkspaceFor(int batch)
    {
        if (workspace is null || workspace.Capacity < batch)
            workspace = new Workspace(layout.Sizes, batch);
        return workspace;
    }

    private void Initialize(int seed)
    {
        var random = new Random(seed);
        for (int l = 0; l < layers.Length; l++)
        {
            int fanIn = layout.Sizes[l], fanOut = layout.Sizes[l + 1];
            Span<T> w = Weights(l);
            if (layers[l].Activation.Kind is ActivationKind.ReLU or ActivationKind.LeakyReLU)
            {
                // He: N(0, 2/fan_in), keeps the variance of ReLU activations constant across layers.
                double std = Math.Sqrt(2.0 / fanIn);
                for (int i = 0; i < w.Length; i++)
                    w[i] = T.CreateChecked(std * StandardNormal(random));
            }
            else
            {
                // Xavier/Glorot: U(−r, r) with r = √(6/(fan_in + fan_out)).
                double limit = Math.Sqrt(6.0 / (fanIn + fanOut));
                for (int i = 0; i < w.Length; i++)
                    w[i] = T.CreateChecked((2 * random.NextDouble() - 1) * limit);
            }
            Biases(l).Clear();
        }
    }

    private static double StandardNormal(Random random)
    {
        // Box–Muller; 1 − U keeps the logarithm's argument in (0, 1].
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Activations, output logits and deltas for batches up to <see cref="Capacity"/>.</summary>
    private sealed class Workspace
    {
        private readonly T[][] activations;
        private readonly T[][] deltas;
        private readonly T[] logits;
        private readonly T[] partialSums;
        private readonly T[] biasGradient;

        public Workspace(int[] sizes, int capacity)
        {
            Capacity = capacity;
            int layerCount = sizes.Length - 1;
            activations = new T[layerCount][];
            deltas = new T[layerCount][];
            for (int l = 0; l < layerCount; l++)
            {
                activations[l] = new T[checked(capacity * sizes[l + 1])];
                deltas[l] = new T[checked(capacity * sizes[l + 1])];
            }
            logits = new T[checked(capacity * sizes[^1])];
            // Row groups of a fused bias gradient: one when batch ≤ 2, otherwise at least 6 rows each.
            partialSums = new T[checked((capacity / 6 + 2) * sizes.Max())];
            biasGradient = new T[sizes.Max()];
        }

        public int Capacity { get; }

        public Span<T> Activations(int layer, int units, int batch) => activations[layer].AsSpan(0, units * batch);

        public Span<T> Delta(int layer, int units, int batch) => deltas[layer].AsSpan(0, units * batch);

        public Span<T> Logits(int units, int batch) => logits.AsSpan(0, units * batch);

        public Span<T> PartialSums(int length) => partialSums.AsSpan(0, length);

        /// <summary>One layer's bias gradient in the fused training step (used, then the next layer's).</summary>
        public Span<T> BiasGradient(int units) => biasGradient.AsSpan(0, units);

        public Span<T> Output(int units, int batch) => activations[^1].AsSpan(0, units * batch);
    }
}
