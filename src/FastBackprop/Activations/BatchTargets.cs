using System.Numerics;

namespace FastBackprop;

/// <summary>
/// What a batch is trained or scored against, in either form the public API takes: value rows (batch×outputs: one-hot or
/// probability rows, values in [0, 1], real targets) or one class index per row (softmax cross-entropy only). One type
/// carries either through the network's passes, so the choice between them is made once — here and in the loss head —
/// rather than by a pair of spans at every step.
/// </summary>
internal readonly ref struct BatchTargets<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public BatchTargets(ReadOnlySpan<T> values) => Values = values;

    public BatchTargets(ReadOnlySpan<int> classes)
    {
        Classes = classes;
        AreClasses = true;
    }

    public ReadOnlySpan<T> Values { get; }

    public ReadOnlySpan<int> Classes { get; }

    /// <summary>Class indices rather than value rows.</summary>
    public bool AreClasses { get; }

    /// <summary>The targets' rules for <paramref name="batch"/> rows of <paramref name="outputs"/> under
    /// <paramref name="loss"/> (<see cref="LossRules"/>): value rows of the right length that suit the loss, or class
    /// indices in range with softmax cross-entropy.</summary>
    public void Validate(int batch, int outputs, Loss loss)
    {
        if (AreClasses)
        {
            if (loss.Kind != LossKind.SoftmaxCrossEntropy)
                throw new ArgumentException($"Class indices need softmax cross-entropy, not {loss.Kind}.", nameof(loss));
            LossRules.ValidateClassIndices(Classes, batch, outputs);
            return;
        }
        Guard.Length(Values, (long)batch * outputs, "targets", $"batchSize×OutputSize = {batch}×{outputs}");
        LossRules.ValidateTargets(Values, batch, outputs, loss);
    }
}
