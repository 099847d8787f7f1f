namespace FastBackprop.Tests.Training;

/// <summary>
/// The optimizer's state binds to the first buffer it steps and to nothing else until <see cref="Optimizer.Reset"/>; after
/// a reset it behaves exactly as a new optimizer, whatever the buffer's size. Schedules at their boundaries and the
/// messages of refused settings.
/// </summary>
public class OptimizerStateSpecTests
{
    private static float[] Values(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>Three Adam steps on 10 values after a reset are bit-identical to a new Adam's, whether the buffer before the
    /// reset was larger (30 values), smaller (4) or the same size: a state array of another size is never reused, and
    /// one of the same size is cleared.</summary>
    [Theory]
    [InlineData(30)]
    [InlineData(4)]
    [InlineData(10)]
    public void After_reset_an_optimizer_is_a_new_one_for_any_size(int sizeBefore)
    {
        var used = new Adam();
        float[] other = Values(sizeBefore, seed: 1);
        for (int i = 0; i < 3; i++)
            used.Step<float>(other, Values(sizeBefore, seed: 2 + i), 0.1);
        used.Reset();
        Assert.Null(used.ParameterCount);
        Assert.Equal(0, used.StepCount);

        float[] a = Values(10, seed: 9), b = (float[])a.Clone();
        var fresh = new Adam();
        for (int i = 0; i < 3; i++)
        {
            used.Step<float>(a, Values(10, seed: 20 + i), 0.1);
            fresh.Step<float>(b, Values(10, seed: 20 + i), 0.1);
        }
        Bits.Equal<float>(b, a, $"Adam after a reset from {sizeBefore} values");
        Assert.Equal(10, used.ParameterCount);
    }

    /// <summary>An empty buffer binds the state too (to 0 values): a later step on 5 values is refused until a reset.</summary>
    [Fact]
    public void An_empty_buffer_binds_the_state_to_zero_values()
    {
        var momentum = new Momentum();
        momentum.Step<float>([], [], 0.1);
        Assert.Equal(0, momentum.ParameterCount);
        var ex = Assert.Throws<ArgumentException>("parameters", () => momentum.Step<float>(new float[5], new float[5], 0.1));
        Assert.Contains("parameters has 5 elements but this optimizer's state was allocated for 0", ex.Message);
        momentum.Reset();
        momentum.Step<float>(new float[5], new float[5], 0.1);
        Assert.Equal(5, momentum.ParameterCount);
    }

    /// <summary>Stepping a network checks its arguments: null gradients, and gradients of another network's size, named
    /// with both counts; the parameters are untouched.</summary>
    [Fact]
    public void Stepping_a_network_with_foreign_gradients_is_refused()
    {
        var network = new Network<float>(2, [new(3, Activation.Tanh), new(1, Activation.Identity)], seed: 1);
        var larger = new Network<float>(2, [new(4, Activation.Tanh), new(1, Activation.Identity)], seed: 1);
        float[] before = network.Parameters.ToArray();
        var sgd = new Sgd();
        Assert.Throws<ArgumentNullException>("network", () => sgd.Step(null!, network.CreateGradients(), 0.1));
        Assert.Throws<ArgumentNullException>("gradients", () => sgd.Step(network, null!, 0.1));
        var ex = Assert.Throws<ArgumentException>("gradients", () => sgd.Step(network, larger.CreateGradients(), 0.1));
        Assert.Equal($"gradients has {larger.Parameters.Length} values but the network has {network.Parameters.Length} parameters. (Parameter 'gradients')", ex.Message);
        Bits.Equal<float>(before, network.Parameters, "parameters after refused steps");
        Assert.Equal(0, sgd.StepCount);
    }

    /// <summary>From epoch W on, a warm-up schedule is exactly the inner one (not inner(0)·(W+1)/(W+1), which rounds:
    /// 0.1·3/3 is 0.10000000000000002).</summary>
    [Fact]
    public void Warmup_hands_over_exactly_at_epoch_W()
    {
        LearningRateSchedule schedule = LearningRateSchedule.Constant(0.1).WithLinearWarmup(2);
        Assert.Equal([0.1 / 3, 0.1 * 2 / 3, 0.1, 0.1], Enumerable.Range(0, 4).Select(schedule.RateAt));
    }

    /// <summary>η_min may equal η_max: the cosine is then constant.</summary>
    [Fact]
    public void Cosine_with_equal_bounds_is_constant()
    {
        var cosine = new CosineSchedule(0.25, 4, minRate: 0.25);
        Assert.All(Enumerable.Range(0, 6), e => Assert.Equal(0.25, cosine.RateAt(e)));
    }

    /// <summary>Schedules describe themselves (the trainer quotes them when a rate is refused).</summary>
    [Fact]
    public void Schedules_describe_themselves()
    {
        Assert.Equal("constant 0.5", LearningRateSchedule.Constant(0.5).ToString());
        Assert.Equal("step decay 0.5 × 0.1 every 3 epochs", LearningRateSchedule.StepDecay(0.5, 0.1, 3).ToString());
        Assert.Equal("cosine 0.5 → 0.01 over 10 epochs", LearningRateSchedule.Cosine(0.5, 10, 0.01).ToString());
        Assert.Equal("2 warm-up epochs, then cosine 0.5 → 0 over 10 epochs", LearningRateSchedule.Cosine(0.5, 10).WithLinearWarmup(2).ToString());
    }

    /// <summary>Refused settings say what the range is and what was given.</summary>
    [Fact]
    public void Refused_settings_quote_the_range_and_the_value()
    {
        Assert.StartsWith("factor must be in (0, 1] (got 1.5).", Assert.Throws<ArgumentOutOfRangeException>("factor", () => new StepDecaySchedule(0.1, 1.5, 2)).Message);
        Assert.StartsWith("minRate must be in [0, maxRate = 0.1] (got 0.2).", Assert.Throws<ArgumentOutOfRangeException>("minRate", () => new CosineSchedule(0.1, 5, 0.2)).Message);
        Assert.StartsWith("Nesterov momentum needs a momentum greater than 0 (got momentum = 0).", Assert.Throws<ArgumentException>("nesterov", () => new Momentum(0, nesterov: true)).Message);
        Assert.StartsWith("ProgressInterval must not be negative (got -00:00:01).",
            Assert.Throws<ArgumentOutOfRangeException>("ProgressInterval", () => new TrainerOptions { ProgressInterval = TimeSpan.FromSeconds(-1) }).Message);
    }
}
