using System.Numerics;

namespace FastBackprop;

/// <summary>
/// What a row of target values must be for a loss: the one rule, asked by the trainer when it checks a whole data set up
/// front and by the kernels when they check a batch, so a set the trainer accepts can never fail half-way through a run.
/// </summary>
internal static class TargetRules
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
}
