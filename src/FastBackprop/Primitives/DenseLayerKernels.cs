using System.Runtime.CompilerServices;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using FastBackprop.Kernels.Elementwise;
using FastBackprop.Kernels.Fused;
using FastBackprop.Kernels.Gemm;
using FastBackprop.Kernels.Simd;

namespace FastBackprop.Primitives;

/// <summary>
/// The dense layer's forward and backward kernels on row-major batches (one sample per row), in
/// llm.c's argument order: outputs first, then inputs, then sizes. Shapes follow MATH.md:
/// W is units×inputs, a batch is batch×features.
/// </summary>
public static class DenseLayerKernels
{
    /// <summary>
    /// Forward: <c>Z = X·Wᵀ + b</c>, <c>output = g(Z)</c>, fused into the GEMM for elementwise g.
    /// When <paramref name="preActivation"/> is not empty Z is also written there (the output layer keeps
    /// its logits for a stable loss); softmax needs it, as it is applied row by row after the product.
    /// </summary>
    public static void Forward<T>(Span<T> output, Span<T> preActivation, ReadOnlySpan<T> input,
        ReadOnlySpan<T> weights, ReadOnlySpan<T> bias, int batch, int inputs, int units, Activation activation)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(inputs, nameof(inputs));
        Guard.Positive(units, nameof(units));
        Guard.Length(output, (long)batch * units, nameof(output), $"batch×units = {batch}×{units}");
        if (!preActivation.IsEmpty)
            Guard.Length(preActivation, (long)batch * units, nameof(preActivation), $"batch×units = {batch}×{units}");
        else if (activation.Kind == ActivationKind.Softmax)
            throw new ArgumentException("Softmax needs a preActivation buffer (batch×units) for the logits.", nameof(preActivation));
        Guard.Length(input, (long)batch * inputs, nameof(input), $"batch×inputs = {batch}×{inputs}");
        Guard.Length(weights, (long)units * inputs, nameof(weights), $"units×inputs = {units}×{inputs}");
        Guard.Length(bias, units, nameof(bias), $"units = {units}");
        ForwardUnchecked(output, preActivation, input, weights, bias, batch, inputs, units, activation);
    }

    /// <summary>The forward layer without argument checks. <paramref name="packedWeights"/>, when given, is Wᵀ packed in
    /// advance for the GEMM (a frozen network's); the weights themselves are still passed and still define the result.</summary>
    internal static unsafe void ForwardUnchecked<T>(Span<T> output, Span<T> preActivation, ReadOnlySpan<T> input,
        ReadOnlySpan<T> weights, ReadOnlySpan<T> bias, int batch, int inputs, int units, Activation activation,
        PackedOperand<T>? packedWeights = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        fixed (T* pBias = &MemoryMarshal.GetReference(bias))
        {
            if (preActivation.IsEmpty && activation.Kind != ActivationKind.Softmax)
            {
                // Every elementwise activation is applied to each GEMM tile as it is finished (in registers, or
                // for sigmoid/tanh/SiLU on the tile just stored in L1): A is written once and Z never exists.
                var forward = new ForwardVisitor<T>(output, input, weights, pBias, new GemmShape(batch, inputs, units), packedWeights);
                ActivationTable<T>.Visit(activation, ref forward);
                return;
            }
            // The output layer keeps Z (its loss is computed from the logits), and softmax needs whole rows.
            ForwardFused(new IdentityOperator<T>(), preActivation, input, weights, pBias, batch, inputs, units, packedWeights);
        }
        // Inference may keep Z in the caller's output itself and normalise it in place.
        if (!output.Overlaps(preActivation))
            preActivation.CopyTo(output);
        if (activation.Kind == ActivationKind.Softmax)
            ActivationKernels<T>.SoftmaxRowsInPlace(output, batch, units, units);
        else
            ActivationKernels<T>.ApplyInPlace(activation, output);
    }

    private readonly record struct GemmShape(int Batch, int Inputs, int Units);

    /// <summary>Runs the fused forward GEMM with the activation's forward operator from <see cref="ActivationTable{T}"/>.</summary>
    private readonly unsafe ref struct ForwardVisitor<T>(Span<T> output, ReadOnlySpan<T> input, ReadOnlySpan<T> weights, T* bias,
        GemmShape shape, PackedOperand<T>? packedWeights) : IActivationVisitor<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly Span<T> output = output;
        private readonly ReadOnlySpan<T> input = input, weights = weights;

        public void Visit<TForward, TDerivative>(TForward forward, TDerivative derivative)
            where TForward : struct, IBinaryOperator<T> where TDerivative : struct, IBinaryOperator<T>
            => ForwardFused(forward, output, input, weights, bias, shape.Batch, shape.Inputs, shape.Units, packedWeights);
    }

    private static unsafe void ForwardFused<T, TActivation>(TActivation activation, Span<T> output, ReadOnlySpan<T> input,
        ReadOnlySpan<T> weights, T* bias, int batch, int inputs, int units, PackedOperand<T>? packedWeights)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TActivation : struct, IBinaryOperator<T>
    {
        var epilogue = new BiasActivationEpilogue<T, TActivation>(bias, activation);
        Gemm.RunChecked(Transpose.No, Transpose.Yes, batch, units, inputs, T.One, input, inputs,
            weights, inputs, T.Zero, output, units, in epilogue, packedWeights);
    }

    /// <summary>The forward layer unfused, for comparison: GEMM, then a pass adding the bias, then a pass
    /// applying the activation.</summary>
    internal static void ForwardUnfused<T>(Span<T> output, Span<T> preActivation, ReadOnlySpan<T> input,
        ReadOnlySpan<T> weights, ReadOnlySpan<T> bias, int batch, int inputs, int units, Activation activation)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Span<T> z = preActivation.IsEmpty ? output : preActivation;
        var none = new NoEpilogue<T>();
        Gemm.RunChecked(Transpose.No, Transpose.Yes, batch, units, inputs, T.One, input, inputs,
            weights, inputs, T.Zero, z, units, in none);
        for (int i = 0; i < batch; i++)
        {
            Span<T> row = z.Slice(i * units, units);
            Elementwise<T>.Add(row, bias, row);
        }
        if (!preActivation.IsEmpty)
            preActivation.CopyTo(output);
        if (activation.Kind == ActivationKind.Softmax)
            ActivationKernels<T>.SoftmaxRowsInPlace(output, batch, units, units);
        else
            ActivationKernels<T>.ApplyInPlace(activation, output);
    }

    /// <summary>
    /// The Hadamard δ step: <c>Δ = (Δ_next·W_next) ⊙ g'(A)</c>, the derivative read from this layer's
    /// activations <paramref name="activations"/> (batch×units); W_next is nextUnits×units.
    /// </summary>
    public static void HiddenDelta<T>(Span<T> delta, ReadOnlySpan<T> nextDelta, ReadOnlySpan<T> nextWeights,
        ReadOnlySpan<T> activations, int batch, int units, int nextUnits, Activation activation)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(units, nameof(units));
        Guard.Positive(nextUnits, nameof(nextUnits));
        LossRules.RequireTrainable(activation, nameof(activation));
        if (activation.Kind == ActivationKind.Softmax)
            throw new ArgumentException("Softmax has no elementwise derivative: it is an output-layer activation, trained only fused with cross-entropy (OutputDelta).", nameof(activation));
        Guard.Length(delta, (long)batch * units, nameof(delta), $"batch×units = {batch}×{units}");
        Guard.Length(nextDelta, (long)batch * nextUnits, nameof(nextDelta), $"batch×nextUnits = {batch}×{nextUnits}");
        Guard.Length(nextWeights, (long)nextUnits * units, nameof(nextWeights), $"nextUnits×units = {nextUnits}×{units}");
        Guard.Length(activations, (long)batch * units, nameof(activations), $"batch×units = {batch}×{units}");
        HiddenDeltaUnchecked(delta, nextDelta, nextWeights, activations, batch, units, nextUnits, activation);
    }

    /// <summary>The Hadamard δ step fused into the GEMM. With a non-empty <paramref name="biasGradient"/> Δ's column sums
    /// (this layer's bias gradient) follow, in row order.</summary>
    internal static unsafe void HiddenDeltaUnchecked<T>(Span<T> delta, ReadOnlySpan<T> nextDelta, ReadOnlySpan<T> nextWeights,
        ReadOnlySpan<T> activations, int batch, int units, int nextUnits, Activation activation, Span<T> biasGradient = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (!activation.IsTrainable || activation.Kind == ActivationKind.Softmax)
            throw new InvalidOperationException($"{activation} has no elementwise derivative to train through.");
        var fused = new DeltaVisitor<T>(delta, nextDelta, nextWeights, activations, new DeltaShape(batch, units, nextUnits));
        ActivationTable<T>.Visit(activation, ref fused);
        if (!biasGradient.IsEmpty)
            BiasGradientUnchecked(biasGradient, delta, batch, units);
    }

    /// <summary>Runs the fused δ GEMM with the activation's derivative operator from <see cref="ActivationTable{T}"/>.</summary>
    private readonly ref struct DeltaVisitor<T>(Span<T> delta, ReadOnlySpan<T> nextDelta, ReadOnlySpan<T> nextWeights,
        ReadOnlySpan<T> operand, DeltaShape shape) : IActivationVisitor<T>
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        private readonly Span<T> delta = delta;
        private readonly ReadOnlySpan<T> nextDelta = nextDelta, nextWeights = nextWeights, operand = operand;

        public void Visit<TForward, TDerivative>(TForward forward, TDerivative derivative)
            where TForward : struct, IBinaryOperator<T> where TDerivative : struct, IBinaryOperator<T>
            => DeltaFused(derivative, delta, nextDelta, nextWeights, operand, shape);
    }

    private readonly record struct DeltaShape(int Batch, int Units, int NextUnits);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DeltaFused<T, TDerivative>(TDerivative derivative, Span<T> delta, ReadOnlySpan<T> nextDelta,
        ReadOnlySpan<T> nextWeights, ReadOnlySpan<T> activations, DeltaShape shape)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TDerivative : struct, IBinaryOperator<T>
    {
        (int batch, int units, int nextUnits) = shape;
        fixed (T* pActivations = &MemoryMarshal.GetReference(activations))
        {
            var epilogue = new DerivativeEpilogue<T, TDerivative>(pActivations, units, derivative);
            Gemm.RunChecked(Transpose.No, Transpose.No, batch, units, nextUnits, T.One, nextDelta, nextUnits,
                nextWeights, units, T.Zero, delta, units, in epilogue);
        }
    }

    /// <summary>The Hadamard δ step unfused, for comparison: GEMM, then a pass multiplying by g'(A).</summary>
    internal static void HiddenDeltaUnfused<T>(Span<T> delta, ReadOnlySpan<T> nextDelta, ReadOnlySpan<T> nextWeights,
        ReadOnlySpan<T> activations, int batch, int units, int nextUnits, Activation activation)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var none = new NoEpilogue<T>();
        Gemm.RunChecked(Transpose.No, Transpose.No, batch, units, nextUnits, T.One, nextDelta, nextUnits,
            nextWeights, units, T.Zero, delta, units, in none);
        ActivationKernels<T>.MultiplyByDerivative(activation, delta, activations);
    }

    /// <summary>Weight gradient <c>∂C/∂W = Δᵀ·X</c> (units×inputs) from Δ (batch×units) and the layer input X (batch×inputs).</summary>
    public static void WeightGradient<T>(Span<T> weightGradient, ReadOnlySpan<T> delta, ReadOnlySpan<T> input,
        int batch, int inputs, int units)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(inputs, nameof(inputs));
        Guard.Positive(units, nameof(units));
        Guard.Length(weightGradient, (long)units * inputs, nameof(weightGradient), $"units×inputs = {units}×{inputs}");
        Guard.Length(delta, (long)batch * units, nameof(delta), $"batch×units = {batch}×{units}");
        Guard.Length(input, (long)batch * inputs, nameof(input), $"batch×inputs = {batch}×{inputs}");
        WeightGradientUnchecked(weightGradient, delta, input, batch, inputs, units);
    }

    internal static void WeightGradientUnchecked<T>(Span<T> weightGradient, ReadOnlySpan<T> delta, ReadOnlySpan<T> input,
        int batch, int inputs, int units)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var none = new NoEpilogue<T>();
        Gemm.RunChecked(Transpose.Yes, Transpose.No, units, inputs, batch, T.One, delta, units,
            input, inputs, T.Zero, weightGradient, inputs, in none);
    }

    /// <summary>Bias gradient <c>∂C/∂b = Σ_i Δ[i]</c>, the column sums of Δ (batch×units), summed in row order.</summary>
    public static void BiasGradient<T>(Span<T> biasGradient, ReadOnlySpan<T> delta, int batch, int units)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(units, nameof(units));
        Guard.Length(biasGradient, units, nameof(biasGradient), $"units = {units}");
        Guard.Length(delta, (long)batch * units, nameof(delta), $"batch×units = {batch}×{units}");
        BiasGradientUnchecked(biasGradient, delta, batch, units);
    }

    internal static void BiasGradientUnchecked<T>(Span<T> biasGradient, ReadOnlySpan<T> delta, int batch, int units)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Elementwise<T>.SumRows(delta, batch, biasGradient[..units]);

    /// <summary>
    /// The output layer's error <c>Δ_L = ∂C/∂Z_L</c> and the loss, for targets given as values
    /// (one-hot rows for softmax cross-entropy, 0/1 for binary cross-entropy, anything for squared error).
    /// <paramref name="logits"/> is Z_L and <paramref name="outputs"/> is g(Z_L), both batch×units.
    /// </summary>
    public static T OutputDelta<T>(Span<T> delta, ReadOnlySpan<T> logits, ReadOnlySpan<T> outputs,
        ReadOnlySpan<T> targets, int batch, int units, Activation activation, Loss loss)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateOutputDelta(delta, logits, outputs, batch, units, activation, loss);
        Guard.Length(targets, (long)batch * units, nameof(targets), $"batch×units = {batch}×{units}");
        LossRules.ValidateTargets(targets, batch, units, loss);
        return OutputDeltaUnchecked(delta, logits, outputs, targets, batch, units, activation, loss);
    }

    /// <summary>The output error and loss for softmax cross-entropy with one class index per sample.</summary>
    public static T OutputDelta<T>(Span<T> delta, ReadOnlySpan<T> logits, ReadOnlySpan<T> outputs,
        ReadOnlySpan<int> classIndices, int batch, int units, Activation activation, Loss loss)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ValidateOutputDelta(delta, logits, outputs, batch, units, activation, loss);
        if (loss.Kind != LossKind.SoftmaxCrossEntropy)
            throw new ArgumentException($"Class indices need softmax cross-entropy, not {loss.Kind}.", nameof(loss));
        LossRules.ValidateClassIndices(classIndices, batch, units);
        return OutputDeltaUnchecked(delta, logits, outputs, classIndices, batch, units, loss);
    }

    internal static T OutputDeltaUnchecked<T>(Span<T> delta, ReadOnlySpan<T> logits, ReadOnlySpan<T> outputs,
        ReadOnlySpan<T> targets, int batch, int units, Activation activation, Loss loss)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double scale = Scale(loss, batch);
        int count = batch * units;
        double value = loss.Kind switch
        {
            LossKind.SquaredError => LossKernels<T>.SquaredError(delta, outputs, targets, activation, count, scale),
            LossKind.BinaryCrossEntropy => LossKernels<T>.BinaryCrossEntropy(delta, logits, outputs, targets, count, scale),
            _ => LossKernels<T>.SoftmaxCrossEntropy(delta, logits, outputs, targets, batch, units, scale),
        };
        return T.CreateChecked(value);
    }

    internal static T OutputDeltaUnchecked<T>(Span<T> delta, ReadOnlySpan<T> logits, ReadOnlySpan<T> outputs,
        ReadOnlySpan<int> classIndices, int batch, int units, Loss loss)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => T.CreateChecked(LossKernels<T>.SoftmaxCrossEntropy(delta, logits, outputs, classIndices, batch, units, Scale(loss, batch)));

    private static double Scale(Loss loss, int batch) => loss.Reduction == Reduction.Mean ? 1.0 / batch : 1.0;

    private static void ValidateOutputDelta<T>(Span<T> delta, ReadOnlySpan<T> logits, ReadOnlySpan<T> outputs,
        int batch, int units, Activation activation, Loss loss)
    {
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(units, nameof(units));
        LossRules.ValidatePairing(activation, loss);
        Guard.Length(delta, (long)batch * units, nameof(delta), $"batch×units = {batch}×{units}");
        Guard.Length(logits, (long)batch * units, nameof(logits), $"batch×units = {batch}×{units}");
        Guard.Length(outputs, (long)batch * units, nameof(outputs), $"batch×units = {batch}×{units}");
    }
}
