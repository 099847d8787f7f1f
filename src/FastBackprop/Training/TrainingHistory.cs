namespace FastBackprop;

/// <summary>What one epoch of <see cref="Trainer{T}.Fit"/> measured.</summary>
public sealed record EpochMetrics
{
    /// <summary>The epoch, 0-based (the first epoch is 0), as <see cref="TrainingProgress.Epoch"/> and
    /// <see cref="TrainingHistory.BestEpoch"/> count. <see cref="EpochNumber"/> counts from 1, as the CLI's table does.</summary>
    public required int Epoch { get; init; }

    /// <summary>The epoch counted from 1 (<see cref="Epoch"/> + 1): the number the command-line program's table and
    /// charts show, for reports meant for people.</summary>
    public int EpochNumber => Epoch + 1;

    /// <summary>The learning rate the schedule gave this epoch.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Mean training loss per sample over the epoch: each batch's loss, taken before that batch's update,
    /// weighted by its size (a running figure, as most frameworks report).</summary>
    public required double TrainingLoss { get; init; }

    /// <summary>Fraction of training samples classified correctly, each by the network as it was before its batch's
    /// update; null for regression, or when <see cref="TrainerOptions.TrackTrainingAccuracy"/> is off.</summary>
    public double? TrainingAccuracy { get; init; }

    /// <summary>Mean validation loss per sample after the epoch; null without a validation set.</summary>
    public double? ValidationLoss { get; init; }

    /// <summary>Fraction of validation samples classified correctly after the epoch; null without a validation set or
    /// for regression.</summary>
    public double? ValidationAccuracy { get; init; }

    /// <summary>Wall time of the epoch, validation included.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>Training samples per second (the training part of the epoch only).</summary>
    public required double SamplesPerSecond { get; init; }

    /// <summary>Mini-batches trained this epoch.</summary>
    public required int Batches { get; init; }

    /// <summary>Per layer (0 = first hidden layer), the L2 norm ‖∂C/∂W_l‖ of the weight gradient, averaged over the
    /// epoch's batches. Much smaller norms in the first layers than in the last show vanishing gradients.</summary>
    public required IReadOnlyList<double> WeightGradientNorms { get; init; }

    /// <summary>Per layer, the L2 norm ‖∂C/∂b_l‖ of the bias gradient, averaged over the epoch's batches.</summary>
    public required IReadOnlyList<double> BiasGradientNorms { get; init; }
}

/// <summary>The record of one <see cref="Trainer{T}.Fit"/> run.</summary>
public sealed class TrainingHistory
{
    internal TrainingHistory(IReadOnlyList<EpochMetrics> epochs, int? bestEpoch, bool stoppedEarly, bool cancelled,
        bool bestWeightsRestored, TimeSpan duration)
    {
        Epochs = epochs;
        BestEpoch = bestEpoch;
        StoppedEarly = stoppedEarly;
        Cancelled = cancelled;
        BestWeightsRestored = bestWeightsRestored;
        Duration = duration;
    }

    /// <summary>The completed epochs, in order (a cancelled epoch is not included).</summary>
    public IReadOnlyList<EpochMetrics> Epochs { get; }

    /// <summary>The 0-based epoch (<see cref="EpochMetrics.Epoch"/>) of the best validation loss (the last one that improved by more than
    /// <see cref="TrainerOptions.MinDelta"/>); null without a validation set.</summary>
    public int? BestEpoch { get; }

    /// <summary>Whether early stopping ended the run before <see cref="TrainerOptions.Epochs"/>.</summary>
    public bool StoppedEarly { get; }

    /// <summary>Whether the run was cancelled. <see cref="Trainer{T}.Fit"/> then throws
    /// <see cref="TrainingCanceledException"/>, whose <see cref="TrainingCanceledException.History"/> is this object;
    /// a history returned normally always has false here.</summary>
    public bool Cancelled { get; }

    /// <summary>Whether the network's parameters were set back to those after <see cref="BestEpoch"/>
    /// (<see cref="TrainerOptions.RestoreBestWeights"/> with early stopping, when a later epoch had changed them).</summary>
    public bool BestWeightsRestored { get; }

    /// <summary>Wall time of the whole run.</summary>
    public TimeSpan Duration { get; }

    /// <summary>The last completed epoch's metrics, or null when none completed.</summary>
    public EpochMetrics? Last => Epochs.Count == 0 ? null : Epochs[^1];
}

/// <summary>A progress report of <see cref="Trainer{T}.Fit"/>: after a mini-batch (throttled by
/// <see cref="TrainerOptions.ProgressInterval"/>) or, with <see cref="EpochMetrics"/> set, at the end of an epoch.</summary>
/// <param name="Epoch">The epoch, 0-based.</param>
/// <param name="Epochs">Epochs planned (<see cref="TrainerOptions.Epochs"/>).</param>
/// <param name="Batch">The mini-batch just trained, 0-based within the epoch (the last one in an end-of-epoch report).</param>
/// <param name="BatchesPerEpoch">Mini-batches in every epoch.</param>
/// <param name="RunningLoss">Mean training loss per sample over the epoch's batches so far.</param>
/// <param name="SamplesPerSecond">Training samples per second over the epoch so far.</param>
/// <param name="EpochMetrics">The epoch's metrics in an end-of-epoch report; null after a batch.</param>
public readonly record struct TrainingProgress(int Epoch, int Epochs, int Batch, int BatchesPerEpoch, double RunningLoss,
    double SamplesPerSecond, EpochMetrics? EpochMetrics)
{
    /// <summary>Whether this is the end-of-epoch report.</summary>
    public bool IsEndOfEpoch => EpochMetrics is not null;
}

/// <summary>
/// Thrown by <see cref="Trainer{T}.Fit"/> when its cancellation token is cancelled (checked between mini-batches).
/// It is an <see cref="OperationCanceledException"/>, as .NET convention expects, and carries the history of the
/// epochs completed before it. When it is thrown the network holds the parameters of the last batch trained, or,
/// with early stopping and <see cref="TrainerOptions.RestoreBestWeights"/>, those of the best epoch so far.
/// </summary>
public sealed class TrainingCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception for a run cancelled through <paramref name="token"/>.</summary>
    public TrainingCanceledException(TrainingHistory history, CancellationToken token)
        : base($"Training was cancelled after {history?.Epochs.Count ?? 0} complete epoch(s).", token)
    {
        ArgumentNullException.ThrowIfNull(history);
        History = history;
    }

    /// <summary>The epochs completed before cancellation (<see cref="TrainingHistory.Cancelled"/> is true).</summary>
    public TrainingHistory History { get; }
}
