using System.Numerics;

namespace FastBackprop.Tests.Training;

/// <summary>
/// Each optimizer against <see cref="ReferenceOptimizer"/> (torch.optim's formulas in plain double) for several steps on
/// buffers of awkward lengths (past every vector width, with tails), plus exact hand-computed Adam steps, bit-identical
/// vector and tail paths, state binding and hyper-parameter validation.
/// </summary>
public class OptimizerTests
{
    public static readonly int[] Lengths = [1, 7, 17, 33, 1000];

    internal static readonly OptimizerCase[] AllCases =
    [
        new("SGD", "sgd"),
        new("SGD, λ 0.01", "sgd", WeightDecay: 0.01),
        new("momentum 0.9", "momentum", Momentum: 0.9),
        new("momentum 0.5, λ 0.1", "momentum", WeightDecay: 0.1, Momentum: 0.5),
        new("Nesterov 0.9", "momentum", Momentum: 0.9, Nesterov: true),
        new("Nesterov 0.8, λ 0.05", "momentum", WeightDecay: 0.05, Momentum: 0.8, Nesterov: true),
        new("Adam", "adam"),
        new("Adam, λ 0.01", "adam", WeightDecay: 0.01),
        new("Adam 0.8/0.99, ε 0.1, λ 0.1", "adam", WeightDecay: 0.1, Beta1: 0.8, Beta2: 0.99, Epsilon: 0.1),
        new("AdamW", "adamw", WeightDecay: 0.01),
        new("AdamW 0.5/0.9, ε 0.1, λ 0.2", "adamw", WeightDecay: 0.2, Beta1: 0.5, Beta2: 0.9, Epsilon: 0.1),
        new("AdamW, λ 0", "adamw", WeightDecay: 0),
    ];

    public static IEnumerable<object[]> Cases => AllCases.Select(c => new object[] { c });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float_matches_the_reference(OptimizerCase c) => MatchesReference<float>(c, steps: 5);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Double_matches_the_reference(OptimizerCase c) => MatchesReference<double>(c, steps: 4);

    /// <summary>
    /// Error bound: a correct implementation rounds a handful of times per element per step (the coupled decay, the moment
    /// updates, the square root, the division, the step; the hyper-parameters once each), each error at most u = 2^-p of
    /// the magnitudes involved, and the moments carry earlier steps' errors forward. So after K steps
    /// |θ − θ_ref| ≤ 8·u·K·Σ_steps(|θ_before| + |θ_after| + |update on absolute values|). The reference's own double
    /// rounding is of the same order for T = double and negligible for float. A wrong formula (bias correction, ε inside
    /// the root, decay coupled or not) is off by orders of magnitude more.
    /// </summary>
    internal static void MatchesReference<T>(OptimizerCase c, int steps) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double u = typeof(T) == typeof(float) ? Math.Pow(2, -24) : Math.Pow(2, -53);
        var random = new Random(c.Name.Length * 7919 + typeof(T).Name.Length);
        foreach (int n in Lengths)
        {
            double[] initial = RandomVector(random, n, scale: 2);
            T[] parameters = initial.Select(T.CreateChecked).ToArray();
            var reference = new ReferenceOptimizer(c, initial.Select(x => double.CreateChecked(T.CreateChecked(x))).ToArray());
            Optimizer optimizer = c.Create();
            for (int step = 0; step < steps; step++)
            {
                double[] g = RandomVector(random, n, scale: step % 2 == 0 ? 1 : 1e-3);
                double lr = 0.1 / (step + 1);
                T[] gradients = g.Select(T.CreateChecked).ToArray();
                reference.Step(gradients.Select(x => double.CreateChecked(x)).ToArray(), lr);
                optimizer.Step(parameters.AsSpan(), gradients, lr);
            }
            Assert.Equal(steps, optimizer.StepCount);
            Assert.Equal(n, optimizer.ParameterCount);
            double[] bound = reference.Scale.Select(s => 8 * u * steps * s).ToArray();
            Close.Within<T>(parameters, reference.Theta, bound, $"{c} ({typeof(T).Name}, n = {n})");
        }
    }

    /// <summary>Values in [−scale, scale] with an exact zero and a tiny value mixed in.</summary>
    private static double[] RandomVector(Random random, int n, double scale)
    {
        var x = new double[n];
        for (int i = 0; i < n; i++)
            x[i] = (2 * random.NextDouble() - 1) * scale;
        if (n > 3)
        {
            x[1] = 0;
            x[2] = 1e-9;
        }
        return x;
    }

    /// <summary>θ = 1, g = 2, β₁ = 0.5, β₂ = 0.75, ε = 0.25, η = 0.25, t = 1: m = 1, v = 1, m̂ = 1/(1 − 0.5) = 2,
    /// v̂ = 1/(1 − 0.75) = 4, θ ← 1 − 0.25·2/(√4 + 0.25) = 1 − 0.5/2.25; every step of that is exact but the last
    /// division and subtraction, so the implementation must give exactly these bits.</summary>
    [Fact]
    public void Adam_first_step_by_hand_is_exact()
    {
        var d = new double[] { 1 };
        new Adam(beta1: 0.5, beta2: 0.75, epsilon: 0.25).Step(d.AsSpan(), [2.0], 0.25);
        Assert.Equal(1 - 0.5 / 2.25, d[0]);

        var f = new float[] { 1 };
        new Adam(beta1: 0.5, beta2: 0.75, epsilon: 0.25).Step(f.AsSpan(), [2f], 0.25);
        Assert.Equal(1f - 0.5f / 2.25f, f[0]);

        // AdamW with λ = 0.5: θ ← 1·(1 − 0.25·0.5) = 0.875 first, then the same Adam step (decay not in the gradient).
        var w = new double[] { 1 };
        new AdamW(beta1: 0.5, beta2: 0.75, epsilon: 0.25, weightDecay: 0.5).Step(w.AsSpan(), [2.0], 0.25);
        Assert.Equal(0.875 - 0.5 / 2.25, w[0]);

        // Adam with L2 λ = 0.5: g′ = 2 + 0.5·1 = 2.5, m̂ = 2.5, v̂ = 6.25, θ ← 1 − 0.25·2.5/(2.5 + 0.25).
        var l2 = new double[] { 1 };
        new Adam(beta1: 0.5, beta2: 0.75, epsilon: 0.25, weightDecay: 0.5).Step(l2.AsSpan(), [2.0], 0.25);
        Assert.Equal(1 - 0.625 / 2.75, l2[0]);
    }

    /// <summary>Second step of the same run: g = 1, m = 1, v = 1, m̂ = 1/0.75, v̂ = 1/0.4375 (bias corrections 1 − β^2).</summary>
    [Fact]
    public void Adam_second_step_by_hand()
    {
        var d = new double[] { 1 };
        var adam = new Adam(beta1: 0.5, beta2: 0.75, epsilon: 0.25);
        adam.Step(d.AsSpan(), [2.0], 0.25);
        double after1 = d[0];
        adam.Step(d.AsSpan(), [1.0], 0.25);
        double expected = after1 - 0.25 * (1 / 0.75) / (Math.Sqrt(1 / 0.4375) + 0.25);
        Close.Relative(d[0], expected, 0, 4e-16, "θ after two Adam steps");
        Assert.Equal(2, adam.StepCount);
    }

    /// <summary>Momentum by hand: v₁ = g′ = 1 + 0.5·2 = 2 (λ = 0.5, θ = 2), θ₁ = 2 − 0.5·2 = 1; then g = 1:
    /// g′ = 1.5, v₂ = 0.5·2 + 1.5 = 2.5, θ₂ = 1 − 0.5·2.5 = −0.25. Nesterov: θ₁ = 2 − 0.5·(2 + 0.5·2) = 0.5.</summary>
    [Fact]
    public void Momentum_and_sgd_by_hand()
    {
        var p = new double[] { 2 };
        var momentum = new Momentum(0.5, weightDecay: 0.5);
        momentum.Step(p.AsSpan(), [1.0], 0.5);
        Assert.Equal(1, p[0]);
        momentum.Step(p.AsSpan(), [1.0], 0.5);
        Assert.Equal(-0.25, p[0]);

        var q = new double[] { 2 };
        new Momentum(0.5, nesterov: true, weightDecay: 0.5).Step(q.AsSpan(), [1.0], 0.5);
        Assert.Equal(0.5, q[0]);

        var s = new float[] { 2 };
        new Sgd(weightDecay: 0.25).Step(s.AsSpan(), [1f], 0.5);   // 2 − 0.5·(1 + 0.5) = 1.25
        Assert.Equal(1.25f, s[0]);
    }

    /// <summary>The vector body and the scalar tail run the same operations: every element of a 1000-long buffer ends with
    /// the bits it gets when stepped alone in a buffer of length 1 (always the scalar path).</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Vector_body_and_scalar_tail_agree_bit_for_bit(OptimizerCase c)
    {
        BodyAndTailAgree<float>(c);
        BodyAndTailAgree<double>(c);
    }

    private static void BodyAndTailAgree<T>(OptimizerCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const int n = 1000, steps = 3;
        var random = new Random(5);
        T[] all = RandomVector(random, n, 1).Select(T.CreateChecked).ToArray();
        T[][] gradients = Enumerable.Range(0, steps).Select(_ => RandomVector(random, n, 1).Select(T.CreateChecked).ToArray()).ToArray();
        T[] singles = (T[])all.Clone();

        Optimizer whole = c.Create();
        for (int s = 0; s < steps; s++)
            whole.Step(all.AsSpan(), gradients[s], 0.05);
        foreach (int i in new[] { 0, 1, 2, 15, 16, 17, 500, 990, 999 })
        {
            Optimizer one = c.Create();
            for (int s = 0; s < steps; s++)
                one.Step(singles.AsSpan(i, 1), gradients[s].AsSpan(i, 1), 0.05);
            Assert.True(Bits.Of(all[i]) == Bits.Of(singles[i]), $"{c} ({typeof(T).Name}): element {i} is {all[i]} in the buffer but {singles[i]} alone.");
        }
    }

    [Fact]
    public void Steps_do_not_allocate_after_the_first()
    {
        var parameters = new float[1000];
        var gradients = new float[1000];
        gradients.AsSpan().Fill(0.5f);
        foreach (OptimizerCase c in AllCases)
        {
            Optimizer optimizer = c.Create();
            for (int i = 0; i < 3; i++)
                optimizer.Step(parameters.AsSpan(), gradients, 0.01);
            Assert.Equal(0, Allocations.Fewest(() =>
            {
                for (int i = 0; i < 10; i++)
                    optimizer.Step(parameters.AsSpan(), gradients, 0.01);
            }));
        }
    }

    [Fact]
    public void Network_overload_steps_the_parameter_buffer()
    {
        var a = new Network<float>(3, [new(5, Activation.Tanh), new(2, Activation.Identity)], seed: 3);
        var b = new Network<float>(3, [new(5, Activation.Tanh), new(2, Activation.Identity)], seed: 3);
        Gradients<float> g = a.CreateGradients();
        a.ComputeGradients([1, 2, 3, -1, 0, 1], [0.5f, -0.5f, 1, 1], 2, Loss.MeanSquaredError, g);
        new Adam().Step(a, g, 0.01);
        new Adam().Step(b.Parameters, g.Values, 0.01);
        Bits.Equal<float>(b.Parameters, a.Parameters, "parameters");

        var other = new Network<float>(3, [new(4, Activation.Tanh), new(2, Activation.Identity)]);
        var ex = Assert.Throws<ArgumentException>(() => new Adam().Step(other, g, 0.01));
        Assert.Equal("gradients", ex.ParamName);
        Assert.Throws<ArgumentNullException>(() => new Adam().Step<float>(null!, g, 0.01));
    }

    [Fact]
    public void State_is_bound_to_one_length_and_type_until_reset()
    {
        var adam = new Adam();
        Assert.Null(adam.ParameterCount);
        adam.Step(new float[7].AsSpan(), new float[7], 0.1);
        var ex = Assert.Throws<ArgumentException>(() => adam.Step(new float[8].AsSpan(), new float[8], 0.1));
        Assert.Equal("parameters", ex.ParamName);
        Assert.Contains("8", ex.Message);
        Assert.Contains("7", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => adam.Step(new double[7].AsSpan(), new double[7], 0.1));
        Assert.Contains("Single", ex.Message);
        Assert.Equal(1, adam.StepCount);

        ex = Assert.Throws<ArgumentException>(() => new Momentum().Step(new float[7].AsSpan(), new float[6], 0.1));
        Assert.Equal("gradients", ex.ParamName);
        Assert.Contains("6", ex.Message);
        Assert.Contains("7", ex.Message);

        adam.Reset();
        Assert.Equal(0, adam.StepCount);
        Assert.Null(adam.ParameterCount);
        adam.Step(new double[8].AsSpan(), new double[8], 0.1);
        Assert.Equal(8, adam.ParameterCount);
    }

    /// <summary>After Reset the optimizer behaves exactly like a new one (moments cleared, t back to 1).</summary>
    [Fact]
    public void Reset_restarts_from_zero_state()
    {
        float[] g = [0.5f, -2, 3, 0.25f, 1, -1, 4, 0.1f, -0.3f];
        var fresh = new float[9];
        var reused = new float[9];
        var adam = new Adam(weightDecay: 0.1);
        adam.Step(new float[9].AsSpan(), g, 0.3);
        adam.Step(new float[9].AsSpan(), g, 0.3);
        adam.Reset();
        adam.Step(reused.AsSpan(), g, 0.1);
        new Adam(weightDecay: 0.1).Step(fresh.AsSpan(), g, 0.1);
        Bits.Equal<float>(fresh, reused, "after Reset");
    }

    public static IEnumerable<object[]> BadHyperParameters()
    {
        object[] Case(string param, double value, Func<Optimizer> create) => [param, value, create];
        foreach (double bad in new[] { -0.1, double.NaN, double.PositiveInfinity })
        {
            yield return Case("weightDecay", bad, () => new Sgd(bad));
            yield return Case("weightDecay", bad, () => new Momentum(weightDecay: bad));
            yield return Case("weightDecay", bad, () => new Adam(weightDecay: bad));
            yield return Case("weightDecay", bad, () => new AdamW(weightDecay: bad));
        }
        foreach (double bad in new[] { -0.1, 1.0, 1.5, double.NaN })
        {
            yield return Case("momentum", bad, () => new Momentum(bad));
            yield return Case("beta1", bad, () => new Adam(beta1: bad));
            yield return Case("beta2", bad, () => new Adam(beta2: bad));
            yield return Case("beta1", bad, () => new AdamW(beta1: bad));
            yield return Case("beta2", bad, () => new AdamW(beta2: bad));
        }
        foreach (double bad in new[] { 0.0, -1e-8, double.NaN, double.PositiveInfinity })
        {
            yield return Case("epsilon", bad, () => new Adam(epsilon: bad));
            yield return Case("epsilon", bad, () => new AdamW(epsilon: bad));
        }
    }

    [Theory]
    [MemberData(nameof(BadHyperParameters))]
    public void Bad_hyper_parameters_are_rejected_by_name_and_value(string param, double value, Func<Optimizer> create)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => create());
        Assert.Equal(param, ex.ParamName);
        Assert.Contains(value.ToString(), ex.Message);
    }

    [Fact]
    public void Nesterov_without_momentum_is_rejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Momentum(0, nesterov: true));
        Assert.Equal("nesterov", ex.ParamName);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.01)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Bad_learning_rate_is_rejected_and_changes_nothing(double lr)
    {
        foreach (OptimizerCase c in AllCases)
        {
            Optimizer optimizer = c.Create();
            float[] p = [1, 2, 3];
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.Step(p.AsSpan(), [1f, 1, 1], lr));
            Assert.Equal("learningRate", ex.ParamName);
            Assert.Contains(lr.ToString(), ex.Message);
            Assert.Equal([1f, 2, 3], p);
            Assert.Equal(0, optimizer.StepCount);
            Assert.Null(optimizer.ParameterCount);
        }
    }
}
