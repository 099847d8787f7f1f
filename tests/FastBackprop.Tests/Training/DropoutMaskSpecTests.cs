namespace FastBackprop.Tests.Training;

/// <summary>
/// Dropout masks as a specification: SplitMix64's finaliser gives the hash (its published outputs), a value is dropped
/// when the top 32 bits of hash(seed, step, layer, position) fall below rate·2³², every other value is scaled by
/// 1/(1 − rate), and the mask depends on the seed, the step and the layer, and on nothing else.
/// </summary>
public class DropoutMaskSpecTests
{
    /// <summary>SplitMix64 from state 0 (each output is the finaliser of state + k·golden gamma, and the finaliser adds the
    /// gamma itself): the reference implementation's first outputs.</summary>
    [Fact]
    public void The_hash_is_splitmix64()
    {
        Assert.Equal(0xE220A8397B1DCDAFUL, DropoutLayer<float>.Mix(0));
        Assert.Equal(0x6E789E6AA1B965F4UL, DropoutLayer<float>.Mix(0x9E3779B97F4A7C15UL));
        Assert.Equal(0x06C45D188009454FUL, DropoutLayer<float>.Mix(unchecked(2 * 0x9E3779B97F4A7C15UL)));
    }

    /// <summary>The mask of one step, recomputed from the rule: key = Mix(seed ^ Mix(step·γ + layer + 1)), value i dropped
    /// when Mix(key + i) >> 32 &lt; round(rate·2³²).</summary>
    [Theory]
    [InlineData(0.5, 0, 0UL, 0UL)]
    [InlineData(0.1, 1, 7UL, 3UL)]
    [InlineData(0.75, 4, 123456789UL, 1000UL)]
    public void Mask_follows_the_hash_rule(double rate, int layer, ulong seed, ulong step)
    {
        var dropout = new DropoutLayer<double>(layer, 257, rate);
        var mask = new double[257];
        dropout.DrawMask(mask, seed, step);
        ulong threshold = (ulong)Math.Round(rate * 4294967296.0);
        ulong key = DropoutLayer<double>.Mix(seed ^ DropoutLayer<double>.Mix(unchecked(step * 0x9E3779B97F4A7C15UL + (ulong)layer + 1)));
        for (int i = 0; i < mask.Length; i++)
        {
            bool dropped = DropoutLayer<double>.Mix(unchecked(key + (ulong)i)) >> 32 < threshold;
            Assert.Equal(dropped ? 0 : 1 / (1 - rate), mask[i]);
        }
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void About_rate_of_the_values_are_dropped_and_the_rest_scaled(double rate)
    {
        var mask = new float[100_000];
        new DropoutLayer<float>(0, mask.Length, rate).DrawMask(mask, seed: 11, step: 2);
        int dropped = mask.Count(m => m == 0);
        Assert.InRange(dropped / (double)mask.Length, rate - 0.01, rate + 0.01);
        Assert.All(mask, m => Assert.True(m == 0 || m == (float)(1 / (1 - rate)), $"mask value {m}"));
    }

    /// <summary>Rate 0 drops nothing (every value kept at scale 1); a rate below one part in 2³³ rounds to 0 too.</summary>
    [Fact]
    public void Rate_zero_keeps_every_value()
    {
        foreach (double rate in new[] { 0, 1e-12 })
        {
            var mask = new double[10_000];
            new DropoutLayer<double>(0, mask.Length, rate).DrawMask(mask, seed: 3, step: 9);
            Assert.All(mask, m => Assert.Equal(1 / (1 - rate), m));
        }
    }

    [Fact]
    public void Masks_differ_by_seed_step_and_layer_and_repeat_otherwise()
    {
        double[] Draw(int layer, ulong seed, ulong step)
        {
            var mask = new double[512];
            new DropoutLayer<double>(layer, mask.Length, 0.5).DrawMask(mask, seed, step);
            return mask;
        }

        double[] reference = Draw(1, 5, 8);
        Assert.Equal(reference, Draw(1, 5, 8));
        Assert.NotEqual(reference, Draw(2, 5, 8));
        Assert.NotEqual(reference, Draw(0, 5, 8));
        Assert.NotEqual(reference, Draw(1, 6, 8));
        Assert.NotEqual(reference, Draw(1, 5, 9));
        Assert.NotEqual(reference, Draw(1, 5, 7));
        // Layer 0 at step 0 with seed 0 is not degenerate either.
        Assert.Contains(0.0, Draw(0, 0, 0));
        Assert.Contains(2.0, Draw(0, 0, 0));
    }

    [Fact]
    public void A_dropout_layer_describes_itself_and_is_the_identity_outside_training()
    {
        var dropout = new DropoutLayer<float>(3, 6, 0.25);
        Assert.Equal(0.25, dropout.Rate);
        Assert.Equal(LayerSpec.Dropout(0.25) with { Units = 6 }, dropout.Spec);
        Assert.False(dropout.WritesOutput);
        float[] input = [1, 2, 3, 4, 5, 6];
        Assert.True(dropout.Predict(input, new float[6], 1, fused: false, packedWeights: null) == input);
    }
}
