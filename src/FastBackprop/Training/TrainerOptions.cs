namespace FastBackprop;

/// <summary>
/// Settings for <see cref="Trainer{T}"/> (a record: derive variants with <c>with</c>). Each property is checked when it is set (the exception names the property
/// and the value). The defaults: 10 epochs of batch 32, seed 0, shuffled, Adam at a constant 0.001, the loss chosen
/// from the network, no early stopping.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Epochs to train (positive; fewer when early stopping triggers).</summary>
    public int Epochs
    {
        get;
        init
        {
            Guard.Positive(value, nameof(Epochs));
            field = value;
        }
    } = 10;

    /// <summary>Samples per mini-batch (positive). A data set smaller than this trains in one batch; when the batch size
    /// does not divide the data set, the last batch of every epoch is the smaller remainder, and it is trained too.</summary>
    public int BatchSize
    {
        get;
        init
        {
            Guard.Positive(value, nameof(BatchSize));
            field = value;
        }
    } = 32;

    /// <summary>Seeds the shuffling (<c>new Random(Seed)</c>, a Fisher–Yates shuffle of the sample order each epoch): the
    /// same seed, network and data give bit-identical weights. The network's initial weights come from its own seed.</summary>
    public int Seed { get; init; }

    /// <summary>The loss, or null to choose it from the network's output layer: softmax cross-entropy for a softmax
    /// output, binary cross-entropy for a sigmoid output on a classification set, mean squared error otherwise.</summary>
    public Loss? Loss { get; init; }

    /// <summary>The optimizer. <see cref="Trainer{T}.Fit"/> resets it at the start, so its state is that run's; do not
    /// share one instance between trainings that run at the same time. Default: <see cref="Adam"/> with PyTorch's defaults.</summary>
    public Optimizer Optimizer
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value, nameof(Optimizer));
            field = value;
        }
    } = new Adam();

    /// <summary>The learning rate per epoch. Default: a constant 0.001.</summary>
    public LearningRateSchedule Schedule
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value, nameof(Schedule));
            field = value;
        }
    } = new ConstantSchedule(0.001);

    /// <summary>Whether each epoch visits the samples in a new random order (default true); otherwise in data-set order.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Early stopping: stop after this many consecutive epochs (≥ 1) whose validation loss does not improve on the
    /// best so far by more than <see cref="MinDelta"/>. Null (the default) trains every epoch. Needs a validation set.</summary>
    public int? EarlyStoppingPatience
    {
        get;
        init
        {
            if (value is int patience)
                Guard.Positive(patience, nameof(EarlyStoppingPatience));
            field = value;
        }
    }

    /// <summary>The least decrease of the validation loss that counts as an improvement (finite, ≥ 0; default 0).</summary>
    public double MinDelta
    {
        get;
        init
        {
            Guard.NonNegativeFinite(value, nameof(MinDelta));
            field = value;
        }
    }

    /// <summary>With early stopping on, put back the parameters of the best epoch when training ends, however it ends
    /// (stopped early, ran out of epochs, or cancelled). Default true. Without early stopping the final parameters are kept.</summary>
    public bool RestoreBestWeights { get; init; } = true;

    /// <summary>The least time between two per-batch progress reports (default 100 ms; zero reports every batch), measured
    /// over the whole run: epochs shorter than the interval still get a per-batch report whenever it has passed. The
    /// first batch of a run is always reported, and every epoch ends with a report carrying its <see cref="EpochMetrics"/>
    /// (those do not count against the interval).</summary>
    public TimeSpan ProgressInterval
    {
        get;
        init
        {
            if (value < TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(ProgressInterval), value, $"ProgressInterval must not be negative (got {value}).");
            field = value;
        }
    } = TimeSpan.FromMilliseconds(100);

    /// <summary>The clock <see cref="ProgressInterval"/> is measured on (tests pass a fake one).</summary>
    internal TimeProvider ProgressClock { get; init; } = TimeProvider.System;

    /// <summary>Whether to measure the training accuracy of classification runs (default true). The outputs come out of
    /// the same forward pass as the gradients (ComputeGradients' outputs argument), so it costs only the copy of the
    /// outputs and the count.</summary>
    public bool TrackTrainingAccuracy { get; init; } = true;
}
