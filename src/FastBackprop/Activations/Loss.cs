namespace FastBackprop;

/// <summary>The losses of MATH.md.</summary>
public enum LossKind
{
    /// <summary>½‖a − y‖² per sample; any trainable output activation except softmax.</summary>
    SquaredError,
    /// <summary>−[y log a + (1−y) log(1−a)], computed from the logits; sigmoid output only, targets in [0, 1].</summary>
    BinaryCrossEntropy,
    /// <summary>−Σ y log softmax(z), computed from the logits; softmax output only, one-hot rows or class indices.</summary>
    SoftmaxCrossEntropy,
}

/// <summary>How per-sample losses combine over a batch of n.</summary>
public enum Reduction
{
    /// <summary>Divide the sum by n (the default).</summary>
    Mean,
    /// <summary>The plain sum.</summary>
    Sum,
}

/// <summary>A loss function with its batch reduction.</summary>
/// <param name="Kind">Which loss.</param>
/// <param name="Reduction">Mean (default) or sum over the batch.</param>
public readonly record struct Loss(LossKind Kind, Reduction Reduction = Reduction.Mean)
{
    /// <summary>C = (1/2n) Σ ‖a − y‖².</summary>
    public static Loss MeanSquaredError => new(LossKind.SquaredError, Reduction.Mean);
    /// <summary>C = ½ Σ ‖a − y‖².</summary>
    public static Loss SumSquaredError => new(LossKind.SquaredError, Reduction.Sum);
    /// <summary>Mean binary cross-entropy (log loss).</summary>
    public static Loss BinaryCrossEntropy => new(LossKind.BinaryCrossEntropy, Reduction.Mean);
    /// <summary>Mean softmax cross-entropy.</summary>
    public static Loss SoftmaxCrossEntropy => new(LossKind.SoftmaxCrossEntropy, Reduction.Mean);
}
