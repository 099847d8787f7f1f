using System.Numerics;
using System.Globalization;

namespace FastBackprop;

/// <summary>
/// A prediction gave NaN or ±∞ for finite inputs: the model's weights, each finite, overflow together on that row's
/// features (a model-file check at load time tries typical inputs, but no probe can rule this out for every input).
/// <see cref="Model{T}.Predict"/> and <see cref="Model{T}.PredictClasses"/> throw it after writing every output, so the
/// other rows' results are still there; <see cref="Network{T}.Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/>
/// returns what the arithmetic gives and leaves the check to <see cref="Network{T}.FirstNonFiniteRow"/>.
/// </summary>
public sealed class NonFiniteOutputException : ArithmeticException
{
    /// <summary>Describes the first non-finite value of a batch of predictions.</summary>
    /// <param name="row">The row of the batch (0-based).</param>
    /// <param name="output">The output unit within the row (0-based).</param>
    /// <param name="value">The value: NaN, or ±∞.</param>
    public NonFiniteOutputException(int row, int output, double value)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"The model's output {output} is {value} for row {row} of the batch: its weights, each finite, overflow together on this row's features."))
    {
        Row = row;
        Output = output;
        Value = value;
    }

    /// <summary>The first row of the batch (0-based) with a non-finite output.</summary>
    public int Row { get; }

    /// <summary>The first non-finite output unit of that row (0-based).</summary>
    public int Output { get; }

    /// <summary>Its value: NaN, or ±∞.</summary>
    public double Value { get; }

    /// <summary>Throws for the first non-finite value of <paramref name="outputs"/> (rows of <paramref name="outputSize"/>), if any.</summary>
    internal static void ThrowIfAny<T>(ReadOnlySpan<T> outputs, int outputSize) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int index = Guard.FirstNonFinite(outputs);
        if (index >= 0)
            throw new NonFiniteOutputException(index / outputSize, index % outputSize, double.CreateTruncating(outputs[index]));
    }
}
