using System.Numerics;

namespace FastBackprop;

/// <summary>
/// Samples for training or evaluation: a row-major <c>Count×FeatureCount</c> feature matrix and either
/// one class index per sample (classification) or a <c>Count×OutputCount</c> matrix of real-valued
/// targets (regression, or per-output probabilities for binary cross-entropy). The arrays are owned by
/// the data set; it never copies them behind the caller's back.
/// </summary>
public sealed class Dataset<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[] features;
    private readonly int[]? classIndices;
    private readonly T[]? targets;

    /// <summary>A classification set: <paramref name="classIndices"/>[i] ∈ [0, classCount) labels row i.</summary>
    /// <param name="features">Count×featureCount, row-major, finite.</param>
    /// <param name="featureCount">Features per sample (positive).</param>
    /// <param name="classIndices">One class per sample.</param>
    /// <param name="classCount">Number of classes (at least 2).</param>
    /// <param name="classLabels">Optional names of the classes, classCount of them.</param>
    public Dataset(T[] features, int featureCount, int[] classIndices, int classCount, IReadOnlyList<string>? classLabels = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(classIndices);
        Count = CheckFeatures(features, featureCount);
        if (classCount < 2)
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, $"A classification set needs at least 2 classes (got {classCount}).");
        if (classIndices.Length != Count)
            throw new ArgumentException($"classIndices has {classIndices.Length} entries but there are {Count} samples.", nameof(classIndices));
        for (int i = 0; i < classIndices.Length; i++)
        {
            if ((uint)classIndices[i] >= (uint)classCount)
                throw new ArgumentOutOfRangeException(nameof(classIndices), classIndices[i], $"classIndices[{i}] = {classIndices[i]} is outside [0, {classCount}).");
        }
        if (classLabels is not null && classLabels.Count != classCount)
            throw new ArgumentException($"classLabels has {classLabels.Count} names for {classCount} classes.", nameof(classLabels));
        this.features = features;
        FeatureCount = featureCount;
        this.classIndices = classIndices;
        OutputCount = classCount;
        ClassLabels = classLabels;
    }

    /// <summary>A set with real-valued targets: row i of <paramref name="targets"/> (targetCount values) belongs to sample i.</summary>
    public Dataset(T[] features, int featureCount, T[] targets, int targetCount)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        Count = CheckFeatures(features, featureCount);
        Guard.Positive(targetCount, nameof(targetCount));
        if (targets.Length != (long)Count * targetCount)
            throw new ArgumentException($"targets has {targets.Length} values; {Count} samples × {targetCount} targets need {(long)Count * targetCount}.", nameof(targets));
        Guard.Finite<T>(targets, nameof(targets));
        this.features = features;
        FeatureCount = featureCount;
        this.targets = targets;
        OutputCount = targetCount;
    }

    /// <summary>Number of samples.</summary>
    public int Count { get; }

    /// <summary>Features per sample.</summary>
    public int FeatureCount { get; }

    /// <summary>Classes (classification) or target values per sample (regression).</summary>
    public int OutputCount { get; }

    /// <summary>True when samples are labelled by class index.</summary>
    public bool IsClassification => classIndices is not null;

    /// <summary>Names of the feature columns when known (a CSV file's header, without the target column): FeatureCount
    /// names, kept by <see cref="Subset"/> and <see cref="Split"/>; null otherwise.</summary>
    /// <exception cref="ArgumentException">Set to a list whose count is not FeatureCount or that holds a null.</exception>
    public IReadOnlyList<string>? FeatureNames
    {
        get => featureNames;
        init
        {
            if (value is not null && (value.Count != FeatureCount || value.Any(n => n is null)))
                throw new ArgumentException($"FeatureNames needs {FeatureCount} names, not null, one per feature (got {value.Count}).", nameof(value));
            featureNames = value?.ToArray();
        }
    }

    private readonly string[]? featureNames;

    /// <summary>Names of the classes, when known (classification only): the name of class index c is
    /// <c>ClassLabels[c]</c>. The per-sample labels are <see cref="ClassIndices"/>.</summary>
    public IReadOnlyList<string>? ClassLabels { get; }

    /// <summary>All features, Count×FeatureCount row-major.</summary>
    public T[] Features => features;

    /// <summary>The labels: one class index per sample, in [0, <see cref="OutputCount"/>) (what other libraries call
    /// <c>y</c> or <c>labels</c>; the class's name, when known, is <see cref="ClassLabels"/>[index]), or null for a
    /// regression set, whose labels are <see cref="Targets"/>.</summary>
    public int[]? ClassIndices => classIndices;

    /// <summary>Count×OutputCount targets, or null for a classification set.</summary>
    public T[]? Targets => targets;

    /// <summary>Features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<T> Row(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {Count}).");
        return features.AsSpan(index * FeatureCount, FeatureCount);
    }

    /// <summary>A new data set holding copies of the samples at <paramref name="indices"/>, in that order.</summary>
    public Dataset<T> Subset(ReadOnlySpan<int> indices)
    {
        var x = new T[checked(indices.Length * FeatureCount)];
        for (int i = 0; i < indices.Length; i++)
            Row(indices[i]).CopyTo(x.AsSpan(i * FeatureCount, FeatureCount));
        if (classIndices is not null)
        {
            var y = new int[indices.Length];
            for (int i = 0; i < indices.Length; i++)
                y[i] = classIndices[indices[i]];
            return new Dataset<T>(x, FeatureCount, y, OutputCount, ClassLabels) { FeatureNames = FeatureNames };
        }
        var t = new T[checked(indices.Length * OutputCount)];
        for (int i = 0; i < indices.Length; i++)
            targets.AsSpan(indices[i] * OutputCount, OutputCount).CopyTo(t.AsSpan(i * OutputCount, OutputCount));
        return new Dataset<T>(x, FeatureCount, t, OutputCount) { FeatureNames = FeatureNames };
    }

    /// <summary>Splits the samples at random (reproducibly from <paramref name="seed"/>) into a training part and
    /// a validation part holding <paramref name="validationFraction"/> of them (at least one sample each).</summary>
    public (Dataset<T> Training, Dataset<T> Validation) Split(double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "validationFraction must be in (0, 1).");
        if (Count < 2)
            throw new InvalidOperationException($"A data set of {Count} sample(s) cannot be split.");
        int validation = Math.Clamp((int)Math.Round(Count * validationFraction), 1, Count - 1);
        int[] order = new int[Count];
        for (int i = 0; i < order.Length; i++)
            order[i] = i;
        new Random(seed).Shuffle(order);
        return (Subset(order.AsSpan(validation)), Subset(order.AsSpan(0, validation)));
    }

    private static int CheckFeatures(T[] features, int featureCount)
    {
        Guard.Positive(featureCount, nameof(featureCount));
        if (features.Length == 0)
            throw new ArgumentException("A data set needs at least one sample (features is empty).", nameof(features));
        if (features.Length % featureCount != 0)
            throw new ArgumentException($"features has {features.Length} values, not a multiple of featureCount = {featureCount}.", nameof(features));
        Guard.Finite<T>(features, nameof(features));
        return features.Length / featureCount;
    }
}
