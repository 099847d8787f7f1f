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
/// The sums over a row run in eight partial sums combined in a fixed tree (<see cref="RowSums"/>), those over the rows (γ's
/// and β's gradients) in row order, all with separate multiplies and adds, so the bits depend on the width and the data
/// alone, never on the instruction set or the batch a row sits in.
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
            T mean = RowSums.Sum(x) / count;
            T scale = T.One / T.Sqrt(RowSums.SquaredDeviations(x, mean) / count + epsilon);
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
                (T sum, T dot) = RowSums.ScaledAndDot(row, g, xHat);
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

    /// <summary>
    /// The sums over a row, in one order on every CPU: eight partial sums, element i going to partial i mod 8 in index order,
    /// combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)). Scalar code with separate multiplies and adds, so no
    /// instruction set or register width changes a bit; eight chains in flight instead of one keep the adder busy.
    /// </summary>
    internal static class RowSums
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static T Sum(ReadOnlySpan<T> x)
        {
            T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero, s4 = T.Zero, s5 = T.Zero, s6 = T.Zero, s7 = T.Zero;
            int i = 0;
            for (; i + 8 <= x.Length; i += 8)
            {
                s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3];
                s4 += x[i + 4]; s5 += x[i + 5]; s6 += x[i + 6]; s7 += x[i + 7];
            }
            Tail(x[i..], ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6);
            return Combine(s0, s1, s2, s3, s4, s5, s6, s7);
        }

        /// <summary>Σ (x_i − mean)².</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static T SquaredDeviations(ReadOnlySpan<T> x, T mean)
        {
            T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero, s4 = T.Zero, s5 = T.Zero, s6 = T.Zero, s7 = T.Zero;
            int i = 0;
            for (; i + 8 <= x.Length; i += 8)
            {
                s0 += Square(x[i] - mean); s1 += Square(x[i + 1] - mean); s2 += Square(x[i + 2] - mean); s3 += Square(x[i + 3] - mean);
                s4 += Square(x[i + 4] - mean); s5 += Square(x[i + 5] - mean); s6 += Square(x[i + 6] - mean); s7 += Square(x[i + 7] - mean);
            }
            Span<T> tail = stackalloc T[7];
            for (int k = i; k < x.Length; k++)
                tail[k - i] = Square(x[k] - mean);
            Tail(tail[..(x.Length - i)], ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6);
            return Combine(s0, s1, s2, s3, s4, s5, s6, s7);
        }

        /// <summary>(Σ g_i·γ_i, Σ (g_i·γ_i)·x̂_i), each in the order of <see cref="Sum"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static (T Scaled, T Dot) ScaledAndDot(ReadOnlySpan<T> g, ReadOnlySpan<T> gamma, ReadOnlySpan<T> xHat)
        {
            int n = g.Length, i = 0;
            T a0 = T.Zero, a1 = T.Zero, a2 = T.Zero, a3 = T.Zero, a4 = T.Zero, a5 = T.Zero, a6 = T.Zero, a7 = T.Zero;
            T d0 = T.Zero, d1 = T.Zero, d2 = T.Zero, d3 = T.Zero, d4 = T.Zero, d5 = T.Zero, d6 = T.Zero, d7 = T.Zero;
            for (; i + 8 <= n; i += 8)
            {
                T v0 = g[i] * gamma[i], v1 = g[i + 1] * gamma[i + 1], v2 = g[i + 2] * gamma[i + 2], v3 = g[i + 3] * gamma[i + 3];
                T v4 = g[i + 4] * gamma[i + 4], v5 = g[i + 5] * gamma[i + 5], v6 = g[i + 6] * gamma[i + 6], v7 = g[i + 7] * gamma[i + 7];
                a0 += v0; a1 += v1; a2 += v2; a3 += v3; a4 += v4; a5 += v5; a6 += v6; a7 += v7;
                d0 += v0 * xHat[i]; d1 += v1 * xHat[i + 1]; d2 += v2 * xHat[i + 2]; d3 += v3 * xHat[i + 3];
                d4 += v4 * xHat[i + 4]; d5 += v5 * xHat[i + 5]; d6 += v6 * xHat[i + 6]; d7 += v7 * xHat[i + 7];
            }
            Span<T> scaled = stackalloc T[7], dots = stackalloc T[7];
            for (int k = i; k < n; k++)
            {
                scaled[k - i] = g[k] * gamma[k];
                dots[k - i] = scaled[k - i] * xHat[k];
            }
            Tail(scaled[..(n - i)], ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6);
            Tail(dots[..(n - i)], ref d0, ref d1, ref d2, ref d3, ref d4, ref d5, ref d6);
            return (Combine(a0, a1, a2, a3, a4, a5, a6, a7), Combine(d0, d1, d2, d3, d4, d5, d6, d7));
        }

        private static T Square(T d) => d * d;

        /// <summary>The last n mod 8 terms (at most 7) into partials 0, 1, …, in order.</summary>
        private static void Tail(ReadOnlySpan<T> rest, ref T s0, ref T s1, ref T s2, ref T s3, ref T s4, ref T s5, ref T s6)
        {
            if (rest.Length > 0) s0 += rest[0];
            if (rest.Length > 1) s1 += rest[1];
            if (rest.Length > 2) s2 += rest[2];
            if (rest.Length > 3) s3 += rest[3];
            if (rest.Length > 4) s4 += rest[4];
            if (rest.Length > 5) s5 += rest[5];
            if (rest.Length > 6) s6 += rest[6];
        }

        private static T Combine(T s0, T s1, T s2, T s3, T s4, T s5, T s6, T s7) => ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

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

    public override TensorShape[] ParameterTensors(long inputs, long units) => [new("gamma", [units]), new("beta", [units])];

    public override void Initialize<T>(LayerSpec spec, int inputs, Span<T> weights, Span<T> biases, Random random)
    {
        weights.Fill(T.One);
        biases.Clear();
    }

    public override NetworkLayer<T> Create<T>(LayerSpec spec, int index, int inputs, Memory<T> weights, Memory<T> biases, bool isOutput)
        => new LayerNormLayer<T>(index, inputs, spec.Epsilon, weights, biases);

    public override LayerSpec FromRecordValue(double value) => LayerSpec.LayerNorm(value);

    public override string Summary(LayerSpec spec, int inputs, bool quantized)
        => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"layer norm, epsilon {spec.Epsilon:G6} ({inputs} wide, a learned scale and shift per feature{(quantized ? ", fp32" : "")})");

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

/// <summary>The layer normalisation kind's part of the layer spec: its factory and its ε.</summary>
public readonly partial record struct LayerSpec
{
    /// <summary>The smallest and largest ε a layer normalisation takes (PyTorch's default is 1e-5).</summary>
    public const double MinLayerNormEpsilon = 1e-12, MaxLayerNormEpsilon = 1;

    /// <summary>A layer normalisation's ε, added to each row's variance (0 for the other kinds).</summary>
    public double Epsilon => Kind == LayerKind.LayerNorm ? Value : 0;

    /// <summary>A layer normalisation over each row's features, with learnable γ (initially 1) and β (initially 0) per
    /// feature and <paramref name="epsilon"/> added to the variance.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epsilon"/> is outside [<see cref="MinLayerNormEpsilon"/>,
    /// <see cref="MaxLayerNormEpsilon"/>].</exception>
    public static LayerSpec LayerNorm(double epsilon = 1e-5)
    {
        if (!LayerNormLayerType.Instance.ValueInRange(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon,
                $"A layer normalisation's epsilon must be in {LayerNormLayerType.Instance.ValueRange} (got {epsilon}).");
        return new LayerSpec(0, Activation.Identity) { Kind = LayerKind.LayerNorm, Value = epsilon };
    }
}
