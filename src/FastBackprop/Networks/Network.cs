using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using FastBackprop.Kernels.Fused;
using FastBackprop.Kernels.Gemm;
using FastBackprop.Primitives;

namespace FastBackprop;

/// <summary>
/// A multilayer perceptron (MATH.md): dense layers <c>Z_l = A_{l-1}·W_lᵀ + b_l</c>, <c>A_l = g_l(Z_l)</c>, and optionally
/// dropout layers between them; batches row-major with one sample per row. All parameters live in one contiguous
/// buffer. Forward, ComputeLoss, ComputeGradients and TrainStep reuse a workspace owned by the network (nothing is
/// allocated after the first call for a batch size), so they must not run on several threads at once;
/// <see cref="Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/> takes the caller's own workspace and may.
/// Inference (Forward, Predict, ComputeLoss) keeps no buffer per layer: the hidden activations alternate between two
/// buffers and dropout, the identity at inference, is skipped; only training keeps what the backward pass needs per layer.
/// Each GEMM may itself use several threads (<see cref="Parallelism.MaxDegreeOfParallelism"/>). Every pass — training step,
/// gradients, loss, prediction — is one loop over the layers (<see cref="NetworkLayer{T}"/>) with the loss head between
/// the forward and the backward half.
/// </summary>
public sealed class Network<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly LayerSpec[] layers;
    private readonly NetworkLayer<T>[] stack;
    private readonly DenseLayer<T> output;
    private readonly ParameterLayout layout;
    private readonly T[] parameters;
    private readonly ulong dropoutSeed;
    private TrainingWorkspace<T>? workspace;
    private InferenceWorkspace<T>? inferenceWorkspace;

    /// <summary>Builds a network and initialises it reproducibly from <paramref name="seed"/>: weights
    /// Xavier/Glorot-uniform for sigmoid, tanh, identity, step and softmax layers, He-normal for the
    /// ReLU family; biases zero; a layer normalisation's γ one and β zero. The seed also draws the dropout masks of training
    /// steps.</summary>
    /// <exception cref="ArgumentException">A size is not positive, the list is empty, softmax is not the last layer, the
    /// last layer is not dense, or a dropout rate or layer-norm ε is out of range.</exception>
    public Network(int inputSize, IReadOnlyList<LayerSpec> layers, int seed = 0)
    {
        Guard.Positive(inputSize, nameof(inputSize));
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0)
            throw new ArgumentException("A network needs at least one layer.", nameof(layers));
        this.layers = layers.ToArray();
        var sizes = new int[this.layers.Length + 1];
        var kinds = new LayerKind[this.layers.Length];
        sizes[0] = inputSize;
        for (int l = 0; l < this.layers.Length; l++)
        {
            LayerSpec spec = this.layers[l];
            LayerType type = LayerType.Of(spec.Kind)
                ?? throw new ArgumentOutOfRangeException(nameof(layers), spec.Kind, $"Layer {l} has an unknown kind.");
            this.layers[l] = type.Resolve(spec, l, this.layers.Length, sizes[l], nameof(layers));
            sizes[l + 1] = this.layers[l].Units;
            kinds[l] = spec.Kind;
        }
        long parameterCount = ParameterLayout.Total(sizes, kinds);
        if (parameterCount > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(layers),
                $"A [{string.Join('-', sizes)}] network has {parameterCount:N0} parameters, more than one array can hold ({Array.MaxLength:N0}).");
        layout = new ParameterLayout(sizes, kinds);
        parameters = new T[layout.Count];
        stack = new NetworkLayer<T>[this.layers.Length];
        for (int l = 0; l < stack.Length; l++)
        {
            var (weightOffset, weightLength) = layout.Weights(l);
            var (biasOffset, biasLength) = layout.Biases(l);
            stack[l] = LayerType.Of(kinds[l])!.Create(this.layers[l], l, sizes[l], parameters.AsMemory(weightOffset, weightLength),
                parameters.AsMemory(biasOffset, biasLength), isOutput: l == stack.Length - 1);
        }
        output = (DenseLayer<T>)stack[^1];
        Seed = seed;
        dropoutSeed = DropoutLayer<T>.Mix((ulong)(uint)seed);
        Initialize(seed);
    }

    /// <summary>The seed the network was built with (initial weights, dropout masks).</summary>
    internal int Seed { get; }

    /// <summary>The training step the next dropout masks are drawn for; every training pass (ComputeGradients,
    /// TrainStep) advances it. Tests set it to repeat a mask.</summary>
    internal ulong DropoutStep { get; set; }

    /// <summary>Dropout layer <paramref name="layer"/>'s scaled mask (0 or 1/(1 − rate)) for <see cref="DropoutStep"/> and a
    /// batch of <paramref name="batch"/> rows: what the next training pass will use.</summary>
    internal void DropoutMask(int layer, int batch, Span<T> mask)
        => ((DropoutLayer<T>)stack[layer]).DrawMask(mask[..(batch * stack[layer].Units)], dropoutSeed, DropoutStep);

    /// <summary>Whether any layer is dropout.</summary>
    public bool HasDropout => layers.Any(l => l.Kind == LayerKind.Dropout);

    /// <summary>Features per sample.</summary>
    public int InputSize => layout.Sizes[0];

    /// <summary>Outputs per sample (units of the last layer).</summary>
    public int OutputSize => layout.Sizes[^1];

    /// <summary>Number of layers (dense and dropout).</summary>
    public int LayerCount => layers.Length;

    /// <summary>
    /// True (the default) runs the fused kernels: bias and activation applied to each GEMM tile in registers,
    /// the Hadamard δ step and the bias gradient inside the backward GEMM, the output δ with its loss in one
    /// pass. False runs the same mathematics unfused — each GEMM, then separate passes over its result — kept
    /// for measuring what fusion buys and as a second path the tests compare.
    /// </summary>
    public bool UseFusedKernels { get; set; } = true;

    /// <summary>All weights and biases, layer by layer (W_l row-major, then b_l; a layer normalisation's γ, then β): the
    /// tensors <see cref="ParameterTensors"/> names, back to back.</summary>
    public Span<T> Parameters => parameters;

    /// <summary>The named, shaped tensors <see cref="Parameters"/> holds, in order, each with its offset and length
    /// (<c>Parameters.Slice(t.Offset, t.Length)</c> is its live view): <c>layer0.weight [64, 20]</c>, <c>layer0.bias [64]</c>,
    /// <c>layer1.gamma [64]</c>, …</summary>
    public IReadOnlyList<ParameterTensor> ParameterTensors => tensors ??= Array.AsReadOnly(layout.Tensors());

    private IReadOnlyList<ParameterTensor>? tensors;

    /// <summary>Layer <paramref name="index"/> (0-based): its kind, width and activation (a dropout layer reports the width it
    /// passes through).</summary>
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

    /// <summary>Live view of layer <paramref name="layer"/>'s weights, units×inputs row-major (row i: unit i's input weights);
    /// empty for a layer without parameters (dropout).</summary>
    public Span<T> Weights(int layer)
    {
        CheckLayer(layer);
        var (offset, length) = layout.Weights(layer);
        return parameters.AsSpan(offset, length);
    }

    /// <summary>Live view of layer <paramref name="layer"/>'s biases; empty for a layer without parameters (dropout).</summary>
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
    /// and writes batchSize×OutputSize results to <paramref name="outputs"/>: what
    /// <see cref="Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/> gives, bit for bit, through a workspace
    /// the network owns (so not on several threads at once). Non-finite outputs are returned as they are, as Predict's are.</summary>
    public void Forward(ReadOnlySpan<T> inputs, int batchSize, Span<T> outputs)
    {
        ValidateInputs(inputs, batchSize);
        Guard.Length(outputs, (long)batchSize * OutputSize, nameof(outputs), $"batchSize×OutputSize = {batchSize}×{OutputSize}");
        output.Predict(RunHidden(inputs, batchSize, InferenceWorkspaceFor(batchSize), packedWeights: null), outputs, batchSize, UseFusedKernels, null);
    }

    /// <summary>
    /// The first of <paramref name="batchSize"/> rows of <paramref name="outputs"/> (batchSize×OutputSize values, as
    /// <see cref="Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/> or <see cref="Forward"/> wrote them, or
    /// after a target standardisation was undone) that holds NaN or ±∞, or −1 when every value is finite. One vectorised
    /// pass over the outputs, allocating nothing: cheap beside the prediction itself, so a service can check every batch
    /// and refuse the row it names.
    /// </summary>
    /// <exception cref="ArgumentException">batchSize is not positive, or outputs is not batchSize×OutputSize values.</exception>
    public int FirstNonFiniteRow(ReadOnlySpan<T> outputs, int batchSize)
    {
        Guard.Positive(batchSize, nameof(batchSize));
        Guard.Length(outputs, (long)batchSize * OutputSize, nameof(outputs), $"batchSize×OutputSize = {batchSize}×{OutputSize}");
        int index = Guard.FirstNonFinite(outputs);
        return index < 0 ? -1 : index / OutputSize;
    }

    /// <summary>A read-only snapshot of this network for serving, its weights packed once for the kernels
    /// (<see cref="FrozenNetwork{T}"/>): faster batched predictions, the same results, blind to later changes here.</summary>
    public FrozenNetwork<T> Freeze() => new(this);

    /// <summary>An independent network with the same layers and a copy of the parameters (fused or not, as this one).</summary>
    internal Network<T> Copy()
    {
        var copy = new Network<T>(InputSize, layers, Seed) { UseFusedKernels = UseFusedKernels, DropoutStep = DropoutStep };
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
    /// <remarks>
    /// The inputs must be finite, but the outputs are what the arithmetic gives: weights that are each finite can still
    /// overflow together on some rows and give NaN or ±∞ there (a model file's load-time check tries typical inputs and
    /// refuses a model that overflows on them, but no probe can rule it out for every input). Predict does not check, so
    /// that a caller who does not need it pays nothing; <see cref="FirstNonFiniteRow"/> finds the first such row in one
    /// cheap pass. <see cref="Model{T}.Predict"/> checks and throws a <see cref="NonFiniteOutputException"/> naming the row.
    /// </remarks>
    /// <exception cref="ArgumentException">The workspace belongs to another shape or is too small for the batch, the shapes
    /// disagree, or the inputs are not finite.</exception>
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
        output.Predict(RunHidden(inputs, batchSize, workspace, packedWeights), outputs, batchSize, UseFusedKernels, packedWeights?[^1]);
    }

    /// <summary>Inference through the hidden layers; returns the last one's output (the input of the output layer).</summary>
    private ReadOnlySpan<T> RunHidden(ReadOnlySpan<T> inputs, int batch, InferenceWorkspace<T> workspace, PackedOperand<T>?[]? packedWeights)
    {
        ReadOnlySpan<T> input = inputs;
        int written = 0;
        for (int l = 0; l < stack.Length - 1; l++)
        {
            NetworkLayer<T> layer = stack[l];
            // Layers that write alternate between the workspace's two buffers; a pass-through layer (dropout) writes
            // nothing and hands its input on.
            Span<T> activation = layer.WritesOutput ? workspace.Buffer(written++ & 1, layer.Units * batch) : default;
            input = layer.Predict(input, activation, batch, UseFusedKernels, packedWeights?[l]);
        }
        return input;
    }

    /// <summary>The workspace of Forward and the evaluation passes, grown on demand.</summary>
    private InferenceWorkspace<T> InferenceWorkspaceFor(int batch)
    {
        if (inferenceWorkspace is null || inferenceWorkspace.Capacity < batch)
            inferenceWorkspace = new InferenceWorkspace<T>(layout, batch);
        return inferenceWorkspace;
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
        => ComputeGradients(inputs, new BatchTargets<T>(targets), batchSize, loss, gradients, outputs);

    /// <summary>Like <see cref="ComputeGradients(ReadOnlySpan{T}, ReadOnlySpan{T}, int, Loss, Gradients{T})"/>
    /// with one class index per sample (softmax cross-entropy only).</summary>
    public T ComputeGradients(ReadOnlySpan<T> inputs, ReadOnlySpan<int> classIndices, int batchSize, Loss loss, Gradients<T> gradients)
        => ComputeGradients(inputs, classIndices, batchSize, loss, gradients, default);

    /// <summary>Like <see cref="ComputeGradients(ReadOnlySpan{T}, ReadOnlySpan{int}, int, Loss, Gradients{T})"/>, also writing
    /// the outputs to <paramref name="outputs"/> when it is not empty.</summary>
    public T ComputeGradients(ReadOnlySpan<T> inputs, ReadOnlySpan<int> classIndices, int batchSize, Loss loss, Gradients<T> gradients, Span<T> outputs)
        => ComputeGradients(inputs, new BatchTargets<T>(classIndices), batchSize, loss, gradients, outputs);

    private T ComputeGradients(ReadOnlySpan<T> inputs, BatchTargets<T> targets, int batchSize, Loss loss, Gradients<T> gradients, Span<T> outputs)
    {
        ValidateOptionalOutputs(outputs, batchSize);
        ValidateTraining(inputs, batchSize, loss, gradients);
        targets.Validate(batchSize, OutputSize, loss);
        return TrainingPass(inputs, targets, batchSize, loss, UseFusedKernels && FusesOutput(targets, loss), GradientSink<T>.Into(gradients), outputs);
    }

    /// <summary>Whether the fused loss head can take these targets under this loss (class indices always can).</summary>
    private bool FusesOutput(BatchTargets<T> targets, Loss loss) => targets.AreClasses || OutputLayerKernels<T>.Fuses(output.Activation, loss);

    /// <summary>The loss of the network on a batch (forward pass only, from the output logits, so it is as
    /// stable as training's). Targets as for <see cref="ComputeGradients(ReadOnlySpan{T}, ReadOnlySpan{T}, int, Loss, Gradients{T})"/>;
    /// when <paramref name="outputs"/> is not empty it receives the batchSize×OutputSize outputs too.</summary>
    public T ComputeLoss(ReadOnlySpan<T> inputs, ReadOnlySpan<T> targets, int batchSize, Loss loss, Span<T> outputs = default)
        => ComputeLoss(inputs, new BatchTargets<T>(targets), batchSize, loss, outputs);

    /// <summary>Like <see cref="ComputeLoss(ReadOnlySpan{T}, ReadOnlySpan{T}, int, Loss, Span{T})"/> with one class
    /// index per sample (softmax cross-entropy only).</summary>
    public T ComputeLoss(ReadOnlySpan<T> inputs, ReadOnlySpan<int> classIndices, int batchSize, Loss loss, Span<T> outputs = default)
        => ComputeLoss(inputs, new BatchTargets<T>(classIndices), batchSize, loss, outputs);

    private T ComputeLoss(ReadOnlySpan<T> inputs, BatchTargets<T> targets, int batchSize, Loss loss, Span<T> outputs)
    {
        LossRules.ValidatePairing(layers[^1].Activation, loss);
        ValidateInputs(inputs, batchSize);
        targets.Validate(batchSize, OutputSize, loss);
        ValidateOptionalOutputs(outputs, batchSize);
        return EvaluationPass(inputs, targets, batchSize, loss, outputs, training: false);
    }

    /// <summary>Writes the outputs the caller asked for: from the workspace when the forward pass computed them,
    /// otherwise from the logits (the fused output kernel never stores the activation).</summary>
    private void CopyOutputs(TrainingWorkspace<T> w, int batch, Span<T> outputs, bool computed)
    {
        if (outputs.IsEmpty)
            return;
        if (computed)
        {
            w.Output(stack.Length - 1, OutputSize, batch).CopyTo(outputs);
            return;
        }
        w.Logits(OutputSize, batch).CopyTo(outputs);
        Activation activation = output.Activation;
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

    /// <summary>Plain gradient descent: θ ← θ − η·∂C/∂θ. The learning rate is a double, as everywhere in the library
    /// (optimizers, schedules); it is rounded to <typeparamref name="T"/> once.</summary>
    public void ApplyGradients(Gradients<T> gradients, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        CheckGradients(gradients);
        T eta = Rate(learningRate);
        TensorPrimitives.MultiplyAdd<T>(gradients.Values, -eta, parameters, parameters);
    }

    /// <summary>η in <typeparamref name="T"/>: positive and finite both as given and once rounded (1e-50 is 0 as float).</summary>
    private static T Rate(double learningRate)
    {
        Guard.PositiveFinite(learningRate, nameof(learningRate));
        T eta = T.CreateTruncating(learningRate);
        if (!(eta > T.Zero) || !T.IsFinite(eta))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate,
                $"learningRate {learningRate} is {eta} as {typeof(T).Name}: it must be positive and finite in the network's precision.");
        return eta;
    }

    /// <summary>
    /// One gradient-descent step on a batch (θ ← θ − η·∂C/∂θ); returns the loss before the step. Fused, the
    /// update happens inside the backward pass: each layer's weights are updated by the weight-gradient GEMM
    /// itself (W ← W − η·Δᵀ·A, a GEMM with β = 1, after Δ of the layer below has used the old W), and each
    /// bias as soon as its gradient is summed, so the gradients are never written out or read back. The
    /// result is what ComputeGradients followed by ApplyGradients gives.
    /// </summary>
    public T TrainStep(ReadOnlySpan<T> inputs, ReadOnlySpan<T> targets, int batchSize, Loss loss, double learningRate)
        => TrainStep(inputs, new BatchTargets<T>(targets), batchSize, loss, learningRate);

    /// <summary>One gradient-descent step on a batch labelled by class index; returns the loss before the step.</summary>
    public T TrainStep(ReadOnlySpan<T> inputs, ReadOnlySpan<int> classIndices, int batchSize, Loss loss, double learningRate)
        => TrainStep(inputs, new BatchTargets<T>(classIndices), batchSize, loss, learningRate);

    private T TrainStep(ReadOnlySpan<T> inputs, BatchTargets<T> targets, int batchSize, Loss loss, double learningRate)
    {
        T eta = Rate(learningRate);
        if (UseFusedKernels)
        {
            ValidateTrainingData(inputs, batchSize, loss);
            targets.Validate(batchSize, OutputSize, loss);
            // The fused SGD step: the output head fused where it can be (the update itself always is).
            return TrainingPass(inputs, targets, batchSize, loss, FusesOutput(targets, loss), GradientSink<T>.Sgd(eta), default);
        }
        Gradients<T> g = TrainingGradients();
        T value = ComputeGradients(inputs, targets, batchSize, loss, g, default);
        ApplyGradients(g, learningRate);
        return value;
    }

    private Gradients<T>? stepGradients;

    private Gradients<T> TrainingGradients() => stepGradients ??= CreateGradients();

    /// <summary>The settings every layer of one pass shares.</summary>
    private LayerPass<T> Pass(TrainingWorkspace<T> w, int batch, bool training, bool outputActivation = true)
        => new(w, batch, training, UseFusedKernels, outputActivation, dropoutSeed, DropoutStep);

    /// <summary>
    /// One training pass — the loop every training entry point runs: forward through the layers (dropout active), the loss
    /// head (Δ of the output layer, the loss, its bias gradient), then backward through the layers, each finishing the
    /// gradient of the one below. With an SGD sink (the fused step) each parameter is updated as soon as its gradient is
    /// known and the layer above no longer needs it; the result equals ComputeGradients followed by ApplyGradients.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private T TrainingPass(ReadOnlySpan<T> inputs, BatchTargets<T> targets, int batch, Loss loss,
        bool fuseOutput, in GradientSink<T> sink, Span<T> outputs)
    {
        TrainingWorkspace<T> w = WorkspaceFor(batch);
        LayerPass<T> pass = Pass(w, batch, training: true, outputActivation: !fuseOutput);
        DropoutStep++;
        RunForward(pass, inputs);

        Span<T> delta = w.Delta(stack.Length - 1, OutputSize, batch);
        Span<T> biasGradient = output.BiasGradientTarget(w, sink);
        T value = LossHead(w, targets, batch, loss, fuseOutput, delta, biasGradient);
        if (!fuseOutput)
            DenseLayerKernels.BiasGradientUnchecked(biasGradient, delta, batch, OutputSize);
        output.FinishBiases(biasGradient, sink);

        for (int l = stack.Length - 1; l >= 0; l--)
            stack[l].Backward(pass, LayerInput(w, inputs, l, batch), l > 0 ? stack[l - 1] : null, sink);
        CopyOutputs(w, batch, outputs, computed: !fuseOutput);
        return value;
    }

    /// <summary>The loss without gradients: the same output layer and loss head as training (so evaluation and training
    /// report the same value). Dropout off, the hidden layers run as inference does (two buffers, no dropout layer); with
    /// dropout on (<paramref name="training"/>), the training forward loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private T EvaluationPass(ReadOnlySpan<T> inputs, BatchTargets<T> targets, int batch, Loss loss, Span<T> outputs, bool training)
    {
        TrainingWorkspace<T> w = WorkspaceFor(batch);
        LayerPass<T> pass = Pass(w, batch, training);
        if (training)
            RunForward(pass, inputs);
        else
            output.Forward(pass, RunHidden(inputs, batch, InferenceWorkspaceFor(batch), packedWeights: null));
        bool fuseOutput = UseFusedKernels && FusesOutput(targets, loss);
        T value = LossHead(w, targets, batch, loss, fuseOutput, w.Delta(stack.Length - 1, OutputSize, batch),
            w.BiasGradient(OutputSize));
        if (!outputs.IsEmpty)
            w.Output(stack.Length - 1, OutputSize, batch).CopyTo(outputs);
        return value;
    }

    /// <summary>The loss on a batch with the mask of <see cref="DropoutStep"/> (dropout on, as in training), without
    /// advancing it: what ComputeGradients differentiates, for finite-difference checks.</summary>
    internal T ComputeTrainingLoss(ReadOnlySpan<T> inputs, ReadOnlySpan<T> targets, int batchSize, Loss loss)
        => EvaluationPass(inputs, new BatchTargets<T>(targets), batchSize, loss, default, training: true);

    /// <summary>Δ of the output layer and the loss, from the logits: fused (the activation, Δ, the loss and the bias gradient
    /// in one pass over each row) or not (from the stored activation).</summary>
    private T LossHead(TrainingWorkspace<T> w, BatchTargets<T> targets, int batch, Loss loss, bool fused, Span<T> delta, Span<T> biasGradient)
    {
        Span<T> logits = w.Logits(OutputSize, batch);
        if (targets.AreClasses)
        {
            return fused
                ? OutputLayerKernels<T>.Run(delta, logits, targets.Classes, biasGradient, batch, OutputSize, loss)
                : DenseLayerKernels.OutputDeltaUnchecked(delta, logits, w.Output(stack.Length - 1, OutputSize, batch), targets.Classes, batch, OutputSize, loss);
        }
        return fused
            ? OutputLayerKernels<T>.Run(delta, logits, targets.Values, biasGradient, batch, OutputSize, output.Activation, loss)
            : DenseLayerKernels.OutputDeltaUnchecked(delta, logits, w.Output(stack.Length - 1, OutputSize, batch), targets.Values, batch, OutputSize,
                output.Activation, loss);
    }

    /// <summary>The forward half: each layer's output is the next one's input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ReadOnlySpan<T> RunForward(scoped in LayerPass<T> pass, ReadOnlySpan<T> inputs)
    {
        ReadOnlySpan<T> x = inputs;
        foreach (NetworkLayer<T> layer in stack)
            x = layer.Forward(pass, x);
        return x;
    }

    /// <summary>What layer <paramref name="l"/> read in a training pass (every layer below it wrote its output).</summary>
    private ReadOnlySpan<T> LayerInput(TrainingWorkspace<T> w, ReadOnlySpan<T> inputs, int l, int batch)
        => l == 0 ? inputs : w.Output(l - 1, stack[l - 1].Units, batch);

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
        if (UntrainableLayer() is string untrainable)
            throw new InvalidOperationException(untrainable);
        LossRules.ValidatePairing(layers[^1].Activation, loss);
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

    private TrainingWorkspace<T> WorkspaceFor(int batch)
    {
        if (workspace is null || workspace.Capacity < batch)
            workspace = new TrainingWorkspace<T>(layout, batch);
        return workspace;
    }

    /// <summary>Each layer's parameters as its kind starts them, drawing from one generator in layer order.</summary>
    private void Initialize(int seed)
    {
        var random = new Random(seed);
        for (int l = 0; l < layers.Length; l++)
            LayerType.Of(layers[l].Kind)!.Initialize(layers[l], layout.Sizes[l], Weights(l), Biases(l), random);
    }

    /// <summary>The one message for a network that holds an untrainable layer. Which exception carries it follows what holds
    /// the layer: the network a method is called on (<see cref="InvalidOperationException"/>, from this class)
    /// or an argument (<see cref="ArgumentException"/> naming it, from <c>Trainer</c>).</summary>
    internal string? UntrainableLayer()
    {
        for (int l = 0; l < LayerCount; l++)
        {
            Activation activation = Layer(l).Activation;
            if (!activation.IsTrainable)
                return $"Layer {l} uses the {activation} activation, whose gradient is zero almost everywhere: it can run inference but cannot be trained by gradient descent.";
        }
        return null;
    }


    /// <summary>A draw of N(0, 1).</summary>
    internal static double StandardNormal(Random random)
    {
        // Box–Muller; 1 − U keeps the logarithm's argument in (0, 1].
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
