using System.Numerics;

namespace FastBackprop.Tests.Training;

public class TrainerTests
{
    private static Network<float> Classifier(int classes, int seed = 1, int hidden = 16)
        => new(2, [new(hidden, Activation.Tanh), new(classes, Activation.Softmax)], seed);

    [Fact]
    public void Same_seed_gives_bit_identical_weights_and_history_and_another_seed_differs()
    {
        Dataset<float> data = TrainingData.Blobs(3, 70, seed: 1, spread: 1.5);
        (Dataset<float> train, Dataset<float> valid) = data.Split(0.2, seed: 2);
        Assert.Equal(168, train.Count);
        var options = new TrainerOptions { Epochs = 4, BatchSize = 32, Seed = 11, Optimizer = new Adam(), Schedule = LearningRateSchedule.Constant(0.01) };

        Network<float> a = Classifier(3), b = Classifier(3), c = Classifier(3);
        TrainingHistory ha = new Trainer<float>(options).Fit(a, train, valid);
        TrainingHistory hb = new Trainer<float>(options).Fit(b, train, valid);
        new Trainer<float>(new TrainerOptions { Epochs = 4, BatchSize = 32, Seed = 12, Optimizer = new Adam(), Schedule = LearningRateSchedule.Constant(0.01) })
            .Fit(c, train, valid);

        Bits.Equal<float>(a.Parameters, b.Parameters, "same seed");
        Assert.Equal(ha.Epochs.Count, hb.Epochs.Count);
        for (int e = 0; e < ha.Epochs.Count; e++)
        {
            EpochMetrics x = ha.Epochs[e], y = hb.Epochs[e];
            Assert.Equal(x.TrainingLoss, y.TrainingLoss);
            Assert.Equal(x.TrainingAccuracy, y.TrainingAccuracy);
            Assert.Equal(x.ValidationLoss, y.ValidationLoss);
            Assert.Equal(x.ValidationAccuracy, y.ValidationAccuracy);
            Assert.Equal(x.LearningRate, y.LearningRate);
            Assert.Equal(x.WeightGradientNorms, y.WeightGradientNorms);
            Assert.Equal(x.BiasGradientNorms, y.BiasGradientNorms);
            Assert.Equal(6, x.Batches);   // 168 samples: 5 batches of 32 and one of 8
        }
        Assert.Equal(ha.BestEpoch, hb.BestEpoch);
        Assert.False(a.Parameters.SequenceEqual(c.Parameters), "another shuffling seed gave the same weights");
    }

    /// <summary>The last partial batch is trained: 10 samples in batches of 4 take 3 steps per epoch.</summary>
    [Fact]
    public void Last_partial_batch_is_trained()
    {
        Dataset<float> data = TrainingData.Blobs(2, 5, seed: 3);
        var optimizer = new CountingSgd();
        var batches = new List<int>();
        var options = new TrainerOptions { Epochs = 2, BatchSize = 4, Optimizer = optimizer, Schedule = LearningRateSchedule.Constant(0.1), ProgressInterval = TimeSpan.Zero };
        TrainingHistory h = new Trainer<float>(options).Fit(Classifier(2), data, null, new SyncProgress(p => { if (!p.IsEndOfEpoch) batches.Add(p.BatchesPerEpoch); }));
        Assert.Equal(6, optimizer.Steps);
        Assert.All(h.Epochs, e => Assert.Equal(3, e.Batches));
        Assert.Equal([3, 3, 3, 3, 3, 3], batches);

        // A batch larger than the data set trains the whole set as one batch.
        var one = new CountingSgd();
        new Trainer<float>(new TrainerOptions { Epochs = 3, BatchSize = 100, Optimizer = one, Schedule = LearningRateSchedule.Constant(0.1) }).Fit(Classifier(2), data, null);
        Assert.Equal(3, one.Steps);
    }

    /// <summary>A large network on 40 samples with 30% flipped labels overfits: validation loss turns up, early stopping
    /// ends the run long before 400 epochs, exactly <c>patience</c> epochs after the best, and the restored parameters
    /// have the best epoch's validation loss (recomputed here in the same batches).</summary>
    [Fact]
    public void Early_stopping_stops_and_restores_the_best_weights()
    {
        Dataset<float> train = TrainingData.NoisyBinary(40, 0.3, seed: 5);
        Dataset<float> valid = TrainingData.NoisyBinary(200, 0.3, seed: 6);
        var network = new Network<float>(2, [new(64, Activation.Tanh), new(64, Activation.Tanh), new(2, Activation.Softmax)], seed: 2);
        const int patience = 5;
        var options = new TrainerOptions
        {
            Epochs = 400,
            BatchSize = 8,
            Seed = 1,
            Optimizer = new Adam(),
            Schedule = LearningRateSchedule.Constant(0.01),
            EarlyStoppingPatience = patience,
            MinDelta = 1e-4,
        };
        var snapshots = new Dictionary<int, float[]>();
        var progress = new SyncProgress(p =>
        {
            if (p.IsEndOfEpoch)
                snapshots[p.Epoch] = network.Parameters.ToArray();
        });
        TrainingHistory h = new Trainer<float>(options).Fit(network, train, valid, progress);

        Assert.True(h.StoppedEarly);
        Assert.True(h.Epochs.Count < 400, $"ran {h.Epochs.Count} epochs");
        int best = Assert.NotNull(h.BestEpoch);
        Assert.Equal(best + 1 + patience, h.Epochs.Count);
        Assert.True(h.BestWeightsRestored);
        double bestLoss = h.Epochs[best].ValidationLoss!.Value;
        Assert.All(h.Epochs.Skip(best + 1), e => Assert.True(e.ValidationLoss > bestLoss - 1e-4));
        Assert.True(h.Last!.ValidationLoss != bestLoss);
        Bits.Equal<float>(snapshots[best], network.Parameters, $"parameters restored to epoch {best}'s");
        Assert.False(snapshots[h.Epochs.Count - 1].AsSpan().SequenceEqual(network.Parameters), "the last epoch's parameters were kept");

        double recomputed = 0;
        for (int first = 0; first < valid.Count; first += 8)
        {
            int count = Math.Min(8, valid.Count - first);
            recomputed += network.ComputeLoss(valid.Features.AsSpan(first * 2, count * 2), valid.ClassIndices.AsSpan(first, count), count, Loss.SoftmaxCrossEntropy) * (double)count;
        }
        Assert.Equal(bestLoss, recomputed / valid.Count);
    }

    [Fact]
    public void Without_early_stopping_every_epoch_runs_and_the_final_weights_stay()
    {
        Dataset<float> train = TrainingData.NoisyBinary(40, 0.3, seed: 5), valid = TrainingData.NoisyBinary(100, 0.3, seed: 6);
        var network = new Network<float>(2, [new(32, Activation.Tanh), new(2, Activation.Softmax)], seed: 2);
        TrainingHistory h = new Trainer<float>(new TrainerOptions { Epochs = 30, BatchSize = 8, Schedule = LearningRateSchedule.Constant(0.02) }).Fit(network, train, valid);
        Assert.Equal(30, h.Epochs.Count);
        Assert.False(h.StoppedEarly);
        Assert.False(h.BestWeightsRestored);
        Assert.NotNull(h.BestEpoch);
        Assert.Equal(h.Epochs.Min(e => e.ValidationLoss), h.Epochs[h.BestEpoch!.Value].ValidationLoss);
    }

    [Fact]
    public void Cancelling_from_the_progress_callback_stops_promptly()
    {
        Dataset<float> data = TrainingData.Blobs(3, 100, seed: 7);
        using var cts = new CancellationTokenSource();
        var reports = new List<TrainingProgress>();
        bool cancelled = false;
        int reportsAfterCancel = 0;
        var progress = new SyncProgress(p =>
        {
            if (cancelled)
                reportsAfterCancel++;
            reports.Add(p);
            if (p.Epoch == 1 && p.Batch == 2 && !p.IsEndOfEpoch)
            {
                cts.Cancel();
                cancelled = true;
            }
        });
        var options = new TrainerOptions { Epochs = 50, BatchSize = 10, ProgressInterval = TimeSpan.Zero, Schedule = LearningRateSchedule.Constant(0.01) };
        Network<float> network = Classifier(3);
        var ex = Assert.Throws<TrainingCanceledException>(() => new Trainer<float>(options).Fit(network, data, null, progress, cts.Token));
        Assert.IsAssignableFrom<OperationCanceledException>(ex);
        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.Equal(0, reportsAfterCancel);
        Assert.True(ex.History.Cancelled);
        Assert.Single(ex.History.Epochs);
        Assert.Equal(30 + 1 + 3, reports.Count);   // epoch 0: 30 batches + its end report; epoch 1: batches 0–2

        // Cancelled before the start: nothing is trained.
        using var already = new CancellationTokenSource();
        already.Cancel();
        float[] before = network.Parameters.ToArray();
        var early = Assert.Throws<TrainingCanceledException>(() => new Trainer<float>(options).Fit(network, data, null, null, already.Token));
        Assert.Empty(early.History.Epochs);
        Bits.Equal<float>(before, network.Parameters, "parameters after a run cancelled before it began");
    }

    /// <summary>With early stopping on, cancellation restores the best epoch's weights before it throws; cancelled right
    /// after an epoch that was the best, nothing needs restoring.</summary>
    [Fact]
    public void Cancelling_with_early_stopping_restores_the_best_weights()
    {
        Dataset<float> train = TrainingData.Blobs(2, 40, seed: 8, spread: 2), valid = TrainingData.Blobs(2, 40, seed: 9, spread: 2);
        var options = new TrainerOptions
        {
            Epochs = 20,
            BatchSize = 16,
            EarlyStoppingPatience = 10,
            ProgressInterval = TimeSpan.Zero,
            Schedule = LearningRateSchedule.Constant(0.01),
        };
        using var cts = new CancellationTokenSource();
        Network<float> network = Classifier(2);
        var snapshots = new Dictionary<int, float[]>();
        var progress = new SyncProgress(p =>
        {
            if (p.IsEndOfEpoch)
                snapshots[p.Epoch] = network.Parameters.ToArray();
            if (!p.IsEndOfEpoch && p.Epoch == 3 && p.Batch == 1)
                cts.Cancel();
        });
        var ex = Assert.Throws<TrainingCanceledException>(() => new Trainer<float>(options).Fit(network, train, valid, progress, cts.Token));
        Assert.Equal(3, ex.History.Epochs.Count);
        int best = Assert.NotNull(ex.History.BestEpoch);
        Assert.True(ex.History.BestWeightsRestored);
        Bits.Equal<float>(snapshots[best], network.Parameters, $"parameters restored to epoch {best}'s");

        // Cancelled at the end of epoch 0, the only (so the best) epoch: the parameters are already the best ones.
        using var cts2 = new CancellationTokenSource();
        Network<float> again = Classifier(2);
        var ex2 = Assert.Throws<TrainingCanceledException>(() => new Trainer<float>(options).Fit(again, train, valid,
            new SyncProgress(p => { if (p.IsEndOfEpoch) cts2.Cancel(); }), cts2.Token));
        Assert.Equal(0, ex2.History.BestEpoch);
        Assert.False(ex2.History.BestWeightsRestored);
        Bits.Equal<float>(snapshots[0], again.Parameters, "parameters after epoch 0");
    }

    [Fact]
    public void Progress_reports_arrive_in_order_with_an_end_of_epoch_report()
    {
        Dataset<float> data = TrainingData.Blobs(3, 30, seed: 4);   // 90 samples, batches of 16: 6 per epoch
        var reports = new List<TrainingProgress>();
        var options = new TrainerOptions { Epochs = 3, BatchSize = 16, ProgressInterval = TimeSpan.Zero, Schedule = LearningRateSchedule.Constant(0.01) };
        TrainingHistory h = new Trainer<float>(options).Fit(Classifier(3), data, null, new SyncProgress(reports.Add));
        Assert.Equal(3 * 7, reports.Count);
        for (int i = 0; i < reports.Count; i++)
        {
            TrainingProgress p = reports[i];
            Assert.Equal(i / 7, p.Epoch);
            Assert.Equal(3, p.Epochs);
            Assert.Equal(6, p.BatchesPerEpoch);
            Assert.Equal(Math.Min(i % 7, 5), p.Batch);
            Assert.Equal(i % 7 == 6, p.IsEndOfEpoch);
            Assert.True(double.IsFinite(p.RunningLoss) && p.RunningLoss > 0);
            Assert.True(p.SamplesPerSecond > 0);
            if (p.IsEndOfEpoch)
                Assert.Same(h.Epochs[p.Epoch], p.EpochMetrics);
        }

        // Throttled: an hour between batch reports leaves the first batch and the epoch ends.
        var few = new List<TrainingProgress>();
        new Trainer<float>(options with { ProgressInterval = TimeSpan.FromHours(1) }).Fit(Classifier(3), data, null, new SyncProgress(few.Add));
        Assert.Equal(1 + 3, few.Count);
        Assert.Equal(3, few.Count(p => p.IsEndOfEpoch));
    }

    public static IEnumerable<object[]> Learners() =>
    [
        ["Adam", new Adam(), 0.01],
        ["Nesterov momentum SGD", new Momentum(0.9, nesterov: true), 0.05],
        ["momentum SGD with weight decay", new Momentum(0.9, weightDecay: 1e-4), 0.05],
        ["AdamW", new AdamW(), 0.01],
    ];

    [Theory]
    [MemberData(nameof(Learners))]
    public void A_three_class_problem_is_learned(string name, Optimizer optimizer, double rate)
    {
        Dataset<float> data = TrainingData.Blobs(3, 100, seed: 10);
        (Dataset<float> train, Dataset<float> valid) = data.Split(0.25, seed: 3);
        var options = new TrainerOptions { Epochs = 15, BatchSize = 16, Seed = 2, Optimizer = optimizer, Schedule = LearningRateSchedule.Constant(rate) };
        TrainingHistory h = new Trainer<float>(options).Fit(Classifier(3), train, valid);
        EpochMetrics last = h.Last!;
        Assert.True(last.ValidationAccuracy >= 0.95, $"{name}: validation accuracy {last.ValidationAccuracy}");
        Assert.True(last.TrainingAccuracy >= 0.9, $"{name}: training accuracy {last.TrainingAccuracy}");
        Assert.True(last.TrainingLoss < h.Epochs[0].TrainingLoss, $"{name}: loss {h.Epochs[0].TrainingLoss} → {last.TrainingLoss}");
    }

    /// <summary>One sigmoid output with binary cross-entropy on a 2-class set: target = class index, accuracy by threshold 0.5.
    /// Also in double, with a cosine schedule and warm-up.</summary>
    [Fact]
    public void A_two_class_problem_is_learned_with_one_sigmoid_output()
    {
        Dataset<float> data = TrainingData.Blobs(2, 100, seed: 12);
        (Dataset<float> train, Dataset<float> valid) = data.Split(0.25, seed: 4);
        var network = new Network<float>(2, [new(8, Activation.ReLU), new(1, Activation.Sigmoid)], seed: 3);
        TrainingHistory h = new Trainer<float>(new TrainerOptions { Epochs = 10, BatchSize = 16, Schedule = LearningRateSchedule.Cosine(0.05, 10, 0.001).WithLinearWarmup(2) })
            .Fit(network, train, valid);
        Assert.True(h.Last!.ValidationAccuracy >= 0.95, $"validation accuracy {h.Last.ValidationAccuracy}");
        Assert.Equal(0.05 / 3, h.Epochs[0].LearningRate, 15);

        var x = data.Features.Select(v => (double)v).ToArray();
        var doubles = new Dataset<double>(x, 2, data.ClassIndices!, 2);
        (Dataset<double> dt, Dataset<double> dv) = doubles.Split(0.25, seed: 4);
        var dn = new Network<double>(2, [new(8, Activation.Tanh), new(1, Activation.Sigmoid)], seed: 3);
        TrainingHistory hd = new Trainer<double>(new TrainerOptions { Epochs = 10, BatchSize = 16, Optimizer = new Momentum(0.9), Schedule = LearningRateSchedule.Constant(0.05) })
            .Fit(dn, dt, dv);
        Assert.True(hd.Last!.ValidationAccuracy >= 0.95, $"double: validation accuracy {hd.Last.ValidationAccuracy}");
    }

    /// <summary>A regression set: no accuracy, loss falls.</summary>
    [Fact]
    public void Regression_reports_loss_without_accuracy()
    {
        const int n = 64;
        float[] x = Enumerable.Range(0, n).Select(i => (float)(-Math.PI + 2 * Math.PI * i / (n - 1))).ToArray();
        float[] y = x.Select(v => (float)Math.Sin(v)).ToArray();
        var data = new Dataset<float>(x, 1, y, 1);
        var network = new Network<float>(1, [new(16, Activation.Tanh), new(1, Activation.Identity)], seed: 1);
        TrainingHistory h = new Trainer<float>(new TrainerOptions { Epochs = 40, BatchSize = 8, Schedule = LearningRateSchedule.Constant(0.01) }).Fit(network, data, data);
        Assert.Null(h.Last!.TrainingAccuracy);
        Assert.Null(h.Last.ValidationAccuracy);
        Assert.True(h.Last.ValidationLoss < 0.5 * h.Epochs[0].ValidationLoss, $"validation loss {h.Epochs[0].ValidationLoss} → {h.Last.ValidationLoss}");
    }

    /// <summary>Gradient norms are positive and finite; in a deep stack of saturated sigmoids the first layer's is much
    /// smaller than the last's (σ′ ≤ 1/4 per layer: vanishing gradients).</summary>
    [Fact]
    public void Gradient_norms_show_vanishing_gradients_in_a_deep_sigmoid_stack()
    {
        Dataset<float> data = TrainingData.Blobs(3, 40, seed: 13);
        float[] scaled = data.Features.Select(v => 4 * v).ToArray();
        var saturated = new Dataset<float>(scaled, 2, data.ClassIndices!, 3);
        var layers = Enumerable.Range(0, 8).Select(_ => new LayerSpec(32, Activation.Sigmoid)).Append(new LayerSpec(3, Activation.Softmax)).ToArray();
        var network = new Network<float>(2, layers, seed: 4);
        TrainingHistory h = new Trainer<float>(new TrainerOptions { Epochs = 1, BatchSize = 20, Optimizer = new Sgd(), Schedule = LearningRateSchedule.Constant(0.1) })
            .Fit(network, saturated, null);
        EpochMetrics m = h.Last!;
        Assert.Equal(9, m.WeightGradientNorms.Count);
        Assert.Equal(9, m.BiasGradientNorms.Count);
        Assert.All(m.WeightGradientNorms, v => Assert.True(v > 0 && double.IsFinite(v), $"weight gradient norm {v}"));
        Assert.All(m.BiasGradientNorms, v => Assert.True(v > 0 && double.IsFinite(v), $"bias gradient norm {v}"));
        double ratio = m.WeightGradientNorms[0] / m.WeightGradientNorms[^1];
        Assert.True(ratio < 1e-3, $"first/last weight-gradient norm = {ratio} ({string.Join(", ", m.WeightGradientNorms.Select(v => v.ToString("G3")))})");
    }

    /// <summary>The norms are the L2 norms of the gradients: one full batch, one epoch, checked against ComputeGradients.</summary>
    [Fact]
    public void Gradient_norms_are_the_l2_norms_of_the_batch_gradients()
    {
        Dataset<float> data = TrainingData.Blobs(3, 10, seed: 14);
        Network<float> network = Classifier(3), copy = Classifier(3);
        TrainingHistory h = new Trainer<float>(new TrainerOptions { Epochs = 1, BatchSize = 30, Shuffle = false, Optimizer = new Sgd(), Schedule = LearningRateSchedule.Constant(0.1) })
            .Fit(network, data, null);
        Gradients<float> g = copy.CreateGradients();
        float loss = copy.ComputeGradients(data.Features, data.ClassIndices, 30, Loss.SoftmaxCrossEntropy, g);
        Assert.Equal(loss, h.Last!.TrainingLoss, 6);
        for (int l = 0; l < 2; l++)
        {
            Close.Relative(h.Last.WeightGradientNorms[l], Math.Sqrt(g.Weights(l).ToArray().Sum(v => (double)v * v)), 0, 1e-12, $"‖∂C/∂W_{l}‖");
            Close.Relative(h.Last.BiasGradientNorms[l], Math.Sqrt(g.Biases(l).ToArray().Sum(v => (double)v * v)), 0, 1e-12, $"‖∂C/∂b_{l}‖");
        }
    }

    /// <summary>The trainer adds no allocation per batch: four more epochs cost only what the network's own calls allocate
    /// (measured here directly; Network still allocates in its GEMM calls) plus the per-epoch records (metrics and two
    /// norm arrays), far less than one small object per batch. What the network allocates changes while its methods are
    /// re-jitted (optimised code can keep closures on the stack), so the measurement is repeated until it is stable.</summary>
    [Fact]
    public void Batches_do_not_allocate()
    {
        Dataset<float> data = TrainingData.Blobs(2, 100, seed: 15);   // 160 training samples in batches of 4: 40 per epoch
        (Dataset<float> train, Dataset<float> valid) = data.Split(0.2, seed: 1);
        Network<float> network = Classifier(2, hidden: 8);
        Gradients<float> g = network.CreateGradients();
        float[] x = train.Features.AsSpan(0, 8).ToArray(), outputs = new float[8];
        int[] y = train.ClassIndices.AsSpan(0, 4).ToArray();
        TrainingHistory Run(int epochs) => new Trainer<float>(new TrainerOptions { Epochs = epochs, BatchSize = 4, Schedule = LearningRateSchedule.Constant(0.001) })
            .Fit(network, train, valid);

        string last = "";
        for (int attempt = 0; attempt < 6; attempt++)
        {
            Run(3);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Run(2);
            long two = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            Run(6);
            long six = GC.GetAllocatedBytesForCurrentThread() - before;
            double perEpoch = (six - two) / 4.0;

            // The network's own calls in one epoch: a gradient pass that also writes the outputs (training accuracy) per
            // training batch, a loss pass per validation batch.
            before = GC.GetAllocatedBytesForCurrentThread();
            for (int b = 0; b < train.Count / 4; b++)
                network.ComputeGradients(x, y, 4, Loss.SoftmaxCrossEntropy, g, outputs);
            for (int b = 0; b < valid.Count / 4; b++)
                network.ComputeLoss(x, y, 4, Loss.SoftmaxCrossEntropy, outputs);
            long networkPerEpoch = GC.GetAllocatedBytesForCurrentThread() - before;

            if (perEpoch - networkPerEpoch < 600)
                return;
            last = $"{perEpoch} bytes per epoch of {train.Count / 4} batches, of which the network's calls allocate {networkPerEpoch}";
        }
        Assert.Fail(last);
    }
}
