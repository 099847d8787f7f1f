namespace FastBackprop;

/// <summary>
/// A learning rate per epoch (0-based), for <see cref="Trainer{T}"/> or for a hand-written loop calling
/// <see cref="Optimizer.Step{T}(Span{T}, ReadOnlySpan{T}, double)"/>. Schedules are immutable.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The learning rate for epoch <paramref name="epoch"/> (0-based, ≥ 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public double RateAt(int epoch)
    {
        Guard.NonNegative(epoch, nameof(epoch));
        return ComputeRate(epoch);
    }

    /// <summary>The rate for a validated epoch (≥ 0).</summary>
    protected abstract double ComputeRate(int epoch);

    /// <summary>The same rate η every epoch.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is not positive and finite.</exception>
    public static ConstantSchedule Constant(double rate) => new(rate);

    /// <summary>η·γ^⌊epoch / k⌋: the rate is multiplied by <paramref name="factor"/> every <paramref name="everyEpochs"/> epochs
    /// (PyTorch's <c>StepLR</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static StepDecaySchedule StepDecay(double initialRate, double factor, int everyEpochs) => new(initialRate, factor, everyEpochs);

    /// <summary>Cosine annealing from <paramref name="maxRate"/> to <paramref name="minRate"/> over
    /// <paramref name="totalEpochs"/> epochs (PyTorch's <c>CosineAnnealingLR</c> without restarts).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static CosineSchedule Cosine(double maxRate, int totalEpochs, double minRate = 0) => new(maxRate, totalEpochs, minRate);

    /// <summary>This schedule after <paramref name="warmupEpochs"/> epochs of linear warm-up (see <see cref="WarmupSchedule"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="warmupEpochs"/> is not positive.</exception>
    public WarmupSchedule WithLinearWarmup(int warmupEpochs) => new(this, warmupEpochs);
}

/// <summary>The same learning rate every epoch.</summary>
public sealed class ConstantSchedule : LearningRateSchedule
{
    /// <summary>Rate <paramref name="rate"/> (positive, finite) at every epoch.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rate"/> is not positive and finite.</exception>
    public ConstantSchedule(double rate)
    {
        Guard.PositiveFinite(rate, nameof(rate));
        Rate = rate;
    }

    /// <summary>The learning rate.</summary>
    public double Rate { get; }

    /// <inheritdoc/>
    protected override double ComputeRate(int epoch) => Rate;

    /// <inheritdoc/>
    public override string ToString() => $"constant {Rate}";
}

/// <summary>Step decay: <c>η·γ^⌊epoch / k⌋</c>.</summary>
public sealed class StepDecaySchedule : LearningRateSchedule
{
    /// <summary>Starts at <paramref name="initialRate"/> η (positive, finite) and multiplies by <paramref name="factor"/>
    /// γ ∈ (0, 1] every <paramref name="everyEpochs"/> k ≥ 1 epochs.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public StepDecaySchedule(double initialRate, double factor, int everyEpochs)
    {
        Guard.PositiveFinite(initialRate, nameof(initialRate));
        if (!(factor > 0 && factor <= 1))
            throw new ArgumentOutOfRangeException(nameof(factor), factor, $"factor must be in (0, 1] (got {factor}).");
        Guard.Positive(everyEpochs, nameof(everyEpochs));
        InitialRate = initialRate;
        Factor = factor;
        EveryEpochs = everyEpochs;
    }

    /// <summary>η, the rate of the first k epochs.</summary>
    public double InitialRate { get; }

    /// <summary>γ, the multiplier applied every k epochs.</summary>
    public double Factor { get; }

    /// <summary>k, epochs between decays.</summary>
    public int EveryEpochs { get; }

    /// <inheritdoc/>
    protected override double ComputeRate(int epoch) => InitialRate * Math.Pow(Factor, epoch / EveryEpochs);

    /// <inheritdoc/>
    public override string ToString() => $"step decay {InitialRate} × {Factor} every {EveryEpochs} epochs";
}

/// <summary>
/// Cosine annealing: <c>η_min + ½(η_max − η_min)(1 + cos(π·epoch/T))</c> for epoch &lt; T, and η_min from epoch T on.
/// Epoch 0 gets η_max; every epoch before T gets more than η_min.
/// </summary>
public sealed class CosineSchedule : LearningRateSchedule
{
    /// <summary>From <paramref name="maxRate"/> (positive, finite) down to <paramref name="minRate"/> ∈ [0, maxRate]
    /// over <paramref name="totalEpochs"/> T ≥ 1 epochs.</summary>
    /// <remarks>With η_min = 0 the rate reaches 0 at epoch T, which <see cref="Trainer{T}"/> refuses: train for at most
    /// T epochs, or give a positive η_min.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public CosineSchedule(double maxRate, int totalEpochs, double minRate = 0)
    {
        Guard.PositiveFinite(maxRate, nameof(maxRate));
        Guard.Positive(totalEpochs, nameof(totalEpochs));
        if (!(minRate >= 0 && minRate <= maxRate))
            throw new ArgumentOutOfRangeException(nameof(minRate), minRate, $"minRate must be in [0, maxRate = {maxRate}] (got {minRate}).");
        MaxRate = maxRate;
        TotalEpochs = totalEpochs;
        MinRate = minRate;
    }

    /// <summary>η_max, the rate of epoch 0.</summary>
    public double MaxRate { get; }

    /// <summary>T, the epochs over which the rate falls to η_min.</summary>
    public int TotalEpochs { get; }

    /// <summary>η_min, the rate from epoch T on.</summary>
    public double MinRate { get; }

    /// <inheritdoc/>
    protected override double ComputeRate(int epoch)
    {
        int e = Math.Min(epoch, TotalEpochs);
        return MinRate + 0.5 * (MaxRate - MinRate) * (1 + Math.Cos(Math.PI * e / TotalEpochs));
    }

    /// <inheritdoc/>
    public override string ToString() => $"cosine {MaxRate} → {MinRate} over {TotalEpochs} epochs";
}

/// <summary>
/// Linear warm-up before another schedule: for the first W epochs the rate climbs in equal steps towards the inner
/// schedule's first rate, <c>inner(0)·(epoch + 1)/(W + 1)</c> (never 0); from epoch W on it is
/// <c>inner(epoch − W)</c>, so the inner schedule starts after the warm-up (a cosine over T epochs then ends at W + T).
/// </summary>
public sealed class WarmupSchedule : LearningRateSchedule
{
    /// <summary>Warms up for <paramref name="warmupEpochs"/> W ≥ 1 epochs, then follows <paramref name="inner"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="inner"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="warmupEpochs"/> is not positive.</exception>
    public WarmupSchedule(LearningRateSchedule inner, int warmupEpochs)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Guard.Positive(warmupEpochs, nameof(warmupEpochs));
        Inner = inner;
        WarmupEpochs = warmupEpochs;
    }

    /// <summary>The schedule that follows the warm-up.</summary>
    public LearningRateSchedule Inner { get; }

    /// <summary>W, the warm-up epochs.</summary>
    public int WarmupEpochs { get; }

    /// <inheritdoc/>
    protected override double ComputeRate(int epoch)
        => epoch < WarmupEpochs
            ? Inner.RateAt(0) * (epoch + 1) / (WarmupEpochs + 1)
            : Inner.RateAt(epoch - WarmupEpochs);

    /// <inheritdoc/>
    public override string ToString() => $"{WarmupEpochs} warm-up epochs, then {Inner}";
}
