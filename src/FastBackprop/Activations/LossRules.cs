using System.Runtime.CompilerServices;
using System.Numerics;

namespace FastBackprop;

/// <summary>
/// What a loss needs, stated once: the output layer it pairs with, and the targets it accepts. The trainer asks when it
/// checks a whole data set up front, the network and the kernels when they check a batch, the model file when it reads a
/// loss, so a set the trainer accepts can never fail half-way through a run.
/// </summary>
internal static class LossRules
{
    /// <summary>Whether a target value fits a cross-entropy loss: within [0, 1] (NaN does not).</summary>
    public static bool InUnitInterval<T>(T value) where T : IBinaryFloatingPointIeee754<T>
        => value >= T.Zero && value <= T.One;

    /// <summary>
    /// Whether a row of softmax cross-entropy targets sums to 1 within the rounding of storing it and summing it. The fused
    /// gradient p − t is the loss's derivative only when the row sums to exactly 1, so allow one unit roundoff per stored
    /// value and one per addition: |sum − 1| ≤ (2·units + 1)·u, u the unit roundoff of <typeparamref name="T"/>.
    /// </summary>
    /// <param name="row">One sample's targets.</param>
    /// <param name="sum">The row's sum, in double.</param>
    /// <param name="tolerance">The largest |sum − 1| accepted for a row of this length.</param>
    public static bool IsDistribution<T>(ReadOnlySpan<T> row, out double sum, out double tolerance)
        where T : IBinaryFloatingPointIeee754<T>
    {
        double unitRoundoff = double.CreateChecked(T.BitIncrement(T.One) - T.One) / 2;
        tolerance = (2.0 * row.Length + 1) * unitRoundoff;
        sum = 0;
        foreach (T t in row)
            sum += double.CreateChecked(t);
        return Math.Abs(sum - 1) <= tolerance;
    }

    /// <summary>Throws unless <paramref name="loss"/> may be used with an output layer of <paramref name="activation"/>.</summary>
    internal static void ValidatePairing(Activation activation, Loss loss)
    {
        if (loss.Reduction is not (Reduction.Mean or Reduction.Sum))
            throw new ArgumentOutOfRangeException(nameof(loss), loss, $"Unknown reduction {(int)loss.Reduction}.");
        RequireTrainable(activation, nameof(activation));
        bool ok = loss.Kind switch
        {
            LossKind.SquaredError => activation.Kind != ActivationKind.Softmax,
            LossKind.BinaryCrossEntropy => activation.Kind == ActivationKind.Sigmoid,
            LossKind.SoftmaxCrossEntropy => activation.Kind == ActivationKind.Softmax,
            _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, $"Unknown loss kind {(int)loss.Kind}."),
        };
        if (!ok)
            throw new ArgumentException(loss.Kind switch
            {
                LossKind.SquaredError => "Squared error cannot train a softmax output; use softmax cross-entropy.",
                LossKind.BinaryCrossEntropy => $"Binary cross-entropy needs a sigmoid output layer, not {activation}.",
                _ => $"Softmax cross-entropy needs a softmax output layer, not {activation}.",
            }, nameof(loss));
    }

    internal static void RequireTrainable(Activation activation, string name)
    {
        if (!activation.IsTrainable)
            throw new ArgumentException($"Cannot train through a {activation} activation: its gradient is zero almost everywhere (inference only).", name);
    }

    internal static void ValidateTargets<T>(ReadOnlySpan<T> targets, int batch, int units, Loss loss)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Guard.Finite(targets, nameof(targets));
        if (loss.Kind == LossKind.SquaredError)
            return;
        for (int i = 0; i < targets.Length; i++)
        {
            if (!LossRules.InUnitInterval(targets[i]))
                throw new ArgumentOutOfRangeException(nameof(targets), targets[i],
                    $"{loss.Kind} targets must lie in [0, 1]; targets[{i}] (sample {i / units}, output {i % units}) = {targets[i]}.");
        }
        if (loss.Kind == LossKind.SoftmaxCrossEntropy)
        {
            for (int i = 0; i < batch; i++)
            {
                if (!LossRules.IsDistribution(targets.Slice(i * units, units), out double sum, out double tolerance))
                    throw new ArgumentException(
                        $"Softmax cross-entropy targets must be distributions: row {i} sums to {sum:R}, not 1 (within rounding, |sum − 1| ≤ {tolerance:G3}). The gradient p − t is the loss's derivative only for rows that sum to 1.",
                        nameof(targets));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ValidateClassIndices(ReadOnlySpan<int> classIndices, int batch, int units)
    {
        Guard.Length(classIndices, batch, nameof(classIndices), $"batch = {batch}");
        for (int i = 0; i < classIndices.Length; i++)
        {
            if ((uint)classIndices[i] >= (uint)units)
                throw new ArgumentOutOfRangeException(nameof(classIndices), classIndices[i],
                    $"classIndices[{i}] = {classIndices[i]} is outside [0, {units}).");
        }
    }
}
