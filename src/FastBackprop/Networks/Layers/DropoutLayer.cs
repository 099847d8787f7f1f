using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastBackprop.Kernels.Elementwise;
using FastBackprop.Kernels.Fused;
using FastBackprop.Kernels.Gemm;
using FastBackprop.Kernels.Simd;
using FastBackprop.Primitives;

namespace FastBackprop;

/// <summary>
/// Inverted dropout (Srivastava et al. 2014, in the form PyTorch's <c>nn.Dropout</c> uses): in training each value is
/// kept with probability 1 − p and scaled by 1/(1 − p), or zeroed, so the expected output equals the input and inference
/// is the identity. The mask M (0 or 1/(1 − p) per value) is kept for the backward pass: the gradient through the layer
/// is ∂C/∂Y ⊙ M, fused into the GEMM of the layer above when that one computes it. Masks come from a counter-based
/// hash of (seed, step, layer, position), so a training run is bit-identical for a given seed whatever the thread count.
/// </summary>
internal sealed class DropoutLayer<T> : NetworkLayer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly ulong dropThreshold;
    private readonly T keepScale;

    public DropoutLayer(int index, int width, double rate) : base(index, width, width)
    {
        Rate = rate;
        // A value is dropped when the top 32 bits of its hash fall below rate·2³².
        dropThreshold = (ulong)Math.Round(rate * 4294967296.0);
        keepScale = T.CreateChecked(1 / (1 - rate));
    }

    public double Rate { get; }

    public override LayerSpec Spec => LayerSpec.Dropout(Rate) with { Units = Units };

    public override bool WritesOutput => false;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override ReadOnlySpan<T> Forward(scoped in LayerPass<T> pass, ReadOnlySpan<T> input)
    {
        if (!pass.Training)
            return input;
        TrainingWorkspace<T> w = pass.Workspace;
        Span<T> mask = w.Mask(Index, Units, pass.Batch), output = w.Output(Index, Units, pass.Batch);
        DrawMask(mask, pass.DropoutSeed, pass.DropoutStep);
        Elementwise<T>.Map(new MultiplyOperator<T>(), input, mask, output);
        return output;
    }

    public override ReadOnlySpan<T> Predict(ReadOnlySpan<T> input, Span<T> output, int batch, bool fused, PackedOperand<T>? packedWeights)
        => input;

    public override void Backward(in LayerPass<T> pass, ReadOnlySpan<T> input, NetworkLayer<T>? below, in GradientSink<T> sink)
        => below?.ReceiveElementwise(pass, pass.Workspace.Delta(Index, Units, pass.Batch), sink);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override unsafe void ReceiveProduct(in LayerPass<T> pass, ReadOnlySpan<T> upstream, ReadOnlySpan<T> upstreamWeights, int upstreamUnits,
        in GradientSink<T> sink)
    {
        TrainingWorkspace<T> w = pass.Workspace;
        int batch = pass.Batch;
        Span<T> gradient = w.Delta(Index, Units, batch), mask = w.Mask(Index, Units, batch);
        if (!pass.Fused)
        {
            var none = new NoEpilogue<T>();
            Gemm.RunChecked(Transpose.No, Transpose.No, batch, Units, upstreamUnits, T.One, upstream, upstreamUnits,
                upstreamWeights, Units, T.Zero, gradient, Units, in none);
            Elementwise<T>.Map(new MultiplyOperator<T>(), gradient, mask, gradient);
            return;
        }
        fixed (T* pMask = &MemoryMarshal.GetReference(mask))
        {
            // (Δ_up·W_up) ⊙ M in the GEMM's epilogue, the mask read like a derivative.
            var epilogue = new DerivativeEpilogue<T, MultiplyOperator<T>>(pMask, Units, new MultiplyOperator<T>());
            Gemm.RunChecked(Transpose.No, Transpose.No, batch, Units, upstreamUnits, T.One, upstream, upstreamUnits,
                upstreamWeights, Units, T.Zero, gradient, Units, in epilogue);
        }
    }

    public override void ReceiveElementwise(in LayerPass<T> pass, ReadOnlySpan<T> gradient, in GradientSink<T> sink)
    {
        TrainingWorkspace<T> w = pass.Workspace;
        Elementwise<T>.Map(new MultiplyOperator<T>(), gradient, w.Mask(Index, Units, pass.Batch), w.Delta(Index, Units, pass.Batch));
    }

    /// <summary>The mask for one step: value i is kept (1/(1 − p)) unless the hash of (seed, step, layer, i) falls below p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void DrawMask(Span<T> mask, ulong seed, ulong step)
    {
        ulong key = Mix(seed ^ Mix(step * 0x9E3779B97F4A7C15UL + (ulong)Index + 1));
        for (int i = 0; i < mask.Length; i++)
            mask[i] = Mix(key + (ulong)i) >> 32 < dropThreshold ? T.Zero : keepScale;
    }

    /// <summary>SplitMix64's finaliser: a bijective mix whose outputs for consecutive inputs are independent enough for
    /// dropout (it is the generator java.util.SplittableRandom is built on).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

/// <summary>The dropout kind: as wide as its input, no parameters, the identity at inference; its record carries the rate.</summary>
internal sealed class DropoutLayerType : LayerType
{
    public static readonly DropoutLayerType Instance = new();

    public override LayerKind Kind => LayerKind.Dropout;

    public override string Name => "dropout";

    public override uint FileVersion => 2;

    public override bool WritesAtInference => false;

    public override string ValueName => "dropout rate";

    public override string ValueRange => $"(0, {LayerSpec.MaxDropoutRate}]";

    public override bool ValueInRange(double value) => value > 0 && value <= LayerSpec.MaxDropoutRate;

    public override TensorShape[] ParameterTensors(long inputs, long units) => [];

    public override void Initialize<T>(LayerSpec spec, int inputs, Span<T> weights, Span<T> biases, Random random) { }

    public override NetworkLayer<T> Create<T>(LayerSpec spec, int index, int inputs, Memory<T> weights, Memory<T> biases, bool isOutput)
        => new DropoutLayer<T>(index, inputs, spec.Rate);

    public override LayerSpec FromRecordValue(double value) => LayerSpec.Dropout(value);

    public override string Summary(LayerSpec spec, int inputs, bool quantized)
        => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"dropout {spec.Rate:0.###} ({inputs} wide; the identity when predicting)");
}

/// <summary>The dropout kind's part of the layer spec: its factory and its rate.</summary>
public readonly partial record struct LayerSpec
{
    /// <summary>The largest dropout rate accepted (a rate of 1 would drop everything).</summary>
    public const double MaxDropoutRate = 0.99;

    /// <summary>A dropout layer's rate: the probability that a value is dropped in training (0 for the other kinds).</summary>
    public double Rate => Kind == LayerKind.Dropout ? Value : 0;

    /// <summary>An inverted-dropout layer dropping each value with probability <paramref name="rate"/> in training.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is outside (0, <see cref="MaxDropoutRate"/>].</exception>
    public static LayerSpec Dropout(double rate)
    {
        if (!DropoutLayerType.Instance.ValueInRange(rate))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, $"A dropout rate must be in {DropoutLayerType.Instance.ValueRange} (got {rate}).");
        return new LayerSpec(0, Activation.Identity) { Kind = LayerKind.Dropout, Value = rate };
    }
}
