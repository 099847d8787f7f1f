namespace FastBackprop.Tests.Training;

public class ScheduleTests
{
    [Fact]
    public void Constant_is_constant()
    {
        LearningRateSchedule s = LearningRateSchedule.Constant(0.03);
        foreach (int e in new[] { 0, 1, 7, 1000 })
            Assert.Equal(0.03, s.RateAt(e));
    }

    [Fact]
    public void Step_decay_multiplies_every_k_epochs()
    {
        LearningRateSchedule s = LearningRateSchedule.StepDecay(0.1, 0.5, 3);
        double[] expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025];
        for (int e = 0; e < expected.Length; e++)
            Assert.Equal(expected[e], s.RateAt(e));
        Assert.Equal(0.1 * Math.Pow(0.5, 33), s.RateAt(100));
        Assert.Equal(0.2, LearningRateSchedule.StepDecay(0.2, 1, 1).RateAt(50));
    }

    [Fact]
    public void Cosine_follows_the_formula_and_clamps_after_the_end()
    {
        const double max = 0.1, min = 0.001;
        const int total = 10;
        LearningRateSchedule s = LearningRateSchedule.Cosine(max, total, min);
        for (int e = 0; e <= total; e++)
            Assert.Equal(min + 0.5 * (max - min) * (1 + Math.Cos(Math.PI * e / total)), s.RateAt(e), 15);
        Assert.Equal(max, s.RateAt(0));
        Assert.Equal(min + 0.5 * (max - min), s.RateAt(5), 15);
        Assert.Equal(min, s.RateAt(total), 15);
        Assert.Equal(s.RateAt(total), s.RateAt(total + 1));
        Assert.Equal(s.RateAt(total), s.RateAt(500));
        Assert.Equal(0, LearningRateSchedule.Cosine(1, 4).RateAt(4), 15);
        Assert.True(LearningRateSchedule.Cosine(1, 4).RateAt(3) > 0);
    }

    [Fact]
    public void Warmup_climbs_linearly_then_runs_the_inner_schedule()
    {
        LearningRateSchedule inner = LearningRateSchedule.StepDecay(0.4, 0.5, 2);
        LearningRateSchedule s = inner.WithLinearWarmup(3);
        Assert.Equal(0.1, s.RateAt(0), 15);
        Assert.Equal(0.2, s.RateAt(1), 15);
        Assert.Equal(0.3, s.RateAt(2), 15);
        Assert.Equal(0.4, s.RateAt(3));
        Assert.Equal(0.4, s.RateAt(4));
        Assert.Equal(0.2, s.RateAt(5));
    }

    [Fact]
    public void Bad_arguments_are_rejected_by_name_and_value()
    {
        void Check(string param, string value, Action create)
        {
            var ex = Assert.ThrowsAny<ArgumentException>(create);
            Assert.Equal(param, ex.ParamName);
            Assert.Contains(value, ex.Message);
        }
        Check("rate", "0", () => LearningRateSchedule.Constant(0));
        Check("rate", "NaN", () => new ConstantSchedule(double.NaN));
        Check("rate", "-1", () => LearningRateSchedule.Constant(-1));
        Check("initialRate", double.PositiveInfinity.ToString(), () => LearningRateSchedule.StepDecay(double.PositiveInfinity, 0.5, 1));
        Check("factor", "0", () => LearningRateSchedule.StepDecay(0.1, 0, 1));
        Check("factor", "1.5", () => LearningRateSchedule.StepDecay(0.1, 1.5, 1));
        Check("everyEpochs", "0", () => LearningRateSchedule.StepDecay(0.1, 0.5, 0));
        Check("maxRate", "0", () => LearningRateSchedule.Cosine(0, 10));
        Check("totalEpochs", "-2", () => LearningRateSchedule.Cosine(0.1, -2));
        Check("minRate", "0.2", () => LearningRateSchedule.Cosine(0.1, 10, 0.2));
        Check("minRate", "-0.1", () => LearningRateSchedule.Cosine(0.1, 10, -0.1));
        Check("warmupEpochs", "0", () => LearningRateSchedule.Constant(0.1).WithLinearWarmup(0));
        Check("epoch", "-1", () => LearningRateSchedule.Constant(0.1).RateAt(-1));
        Assert.Throws<ArgumentNullException>(() => new WarmupSchedule(null!, 2));
    }
}
