namespace FastBackprop.Tests.Training;

/// <summary>Per-batch progress reports are throttled by <see cref="TrainerOptions.ProgressInterval"/> over the whole
/// run, on the trainer's report clock (a fake one here, which moves 30 ms each time it is read).</summary>
public class TrainerProgressTests
{
    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => now += step.Ticks;
    }

    /// <summary>Epochs of two batches, each much shorter than the 100 ms interval: a report still comes about every
    /// 100 ms of the clock, across epochs (when the clock restarted at each epoch's end, the first batch of the run was
    /// the only one ever reported, and a long run's progress bar stayed at "epoch 1").</summary>
    [Fact]
    public void Reports_come_every_interval_across_epochs_shorter_than_it()
    {
        Dataset<float> data = TrainingData.Blobs(2, 4, seed: 3);   // 8 samples: two batches of 4
        var batchReports = new List<TrainingProgress>();
        int epochEnds = 0;
        var options = new TrainerOptions
        {
            Epochs = 40,
            BatchSize = 4,
            Schedule = LearningRateSchedule.Constant(0.01),
            ProgressInterval = TimeSpan.FromMilliseconds(100),
            ProgressClock = new SteppingClock(TimeSpan.FromMilliseconds(30)),
        };
        var network = new Network<float>(2, [new(4, Activation.Tanh), new(2, Activation.Softmax)], seed: 1);
        new Trainer<float>(options).Fit(network, data, null, new SyncProgress(p =>
        {
            if (p.IsEndOfEpoch)
                epochEnds++;
            else
                batchReports.Add(p);
        }));

        Assert.Equal(40, epochEnds);
        // 80 batches, one clock reading each (30 ms): a report at the first and then at every fourth (120 ms later).
        Assert.Equal(20, batchReports.Count);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (4 * i / 2, 4 * i % 2)), batchReports.Select(p => (p.Epoch, p.Batch)));
    }
}
