namespace FastBackprop.Tests.Training;

/// <summary>
/// The order in which the trainer visits samples, as a specification: a Fisher–Yates shuffle from <c>new Random(Seed)</c>
/// of the previous epoch's order, every epoch; the data's own order when <see cref="TrainerOptions.Shuffle"/> is off;
/// mini-batches of <see cref="TrainerOptions.BatchSize"/> with the remainder last. The visits are read back from the
/// gradients: with zero parameters and zero features, one sample's bias gradient is proportional to its target, and the
/// targets are 1…n.
/// </summary>
public class ShuffleSpecTests
{
    /// <summary>Records the bias gradient of each step and leaves the parameters as they are.</summary>
    private sealed class RecordingOptimizer() : Optimizer(0)
    {
        public List<double> BiasGradients { get; } = [];

        protected override int StateSlots => 0;

        protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step)
            => BiasGradients.Add(double.CreateChecked(gradients[^1]));
    }

    private static (List<int[]> Epochs, TrainingHistory History) Visits(int samples, int epochs, int batchSize, int seed, bool shuffle)
    {
        var network = new Network<double>(1, [new LayerSpec(1, Activation.Identity)], seed: 1);
        network.Parameters.Clear();
        var data = new Dataset<double>(new double[samples], 1, Enumerable.Range(1, samples).Select(i => (double)i).ToArray(), 1);
        var optimizer = new RecordingOptimizer();
        var options = new TrainerOptions
        {
            Epochs = epochs, BatchSize = batchSize, Seed = seed, Shuffle = shuffle, Optimizer = optimizer,
            Schedule = LearningRateSchedule.Constant(0.1),
        };
        TrainingHistory history = new Trainer<double>(options).Fit(network, data, null);
        double unit = optimizer.BiasGradients.Min(Math.Abs);
        var visits = optimizer.BiasGradients.Select(g => (int)Math.Round(Math.Abs(g) / unit) - 1).ToArray();
        return ([.. visits.Chunk(visits.Length / epochs)], history);
    }

    /// <summary>What the trainer promises: Fisher–Yates from the last position down, the order carried into the next epoch.</summary>
    private static List<int[]> FisherYates(int samples, int epochs, int seed)
    {
        var random = new Random(seed);
        int[] order = [.. Enumerable.Range(0, samples)];
        var result = new List<int[]>();
        for (int e = 0; e < epochs; e++)
        {
            for (int i = samples - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            result.Add((int[])order.Clone());
        }
        return result;
    }

    [Theory]
    [InlineData(10, 3, 0)]
    [InlineData(7, 4, 42)]
    [InlineData(2, 5, 7)]
    public void Each_epoch_is_a_fisher_yates_shuffle_of_the_last_from_the_seed(int samples, int epochs, int seed)
    {
        (List<int[]> visits, _) = Visits(samples, epochs, batchSize: 1, seed, shuffle: true);
        Assert.Equal(FisherYates(samples, epochs, seed), visits);
        foreach (int[] epoch in visits)
            Assert.Equal(Enumerable.Range(0, samples), epoch.Order());
    }

    [Fact]
    public void Another_seed_gives_another_order_and_the_same_seed_the_same()
    {
        Assert.NotEqual(Visits(12, 2, 1, seed: 1, shuffle: true).Epochs, Visits(12, 2, 1, seed: 2, shuffle: true).Epochs);
        Assert.Equal(Visits(12, 2, 1, seed: 3, shuffle: true).Epochs, Visits(12, 2, 1, seed: 3, shuffle: true).Epochs);
    }

    [Fact]
    public void Without_shuffling_every_epoch_visits_the_data_in_its_order()
    {
        (List<int[]> visits, _) = Visits(6, 3, batchSize: 1, seed: 5, shuffle: false);
        Assert.All(visits, epoch => Assert.Equal([0, 1, 2, 3, 4, 5], epoch));
    }

    /// <summary>10 samples in batches of 4: two full batches and one of 2, every epoch; a batch larger than the data is one batch.</summary>
    [Theory]
    [InlineData(10, 4, 3)]
    [InlineData(8, 4, 2)]
    [InlineData(9, 4, 3)]
    [InlineData(5, 32, 1)]
    [InlineData(5, 1, 5)]
    public void Batches_hold_batch_size_samples_and_the_remainder_last(int samples, int batchSize, int batches)
    {
        var network = new Network<double>(1, [new LayerSpec(1, Activation.Identity)], seed: 1);
        var data = new Dataset<double>(new double[samples], 1, new double[samples], 1);
        var optimizer = new CountingSgd();
        TrainingHistory history = new Trainer<double>(new TrainerOptions { Epochs = 2, BatchSize = batchSize, Optimizer = optimizer }).Fit(network, data, null);
        Assert.Equal(2 * batches, optimizer.Steps);
        Assert.All(history.Epochs, e => Assert.Equal(batches, e.Batches));
    }
}
