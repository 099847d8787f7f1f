using System.Numerics;
using System.Numerics.Tensors;

namespace FastBackprop;

/// <summary>
/// Per-feature standardisation <c>x' = (x − mean)·scale</c> with <c>scale = 1/std</c>, fitted on training data
/// only and then applied unchanged to validation, test and prediction inputs. The standard deviation is the
/// population one (divide by n, as scikit-learn's StandardScaler); sums are accumulated in double. A feature that
/// is constant in the training data (or whose 1/std does not fit <typeparamref name="T"/>) gets scale 1, so it maps to 0.
/// </summary>
public sealed class Standardizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[] mean;
    private readonly T[] negatedMean;
    private readonly T[] scale;

    /// <summary>A standardiser from saved statistics (e.g. read from a model file). The arrays are copied.</summary>
    /// <param name="mean">Per-feature mean (finite).</param>
    /// <param name="scale">Per-feature multiplier 1/std (finite and positive), as many as <paramref name="mean"/>.</param>
    /// <exception cref="ArgumentException">The arrays are empty, differ in length, or hold a value outside those ranges.</exception>
    public Standardizer(T[] mean, T[] scale)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(scale);
        if (mean.Length == 0)
            throw new ArgumentException("mean is empty; a standardiser needs at least one feature.", nameof(mean));
        if (scale.Length != mean.Length)
            throw new ArgumentException($"scale has {scale.Length} values but mean has {mean.Length}.", nameof(scale));
        Guard.Finite<T>(mean, nameof(mean));
        for (int i = 0; i < scale.Length; i++)
        {
            if (!(scale[i] > T.Zero) || !T.IsFinite(scale[i]))
                throw new ArgumentOutOfRangeException(nameof(scale), scale[i], $"scale[{i}] = {scale[i]} must be positive and finite.");
        }
        this.mean = (T[])mean.Clone();
        this.scale = (T[])scale.Clone();
        negatedMean = new T[mean.Length];
        TensorPrimitives.Negate<T>(this.mean, negatedMean);
    }

    /// <summary>Number of features it standardises.</summary>
    public int FeatureCount => mean.Length;

    /// <summary>Per-feature mean of the training data.</summary>
    public ReadOnlySpan<T> Mean => mean;

    /// <summary>Per-feature multiplier, 1/std of the training data (1 for a constant feature).</summary>
    public ReadOnlySpan<T> Scale => scale;

    /// <summary>Fits mean and scale to <paramref name="features"/> (rows of <paramref name="featureCount"/> values, finite).</summary>
    /// <exception cref="ArgumentException">featureCount is not positive, the data are empty, not whole rows, or not finite.</exception>
    public static Standardizer<T> Fit(ReadOnlySpan<T> features, int featureCount)
    {
        Guard.Positive(featureCount, nameof(featureCount));
        if (features.IsEmpty)
            throw new ArgumentException("features is empty; fitting needs at least one row.", nameof(features));
        if (features.Length % featureCount != 0)
            throw new ArgumentException($"features has {features.Length} values, not a multiple of featureCount = {featureCount}.", nameof(features));
        Guard.Finite(features, nameof(features));
        int rows = features.Length / featureCount;

        var sum = new double[featureCount];
        var row = new double[featureCount];
        var min = new T[featureCount];
        var max = new T[featureCount];
        features[..featureCount].CopyTo(min);
        features[..featureCount].CopyTo(max);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> x = features.Slice(r * featureCount, featureCount);
            ToDouble(x, row);
            TensorPrimitives.Add(sum, row, sum);
            TensorPrimitives.Min(x, min, min);
            TensorPrimitives.Max(x, max, max);
        }
        var meanD = new double[featureCount];
        TensorPrimitives.Divide(sum, rows, meanD);

        // Second pass over the centred values: no cancellation, unlike Σx² − n·mean².
        var squares = sum;
        squares.AsSpan().Clear();
        for (int r = 0; r < rows; r++)
        {
            ToDouble(features.Slice(r * featureCount, featureCount), row);
            TensorPrimitives.Subtract(row, meanD, row);
            TensorPrimitives.MultiplyAdd(row, row, squares, squares);
        }

        var mean = new T[featureCount];
        var scale = new T[featureCount];
        for (int j = 0; j < featureCount; j++)
        {
            mean[j] = T.CreateChecked(meanD[j]);
            double std = Math.Sqrt(squares[j] / rows);
            T s = T.CreateChecked(1.0 / std);
            scale[j] = min[j] == max[j] || !(std > 0) || !T.IsFinite(s) || !(s > T.Zero) ? T.One : s;
        }
        return new Standardizer<T>(mean, scale);
    }

    /// <summary>Fits mean and scale to the features of <paramref name="training"/> (never fit on validation or test data).</summary>
    public static Standardizer<T> Fit(Dataset<T> training)
    {
        ArgumentNullException.ThrowIfNull(training);
        return Fit(training.Features, training.FeatureCount);
    }

    /// <summary>Standardises rows of <see cref="FeatureCount"/> features in place (any number of rows, including
    /// none); vectorised, allocates nothing.</summary>
    /// <exception cref="ArgumentException">The length is not a whole number of rows.</exception>
    public void Transform(Span<T> features)
    {
        int n = mean.Length;
        if (features.Length % n != 0)
            throw new ArgumentException($"features has {features.Length} values, not a multiple of FeatureCount = {n}.", nameof(features));
        for (int offset = 0; offset < features.Length; offset += n)
        {
            Span<T> x = features.Slice(offset, n);
            // (x + (−mean))·scale is bit-identical to (x − mean)·scale.
            TensorPrimitives.AddMultiply<T>(x, negatedMean, scale, x);
        }
    }

    /// <summary>Undoes <see cref="Transform(Span{T})"/> in place, <c>x = x'/scale + mean</c>, on rows of
    /// <see cref="FeatureCount"/> values (any number of rows): how a model trained on standardised targets returns its
    /// predictions in the targets' own units. Allocates nothing.</summary>
    /// <exception cref="ArgumentException">The length is not a whole number of rows.</exception>
    public void InverseTransform(Span<T> values)
    {
        int n = mean.Length;
        if (values.Length % n != 0)
            throw new ArgumentException($"values has {values.Length} values, not a multiple of FeatureCount = {n}.", nameof(values));
        for (int offset = 0; offset < values.Length; offset += n)
        {
            Span<T> x = values.Slice(offset, n);
            TensorPrimitives.Divide<T>(x, scale, x);
            TensorPrimitives.Add<T>(x, mean, x);
        }
    }

    /// <summary>A copy of a regression data set <paramref name="data"/> whose targets are standardised (features
    /// copied as they are); fit such a standardiser with <see cref="FitTargets"/>.</summary>
    /// <exception cref="ArgumentException">The data set holds classes, or a different number of target values.</exception>
    public Dataset<T> TransformTargets(Dataset<T> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Targets is not T[] targets)
            throw new ArgumentException("data holds class indices; only real-valued targets are standardised.", nameof(data));
        if (data.OutputCount != FeatureCount)
            throw new ArgumentException($"data has {data.OutputCount} target values per sample but the standardiser was fitted on {FeatureCount}.", nameof(data));
        var y = (T[])targets.Clone();
        Transform(y);
        return new Dataset<T>((T[])data.Features.Clone(), data.FeatureCount, y, data.OutputCount);
    }

    /// <summary>Fits mean and scale to the targets of a regression data set (training part only). A constant target
    /// gets scale 1, so no division by zero.</summary>
    /// <exception cref="ArgumentException">The data set holds classes.</exception>
    public static Standardizer<T> FitTargets(Dataset<T> training)
    {
        ArgumentNullException.ThrowIfNull(training);
        if (training.Targets is not T[] targets)
            throw new ArgumentException("training holds class indices; only real-valued targets are standardised.", nameof(training));
        return Fit(targets, training.OutputCount);
    }

    /// <summary>A standardised copy of <paramref name="data"/>: features transformed, class indices or targets and the
    /// feature names copied.</summary>
    /// <exception cref="ArgumentException">The data set has a different number of features.</exception>
    /// <exception cref="StandardizationOverflowException">A finite feature standardises to ±∞ (it names the row and feature).</exception>
    public Dataset<T> Transform(Dataset<T> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.FeatureCount != FeatureCount)
            throw new ArgumentException($"data has {data.FeatureCount} features but the standardiser was fitted on {FeatureCount}.", nameof(data));
        var x = (T[])data.Features.Clone();
        Transform(x);
        StandardizationOverflowException.ThrowIfAny<T>(data.Features, x, FeatureCount, nameof(data));
        return data.ClassIndices is int[] classes
            ? new Dataset<T>(x, data.FeatureCount, (int[])classes.Clone(), data.OutputCount, data.ClassLabels) { FeatureNames = data.FeatureNames }
            : new Dataset<T>(x, data.FeatureCount, (T[])data.Targets!.Clone(), data.OutputCount) { FeatureNames = data.FeatureNames };
    }

    private static void ToDouble(ReadOnlySpan<T> source, Span<double> destination)
    {
        if (typeof(T) == typeof(double))
            System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(source).CopyTo(destination);
        else
            TensorPrimitives.ConvertTruncating<T, double>(source, destination);
    }
}
