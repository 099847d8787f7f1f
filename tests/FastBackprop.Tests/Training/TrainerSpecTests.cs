namespace FastBackprop.Tests.Training;

/// <summary>
/// What <see cref="Trainer{T}"/> promises, pinned where a one-character slip would go unseen: the loop equals the
/// hand-written loop the docs describe (gather, ComputeGradients, Step) for targets of any width; the epoch and early-stopping
/// boundaries; what a cancelled or finished run reports; and accuracy at the 0.5 threshold itself.
/// </summary>
public class TrainerSpecTests
{
    private static readonly Network<float> TwoOutputRegression = new(3, [new(5, Activation.Tanh), new(2, Activation.Identity)], seed: 11);

    /// <summary>Seven samples of three features and two target values (MSE): batches of 3, 3 and the remainder 1.</summary>
    private static Dataset<float> TwoTargets(int seed, int count = 7)
    {
        var random = new Random(seed);
        float[] x = Enumerable.Range(0, count * 3).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        float[] y = Enumerable.Range(0, count * 2).Select(_ => (float)random.NextDouble()).ToArray();
        return new Dataset<float>(x, 3, y, 2);
    }

    /// <summary>Without shuffling, Fit is exactly the loop: rows in order, batches of BatchSize and the remainder, one
    /// optimizer step per batch. Parameters, the training loss (mean per sample) and the validation loss are bit-identical
    /// to that loop written out, for a network of two outputs (so a target row is two values wide).</summary>
    [Fact]
    public void Fit_without_shuffling_is_the_hand_written_loop_for_two_target_values()
    {
        Dataset<float> training = TwoTargets(seed: 1), validation = TwoTargets(seed: 2, count: 5);
        var options = new TrainerOptions { Epochs = 2, BatchSize = 3, Shuffle = false, Optimizer = new Sgd(), Schedule = LearningRateSchedule.Constant(0.05) };
        Network<float> trained = TwoOutputRegression.Copy(), reference = TwoOutputRegression.Copy();

        TrainingHistory history = new Trainer<float>(options).Fit(trained, training, validation);

        var sgd = new Sgd();
        Gradients<float> gradients = reference.CreateGradients();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            double lossSum = 0;
            for (int first = 0; first < 7; first += 3)
            {
                int size = Math.Min(3, 7 - first);
                float batchLoss = reference.ComputeGradients(training.Features.AsSpan(first * 3, size * 3),
                    training.Targets.AsSpan(first * 2, size * 2), size, Loss.MeanSquaredError, gradients);
                lossSum += (double)batchLoss * size;
                sgd.Step(reference, gradients, 0.05);
            }
            Assert.Equal(lossSum / 7, history.Epochs[epoch].TrainingLoss);
            double validationLoss = 0;
            for (int first = 0; first < 5; first += 3)
            {
                int size = Math.Min(3, 5 - first);
                validationLoss += reference.ComputeLoss(validation.Features.AsSpan(first * 3, size * 3),
                    validation.Targets.AsSpan(first * 2, size * 2), size, Loss.MeanSquaredError) * (double)size;
            }
            Assert.Equal(validationLoss / 5, history.Epochs[epoch].ValidationLoss);
        }
        Bits.Equal<float>(reference.Parameters, trained.Parameters, "Fit against the hand-written loop");
        Assert.Null(history.Epochs[0].TrainingAccuracy);
    }

    /// <summary>The gradient norms of an epoch of one batch are that batch's ‖∂C/∂W‖ and ‖∂C/∂b‖ per layer, for float and
    /// double networks alike.</summary>
    [Fact]
    public void Gradient_norms_of_a_one_batch_epoch_are_the_batch_gradient_norms()
    {
        AssertNorms(TwoOutputRegression.Copy(), TwoTargets(seed: 3));
        var features = TwoTargets(seed: 3).Features.Select(v => (double)v).ToArray();
        var targets = TwoTargets(seed: 3).Targets!.Select(v => (double)v).ToArray();
        AssertNorms(new Network<double>(3, [new(5, Activation.Tanh), new(2, Activation.Identity)], seed: 11),
            new Dataset<double>(features, 3, targets, 2));

        static void AssertNorms<T>(Network<T> network, Dataset<T> data) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
        {
            Network<T> copy = network.Copy();
            Gradients<T> gradients = copy.CreateGradients();
            copy.ComputeGradients(data.Features, data.Targets!, data.Count, Loss.MeanSquaredError, gradients);
            var options = new TrainerOptions { Epochs = 1, BatchSize = data.Count, Shuffle = false, Optimizer = new Sgd(), Schedule = LearningRateSchedule.Constant(0.01) };
            EpochMetrics metrics = new Trainer<T>(options).Fit(network, data, null).Epochs[0];
            for (int l = 0; l < network.LayerCount; l++)
            {
                Assert.Equal(Norm(gradients.Weights(l)), metrics.WeightGradientNorms[l], 1e-9);
                Assert.Equal(Norm(gradients.Biases(l)), metrics.BiasGradientNorms[l], 1e-9);
            }
        }

        static double Norm<T>(ReadOnlySpan<T> values) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
        {
            double sum = 0;
            foreach (T v in values)
                sum += double.CreateChecked(v) * double.CreateChecked(v);
            return Math.Sqrt(sum);
        }
    }

    /// <summary>Early stopping that triggers in the last epoch has not stopped anything early; one epoch sooner it has.
    /// (MinDelta 10⁹: no epoch after the first counts as an improvement, so patience 1 stops after the second.)</summary>
    [Theory]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void Stopping_in_the_last_epoch_is_not_stopping_early(int epochs, bool stoppedEarly)
    {
        Dataset<float> data = TwoTargets(seed: 4);
        var options = new TrainerOptions { Epochs = epochs, BatchSize = 7, EarlyStoppingPatience = 1, MinDelta = 1e9 };
        TrainingHistory history = new Trainer<float>(options).Fit(TwoOutputRegression.Copy(), data, data);
        Assert.Equal(2, history.Epochs.Count);
        Assert.Equal(stoppedEarly, history.StoppedEarly);
        Assert.Equal(0, history.BestEpoch);
        Assert.True(history.BestWeightsRestored);
    }

    /// <summary>When the best epoch is the last one, nothing changed since it was saved: the weights are not restored
    /// (a restore would report <see cref="TrainingHistory.BestWeightsRestored"/> although nothing was put back).</summary>
    [Fact]
    public void Best_epoch_last_restores_nothing()
    {
        Dataset<float> data = TwoTargets(seed: 5);
        var options = new TrainerOptions { Epochs = 3, BatchSize = 7, EarlyStoppingPatience = 5, Optimizer = new Sgd(), Schedule = LearningRateSchedule.Constant(0.01) };
        TrainingHistory history = new Trainer<float>(options).Fit(TwoOutputRegression.Copy(), data, data);
        Assert.Equal(2, history.BestEpoch);   // small steps of gradient descent on the training set lower its loss every epoch
        Assert.False(history.BestWeightsRestored);
        Assert.False(history.StoppedEarly);
    }

    /// <summary>Cancelled after the last batch of epoch 2, while the validation set is measured: the exception carries
    /// the one complete epoch, is marked cancelled and not stopped early, and says how many epochs completed.</summary>
    [Fact]
    public void Cancelling_during_validation_keeps_the_complete_epochs()
    {
        Dataset<float> data = TwoTargets(seed: 6);
        using var cts = new CancellationTokenSource();
        var options = new TrainerOptions { Epochs = 5, BatchSize = 4, ProgressInterval = TimeSpan.Zero };
        var progress = new SyncProgress(p =>
        {
            if (p.Epoch == 1 && p.Batch == p.BatchesPerEpoch - 1 && !p.IsEndOfEpoch)
                cts.Cancel();
        });
        var ex = Assert.Throws<TrainingCanceledException>(() =>
            new Trainer<float>(options).Fit(TwoOutputRegression.Copy(), data, data, progress, cts.Token));
        Assert.Single(ex.History.Epochs);
        Assert.True(ex.History.Cancelled);
        Assert.False(ex.History.StoppedEarly);
        Assert.Equal("Training was cancelled after 1 complete epoch(s).", ex.Message);
        Assert.Throws<ArgumentNullException>("history", () => new TrainingCanceledException(null!, cts.Token));
    }

    /// <summary>A single sigmoid output of exactly 0.5 (all parameters zero) predicts class 0: accuracy counts output &gt; 0.5
    /// against target &gt; 0.5, so three of four samples of class 0 are right.</summary>
    [Fact]
    public void An_output_of_exactly_one_half_predicts_class_0()
    {
        var network = new Network<float>(2, [new(1, Activation.Sigmoid)], seed: 1);
        network.Parameters.Clear();
        var data = new Dataset<float>(new float[8], 2, [0, 0, 1, 0], 2);
        var options = new TrainerOptions { Epochs = 1, BatchSize = 4 };
        Assert.Equal(0.75, new Trainer<float>(options).Fit(network, data, null).Epochs[0].TrainingAccuracy);

        // Value targets of one sigmoid output are scored the same way; a target of exactly 0.5 counts as class 0.
        network.Parameters.Clear();
        var values = new Dataset<float>(new float[8], 2, [0.5f, 0f, 1f, 0.25f], 1);
        Assert.Equal(0.75, new Trainer<float>(options with { Loss = Loss.BinaryCrossEntropy }).Fit(network, values, null).Epochs[0].TrainingAccuracy);
    }

    /// <summary>Binary cross-entropy on two value targets per sample has no accuracy (which output would be the class?).</summary>
    [Fact]
    public void Two_sigmoid_outputs_on_value_targets_have_no_accuracy()
    {
        var network = new Network<float>(3, [new(2, Activation.Sigmoid)], seed: 2);
        var options = new TrainerOptions { Epochs = 1, BatchSize = 7, Loss = Loss.BinaryCrossEntropy };
        EpochMetrics metrics = new Trainer<float>(options).Fit(network, TwoTargets(seed: 7), TwoTargets(seed: 8)).Epochs[0];
        Assert.Null(metrics.TrainingAccuracy);
        Assert.Null(metrics.ValidationAccuracy);
    }

    /// <summary>The schedule is checked for the epochs that will run, 0 … Epochs − 1, and no further: a rate that
    /// reaches 0 at epoch Epochs is fine.</summary>
    [Fact]
    public void The_schedule_is_checked_for_the_epochs_that_run_only()
    {
        var options = new TrainerOptions { Epochs = 3, Schedule = new ZeroFrom(3) };
        Assert.Same(options, new Trainer<float>(options).Options);
        var ex = Assert.Throws<ArgumentException>("options", () => new Trainer<float>(options with { Epochs = 4 }));
        Assert.Contains("epoch 3 of 4", ex.Message);
    }

    private sealed class ZeroFrom(int epoch) : LearningRateSchedule
    {
        protected override double ComputeRate(int e) => e < epoch ? 0.01 : 0;
    }

    /// <summary>A loss whose kind or reduction is not a defined value is refused, whichever of the two it is.</summary>
    [Theory]
    [InlineData(7, 0)]
    [InlineData(0, 5)]
    public void An_undefined_loss_kind_or_reduction_is_refused(int kind, int reduction)
    {
        var options = new TrainerOptions { Epochs = 1, Loss = new Loss((LossKind)kind, (Reduction)reduction) };
        var ex = Assert.Throws<ArgumentException>("network", () => new Trainer<float>(options).Fit(TwoOutputRegression.Copy(), TwoTargets(seed: 9), null));
        Assert.Contains("undefined kind or reduction", ex.Message);
    }

    /// <summary>A cross-entropy target out of [0, 1] is named by its sample and its place in the row.</summary>
    [Fact]
    public void A_target_out_of_range_is_named_by_sample_and_output()
    {
        Dataset<float> data = TwoTargets(seed: 10);
        data.Targets![5] = 1.25f;   // sample 2, output 1
        var network = new Network<float>(3, [new(2, Activation.Sigmoid)], seed: 3);
        float[] before = network.Parameters.ToArray();
        var ex = Assert.Throws<ArgumentException>("training", () =>
            new Trainer<float>(new TrainerOptions { Epochs = 1, Loss = Loss.BinaryCrossEntropy }).Fit(network, data, null));
        Assert.Contains("target 1 of sample 2 is 1.25", ex.Message);
        Bits.Equal<float>(before, network.Parameters, "parameters after the refused run");
    }
}
