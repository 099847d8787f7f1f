using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using FastBackprop.Primitives;

namespace FastBackprop;

/// <summary>
/// Everything needed to predict from raw features: the network, the input standardisation fitted on its training
/// data, the class labels, the loss it was trained with and, for regression, the target standardisation (the network
/// predicts standardised targets; <see cref="Predict"/> returns them in the targets' own units). <see cref="ModelFile"/> saves and loads it.
/// Like <see cref="Network{T}"/> (whose <see cref="Network{T}.Forward"/> reuses a workspace), a model keeps
/// scratch buffers and must not be used by several threads at once; give each thread its own (load it once per thread).
/// </summary>
public sealed class Model<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly string[]? classLabels;
    private T[] inputScratch = [];
    private T[] outputScratch = [];

    /// <summary>Bundles a trained network with what prediction needs. The network is shared, not copied.</summary>
    /// <param name="network">The trained network.</param>
    /// <param name="inputStandardization">The standardiser fitted on the training features, or null if the network takes raw features.</param>
    /// <param name="classLabels">Names of the classes, all different: one per output unit, or two (class 0, class 1) for a single output unit; null if unnamed.</param>
    /// <param name="loss">The loss the network was trained with (for evaluation); it must suit the output activation.</param>
    /// <param name="targetStandardization">For regression, the standardiser fitted on the training targets that the network
    /// was trained to predict (one value per output unit), or null if it predicts raw targets. Not allowed with class
    /// labels or a softmax output.</param>
    /// <exception cref="ArgumentException">The parts do not fit together.</exception>
    public Model(Network<T> network, Standardizer<T>? inputStandardization = null, IReadOnlyList<string>? classLabels = null, Loss? loss = null,
        Standardizer<T>? targetStandardization = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (inputStandardization is not null && inputStandardization.FeatureCount != network.InputSize)
            throw new ArgumentException(
                $"The standardiser has {inputStandardization.FeatureCount} features but the network takes {network.InputSize} inputs.", nameof(inputStandardization));
        if (classLabels is not null)
        {
            int expected = ClassCountOf(network);
            if (classLabels.Count != expected)
                throw new ArgumentException(
                    $"classLabels has {classLabels.Count} names but the network's {network.OutputSize} output unit(s) give {expected} classes.", nameof(classLabels));
            this.classLabels = new string[classLabels.Count];
            for (int i = 0; i < classLabels.Count; i++)
                this.classLabels[i] = classLabels[i] ?? throw new ArgumentException($"classLabels[{i}] is null.", nameof(classLabels));
            if (ModelChecks.FirstRepeat(this.classLabels, "class label") is string repeat)
                throw new ArgumentException(repeat, nameof(classLabels));
        }
        if (loss is Loss l)
            LossRules.ValidatePairing(network.Layer(network.LayerCount - 1).Activation, l);
        if (targetStandardization is not null)
        {
            if (targetStandardization.FeatureCount != network.OutputSize)
                throw new ArgumentException(
                    $"The target standardiser has {targetStandardization.FeatureCount} values but the network has {network.OutputSize} outputs.", nameof(targetStandardization));
            if (classLabels is not null || network.Layer(network.LayerCount - 1).Activation.Kind == ActivationKind.Softmax)
                throw new ArgumentException("A target standardisation belongs to a regression model: not with class labels or a softmax output.", nameof(targetStandardization));
        }
        Network = network;
        TargetStandardization = targetStandardization;
        InputStandardization = inputStandardization;
        Loss = loss;
    }

    /// <summary>A quantized model: <paramref name="quantized"/> predicts; <see cref="Network"/> holds the weights it stands
    /// for (<see cref="QuantizedNetwork.Dequantize"/>), against which the other parts are checked.</summary>
    internal Model(QuantizedNetwork quantized, Standardizer<T>? inputStandardization, IReadOnlyList<string>? classLabels, Loss? loss,
        Standardizer<T>? targetStandardization)
        : this((Network<T>)(object)quantized.Dequantize(), inputStandardization, classLabels, loss, targetStandardization)
    {
        Quantized = quantized;
    }

    /// <summary>The network. For a quantized model (<see cref="Quantized"/> not null), the fp32 weights its int8 layers
    /// stand for (s_j·q_jk): its shape and its fp32 layers are the model's, but <see cref="Predict"/> runs
    /// <see cref="Quantized"/>.</summary>
    public Network<T> Network { get; }

    /// <summary>The int8 network that predicts for a quantized model (<c>model.Quantize()</c>, or a model file with int8
    /// layers), or null for an fp32 one.</summary>
    public QuantizedNetwork? Quantized { get; }

    private QuantizedInferenceWorkspace? quantizedWorkspace;

    /// <summary>The standardisation applied to raw features before the network, or null.</summary>
    public Standardizer<T>? InputStandardization { get; }

    /// <summary>The standardisation of the regression targets the network learnt to predict (undone by <see cref="Predict"/>), or null.</summary>
    public Standardizer<T>? TargetStandardization { get; }

    /// <summary>The class names (see the constructor), or null.</summary>
    public IReadOnlyList<string>? ClassLabels => classLabels;

    /// <summary>The names of the raw features, in input order (a CSV file's header at training time), or null if
    /// unknown. With names, callers can match a table's columns by name rather than by position.</summary>
    /// <exception cref="ArgumentException">Set to a list that does not hold one distinct, non-null name per input.</exception>
    public IReadOnlyList<string>? FeatureNames
    {
        get => featureNames;
        init
        {
            if (value is null)
            {
                featureNames = null;
                return;
            }
            if (value.Count != InputSize)
                throw new ArgumentException($"FeatureNames has {value.Count} names but the network takes {InputSize} inputs.", nameof(value));
            string[] names = new string[value.Count];
            for (int i = 0; i < names.Length; i++)
                names[i] = value[i] ?? throw new ArgumentException($"FeatureNames[{i}] is null.", nameof(value));
            if (ModelChecks.FirstRepeat(names, "feature name") is string repeat)
                throw new ArgumentException(repeat, nameof(value));
            featureNames = names;
        }
    }

    private readonly string[]? featureNames;

    /// <summary>The loss the network was trained with, or null if not recorded.</summary>
    public Loss? Loss { get; }

    /// <summary>Raw features per sample.</summary>
    public int InputSize => Network.InputSize;

    /// <summary>Outputs per sample.</summary>
    public int OutputSize => Network.OutputSize;

    /// <summary>Standardises a copy of <paramref name="rawFeatures"/> (batchSize rows; the input is not modified) and
    /// runs the network, writing batchSize×OutputSize outputs; with a <see cref="TargetStandardization"/> the outputs are
    /// returned in the targets' own units. Not thread-safe. Every output is checked: a model never returns NaN or ±∞
    /// silently (weights that are each finite can overflow together on some rows, and so can undoing the target
    /// standardisation); the check is one vectorised pass, and nothing is allocated after the first call for a batch size.</summary>
    /// <exception cref="ArgumentException">Shapes disagree or the features are not finite.</exception>
    /// <exception cref="StandardizationOverflowException">A finite feature standardises to ±∞ (a value far outside the
    /// training data, near float's limits); it names the first such row and feature, and nothing is predicted.</exception>
    /// <exception cref="NonFiniteOutputException">An output is NaN or ±∞; it names the first such row of the batch. Every
    /// output has been written, so the other rows' results can still be used.</exception>
    public void Predict(ReadOnlySpan<T> rawFeatures, int batchSize, Span<T> outputs)
    {
        PredictStandardized(rawFeatures, batchSize, outputs);
        Span<T> written = outputs[..checked(batchSize * OutputSize)];
        TargetStandardization?.InverseTransform(written);
        NonFiniteOutputException.ThrowIfAny<T>(written, OutputSize);
    }

    private void PredictStandardized(ReadOnlySpan<T> rawFeatures, int batchSize, Span<T> outputs)
    {
        Guard.Positive(batchSize, nameof(batchSize));
        Guard.Length(rawFeatures, (long)batchSize * InputSize, nameof(rawFeatures), $"batchSize×InputSize = {batchSize}×{InputSize}");
        if (InputStandardization is null)
        {
            Forward(rawFeatures, batchSize, outputs);
            return;
        }
        Guard.Finite(rawFeatures, nameof(rawFeatures));
        if (inputScratch.Length < rawFeatures.Length)
            inputScratch = new T[rawFeatures.Length];
        Span<T> x = inputScratch.AsSpan(0, rawFeatures.Length);
        rawFeatures.CopyTo(x);
        InputStandardization.Transform(x);
        StandardizationOverflowException.ThrowIfAny<T>(rawFeatures, x, InputSize, nameof(rawFeatures));
        Forward(x, batchSize, outputs);
    }

    /// <summary>The network's outputs for standardised inputs: <see cref="Quantized"/>'s when the model has one.</summary>
    private void Forward(ReadOnlySpan<T> inputs, int batchSize, Span<T> outputs)
    {
        if (Quantized is null)
        {
            Network.Forward(inputs, batchSize, outputs);
            return;
        }
        if (quantizedWorkspace is null || quantizedWorkspace.Capacity < batchSize)
            quantizedWorkspace = Quantized.CreateInferenceWorkspace(batchSize);
        Quantized.Predict(MemoryMarshal.Cast<T, float>(inputs), batchSize, MemoryMarshal.Cast<T, float>(outputs), quantizedWorkspace);
    }

    /// <summary>The predicted class of each sample: the index of the largest output (the first on ties), or for a
    /// single output unit 1 when the output exceeds 0.5, else 0. Not thread-safe.</summary>
    /// <exception cref="ArgumentException">Shapes disagree or the features are not finite.</exception>
    /// <exception cref="NonFiniteOutputException">An output is NaN or ±∞ (see <see cref="Predict"/>); no class is written.</exception>
    public void PredictClasses(ReadOnlySpan<T> rawFeatures, int batchSize, Span<int> classes)
    {
        Guard.Positive(batchSize, nameof(batchSize));
        Guard.Length<int>(classes, batchSize, nameof(classes), $"batchSize = {batchSize}");
        int n = OutputSize;
        if (outputScratch.Length < (long)batchSize * n)
            outputScratch = new T[checked(batchSize * n)];
        Span<T> outputs = outputScratch.AsSpan(0, batchSize * n);
        Predict(rawFeatures, batchSize, outputs);
        T half = T.CreateChecked(0.5);
        for (int i = 0; i < batchSize; i++)
            classes[i] = n == 1 ? (outputs[i] > half ? 1 : 0) : TensorPrimitives.IndexOfMax<T>(outputs.Slice(i * n, n));
    }

    internal static int ClassCountOf(Network<T> network) => network.OutputSize == 1 ? 2 : network.OutputSize;
}
