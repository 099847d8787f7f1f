using System.Globalization;
using System.Numerics;

namespace FastBackprop;

/// <summary>
/// A finite feature value that a model's standardisation turns into ±∞: <c>(x − mean) · scale</c> overflows when the
/// value lies near float's limits and far outside the data the model was trained on, so no prediction exists for the
/// row. <see cref="Model{T}.Predict"/> and <see cref="Model{T}.PredictClasses"/> throw it before running the network.
/// </summary>
public sealed class StandardizationOverflowException : ArgumentException
{
    /// <summary>Describes the first feature value of a batch that standardises to ±∞.</summary>
    /// <param name="row">The row of the batch (0-based).</param>
    /// <param name="feature">The feature within the row (0-based).</param>
    /// <param name="value">The raw value.</param>
    /// <param name="paramName">The argument that held the value.</param>
    public StandardizationOverflowException(int row, int feature, double value, string? paramName)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"Row {row} of the batch, feature {feature}: {value:R} is too far outside the training data for the model's standardisation (standardised, it overflows to ±∞)."), paramName)
    {
        Row = row;
        Feature = feature;
        Value = value;
    }

    /// <summary>The first row of the batch (0-based) holding such a value.</summary>
    public int Row { get; }

    /// <summary>The feature of that row (0-based).</summary>
    public int Feature { get; }

    /// <summary>The raw (finite) value.</summary>
    public double Value { get; }

    /// <summary>Throws for the first value of <paramref name="standardized"/> (rows of <paramref name="featureCount"/>)
    /// that is not finite, reporting the raw value from <paramref name="raw"/>, if any.</summary>
    internal static void ThrowIfAny<T>(ReadOnlySpan<T> raw, ReadOnlySpan<T> standardized, int featureCount, string paramName)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int index = Guard.FirstNonFinite(standardized);
        if (index >= 0)
            throw new StandardizationOverflowException(index / featureCount, index % featureCount, double.CreateTruncating(raw[index]), paramName);
    }
}
