using System.Numerics;
using FastBackprop.Onnx;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastBackprop.Kernels.Gemm;
using FastBackprop.Primitives;

namespace FastBackprop;

/// <summary>
/// Layer normalisation (Ba, Kiros and Hinton 2016; PyTorch's <c>nn.LayerNorm(width)</c>, ONNX's LayerNormalization on the
/// last axis): per row, μ = Σx/n, σ² = Σ(x − μ)²/n (biased, as PyTorch), x̂ = (x − μ)/√(σ² + ε), and y = γ ⊙ x̂ + β with
/// one learnable γ (initially 1) and β (initially 0) per feature, held in the network's parameter buffer as the layer's
/// "weights" and "biases". Training keeps x̂ and 1/√(σ² + ε) per row; back through it (MATH.md "Layer normalisation"):
/// ∂C/∂γ = Σ_rows g ⊙ x̂, ∂C/∂β = Σ_rows g, and with ĝ = g ⊙ γ,
/// ∂C/∂x = (1/√(σ² + ε))·(ĝ − mean(ĝ) − x̂·mean(ĝ ⊙ x̂)).
/// Every sum runs over its row (or, for γ and β, over the rows) in index order with separate multiplies and adds, so the
/// bits depend on the width and the data alone, never on the instruction set or the batch a row sits in.
/// </summary>
internal sealed class LayerNormLayer<T> : NetworkLayer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Memory<T> gamma, beta;
    private readonly T epsilon;
    private T[]? gammaStep, betaStep;   // the fused SGD step's gradients (the gradient buffer is not there)
    private T[] rowScales = [];          // 1/√(σ² + ε) per row of the last training forward pass

    public LayerNormLayer(int index, int width, double epsilon, Memory<T> gamma, Memory<T> beta) : base(index, width, width)
    {
        Epsilon = epsilon;
        this.epsilon = T.CreateChecked(epsilon);
        this.gamma = gamma;
        this.beta = beta;
    }

    public double Epsilon { get; }

    public override LayerSpec Spec => LayerSpec.LayerNorm(Epsilon) with { Units = Units };

    public override ReadOnlySpan<T> Forward(scoped in LayerPass<T> pass, ReadOnlySpan<T> input)
    {
        TrainingWorkspace<T> w = pass.Workspace;
        int batch = pass.Batch;
        Span<T> output = w.Output(Index, Units, batch);
        if (!pass.Training)
        {
            Normalize(input, output, default, default, batch);
            return output;
        }
        if (rowScales.Length < batch)
            rowScales = new T[w.Capacity];
        Normalize(input, output, w.PreActivation(Index, Units, batch), rowScales.AsSpan(0, batch), batch);
        return output;
    }

    public override ReadOnlySpan<T> Predict(ReadOnlySpan<T> input, Span<T> output, int batch, bool fused, PackedOperand<T>? packedWeights)
    {
        Normalize(input, output, default, default, batch);
        return output;
    }

    /// <summary>y = γ ⊙ x̂ + β row by row; keeps x̂ and 1/√(σ² + ε) where the spans are given (training).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Normalize(ReadOnlySpan<T> input, Span<T> output, Span<T> normalized, Span<T> rowScales, int batch)
    {
        int n = Units;
        T count = T.CreateChecked(n);
        ReadOnlySpan<T> g = gamma.Span, b = beta.Span;
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<T> x = input.Slice(r * n, n);
            Span<T> y = output.Slice(r * n, n);
            T sum = T.Zero;
            for (int i = 0; i < x.Length; i++)
                sum += x[i];
            T mean = sum / count;
            T squares = T.Zero;
            for (int i = 0; i < x.Length; i++)
            {
                T d = x[i] - mean;
                squares += d * d;
            }
            T scale = T.One / T.Sqrt(squares / count + epsilon);
            // x̂ into y first (y may be the caller's outputs; x̂ is kept from it when training), then γ ⊙ x̂ + β.
            Elementwise.Normalize(x, mean, scale, y);
            if (!normalized.IsEmpty)
            {
                y.CopyTo(normalized.Slice(r * n, n));
                rowScales[r] = scale;
            }
            Elementwise.ScaleShift(y, g, b, y);
        }
    }

    public override void Backward(in LayerPass<T> pass, ReadOnlySpan<T> input, NetworkLayer<T>? below, in GradientSink<T> sink)
    {
        TrainingWorkspace<T> w = pass.Workspace;
        int batch = pass.Batch, n = Units;
        Span<T> gradient = w.Delta(Index, n, batch);
        ReadOnlySpan<T> normalized = w.PreActivation(Index, n, batch), scales = rowScales.AsSpan(0, batch);
        Span<T> gammaGradient = sink.UpdatesInPlace ? (gammaStep ??= new T[n]) : sink.Gradients!.Weights(Index);
        Span<T> betaGradient = sink.UpdatesInPlace ? (betaStep ??= new T[n]) : sink.Gradients!.Biases(Index);
        gammaGradient.Clear();
        betaGradient.Clear();
        for (int r = 0; r < batch; r++)
            Elementwise.AccumulateProducts(gradient.Slice(r * n, n), normalized.Slice(r * n, n), gammaGradient, betaGradient);

        if (below is not null)
        {
            // ∂C/∂x in place of g (γ before its update; g is no longer needed once γ's and β's gradients are summed).
            ReadOnlySpan<T> g = gamma.Span;
            T count = T.CreateChecked(n);
            for (int r = 0; r < batch; r++)
            {
                Span<T> row = gradient.Slice(r * n, n);
                ReadOnlySpan<T> xHat = normalized.Slice(r * n, n);
                T sum = T.Zero, dot = T.Zero;
                for (int i = 0; i < n; i++)
                {
                    T scaled = row[i] * g[i];
                    sum += scaled;
                    dot += scaled * xHat[i];
                }
                T meanScaled = sum / count, meanDot = dot / count, scale = scales[r];
                for (int i = 0; i < n; i++)
                    row[i] = scale * (row[i] * g[i] - meanScaled - xHat[i] * meanDot);
            }
        }
        if (sink.UpdatesInPlace)
        {
            // The same arithmetic as Network.ApplyGradients, as a dense layer's biases.
            TensorPrimitives.MultiplyAdd<T>(gammaGradient, -sink.LearningRate, gamma.Span, gamma.Span);
            TensorPrimitives.MultiplyAdd<T>(betaGradient, -sink.LearningRate, beta.Span, beta.Span);
        }
        below?.ReceiveElementwise(pass, gradient, sink);
    }

    public override void ReceiveProduct(in LayerPass<T> pass, ReadOnlySpan<T> upstream, ReadOnlySpan<T> upstreamWeights, int upstreamUnits,
        in GradientSink<T> sink)
    {
        // g = Δ_up·W_up: the layer's own derivative is applied in Backward, where it needs the whole row.
        var none = new NoEpilogue<T>();
        Gemm.RunChecked(Transpose.No, Transpose.No, pass.Batch, Units, upstreamUnits, T.One, upstream, upstreamUnits,
            upstreamWeights, Units, T.Zero, pass.Workspace.Delta(Index, Units, pass.Batch), Units, in none);
    }

    public override void ReceiveElementwise(in LayerPass<T> pass, ReadOnlySpan<T> gradient, in GradientSink<T> sink)
        => gradient.CopyTo(pass.Workspace.Delta(Index, Units, pass.Batch));

    /// <summary>The per-element passes, vectorised with separate multiplies and adds: each lane rounds as the scalar
    /// expression does, so the result is the same for any vector width.</summary>
    private static class Elementwise
    {
        /// <summary>y = (x − mean)·scale.</summary>
        public static void Normalize(ReadOnlySpan<T> x, T mean, T scale, Span<T> y)
        {
            int i = 0;
            if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
            {
                var m = new Vector<T>(mean);
                var s = new Vector<T>(scale);
                ref T rx = ref MemoryMarshal.GetReference(x);
                ref T ry = ref MemoryMarshal.GetReference(y);
                for (; i + Vector<T>.Count <= x.Length; i += Vector<T>.Count)
                    Vector.StoreUnsafe((Vector.LoadUnsafe(ref rx, (nuint)i) - m) * s, ref ry, (nuint)i);
            }
            for (; i < x.Length; i++)
                y[i] = (x[i] - mean) * scale;
        }

        /// <summary>y = x ⊙ γ + β (y may be x).</summary>
        public static void ScaleShift(ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y)
        {
            int i = 0;
            if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
            {
                ref T rx = ref MemoryMarshal.GetReference(x);
                ref T rg = ref MemoryMarshal.GetReference(gamma);
                ref T rb = ref MemoryMarshal.GetReference(beta);
                ref T ry = ref MemoryMarshal.GetReference(y);
                for (; i + Vector<T>.Count <= x.Length; i += Vector<T>.Count)
                {
                    Vector<T> product = Vector.LoadUnsafe(ref rx, (nuint)i) * Vector.LoadUnsafe(ref rg, (nuint)i);
                    Vector.StoreUnsafe(product + Vector.LoadUnsafe(ref rb, (nuint)i), ref ry, (nuint)i);
                }
            }
            for (; i < x.Length; i++)
                y[i] = x[i] * gamma[i] + beta[i];
        }

        /// <summary>dγ += g ⊙ x̂ and dβ += g for one row (so the column sums run over the rows in order).</summary>
        public static void AccumulateProducts(ReadOnlySpan<T> g, ReadOnlySpan<T> xHat, Span<T> gammaGradient, Span<T> betaGradient)
        {
            int i = 0;
            if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
            {
                ref T rg = ref MemoryMarshal.GetReference(g);
                ref T rx = ref MemoryMarshal.GetReference(xHat);
                ref T rdg = ref MemoryMarshal.GetReference(gammaGradient);
                ref T rdb = ref MemoryMarshal.GetReference(betaGradient);
                for (; i + Vector<T>.Count <= g.Length; i += Vector<T>.Count)
                {
                    Vector<T> v = Vector.LoadUnsafe(ref rg, (nuint)i);
                    Vector.StoreUnsafe(Vector.LoadUnsafe(ref rdg, (nuint)i) + v * Vector.LoadUnsafe(ref rx, (nuint)i), ref rdg, (nuint)i);
                    Vector.StoreUnsafe(Vector.LoadUnsafe(ref rdb, (nuint)i) + v, ref rdb, (nuint)i);
                }
            }
            for (; i < g.Length; i++)
            {
                gammaGradient[i] += g[i] * xHat[i];
                betaGradient[i] += g[i];
            }
        }
    }
}

/// <summary>The layer-normalisation kind: as wide as its input, γ and β (one each per feature: "weights" and "biases" in
/// the parameter buffer), γ = 1 and β = 0 to start; its record carries ε.</summary>
internal sealed class LayerNormLayerType : LayerType
{
    public static readonly LayerNormLayerType Instance = new();

    public override LayerKind Kind => LayerKind.LayerNorm;

    public override string Name => "layer-norm";

    public override uint FileVersion => 5;

    public override string ValueName => "layer-norm epsilon";

    public override string ValueRange => $"[{LayerSpec.MinLayerNormEpsilon}, {LayerSpec.MaxLayerNormEpsilon}]";

    public override bool ValueInRange(double value) => value >= LayerSpec.MinLayerNormEpsilon && value <= LayerSpec.MaxLayerNormEpsilon;

    public override (long Weights, long Biases) ParameterShape(long inputs, long units) => (units, units);

    public override void Initialize<T>(LayerSpec spec, int inputs, Span<T> weights, Span<T> biases, Random random)
    {
        weights.Fill(T.One);
        biases.Clear();
    }

    public override NetworkLayer<T> Create<T>(LayerSpec spec, int index, int inputs, Memory<T> weights, Memory<T> biases, bool isOutput)
        => new LayerNormLayer<T>(index, inputs, spec.Epsilon, weights, biases);

    public override double RecordValue(LayerSpec spec) => spec.Epsilon;

    public override LayerSpec FromRecordValue(double value) => LayerSpec.LayerNorm(value);

    public override string OnnxOperator => "LayerNormalization";

    /// <summary>LayerNormalization on the last axis (1 or −1), statistics in float32 (stash_type 1), ε in the kind's range,
    /// a scale of one value per feature and an optional bias: a layer normalisation. (An activation after it is refused by
    /// the chain: this kind has none.)</summary>
    public override void ImportOnnx(OnnxChain chain)
    {
        chain.Arity(2, 3);
        chain.Attributes("axis", "epsilon", "stash_type");
        long axis = chain.IntAttribute("axis", -1);
        if (axis is not (1 or -1))
            throw chain.Error($"axis = {axis}: only the last axis of a [batch, features] tensor (1 or -1) is supported.");
        long stash = chain.IntAttribute("stash_type", 1);
        if (stash != 1)
            throw chain.Error($"stash_type = {stash}: only 1 (the statistics in float32) is supported.");
        double epsilon = OnnxChain.ShortestDouble(chain.FloatAttribute("epsilon", 1e-5f));
        if (!ValueInRange(epsilon))
            throw chain.Error($"epsilon = {epsilon} is outside {ValueRange}, the range the library's layer normalisation takes.");
        OnnxTensor scale = chain.Constant(1, "scale");
        int width = chain.Width ?? scale.Count;
        if (scale.Count != width || scale.Dims.Length != 1)
            throw chain.Error($"its scale '{scale.Name}' has dims [{string.Join(", ", scale.Dims)}]; [{width}] (one per feature of its input) is needed.");
        double[] bias = chain.HasInput(2) ? chain.Bias(chain.Constant(2, "bias"), width) : new double[width];
        chain.AddKeptLayer(LayerSpec.LayerNorm(epsilon), OnnxChain.Vector(scale), bias);
    }

    /// <summary>ONNX's LayerNormalization (opset 17) on the last axis, γ as its scale and β as its bias.</summary>
    public override void ExportOnnx<T>(OnnxGraphWriter<T> onnx, LayerSpec spec, int index, ReadOnlySpan<T> weights, ReadOnlySpan<T> biases)
    {
        string prefix = $"layer{index}_";
        onnx.Constant(prefix + "scale", [spec.Units], weights);
        onnx.Constant(prefix + "bias", [spec.Units], biases);
        onnx.Node("LayerNormalization", prefix + "layernorm", [onnx.Current, prefix + "scale", prefix + "bias"],
            OnnxExporter.IntAttribute("axis", -1), OnnxExporter.FloatAttribute("epsilon", (float)spec.Epsilon));
    }
}
