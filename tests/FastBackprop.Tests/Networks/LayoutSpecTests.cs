namespace FastBackprop.Tests.Networks;

/// <summary>
/// Where a network's parameters live and what a layer spec accepts, as a specification: each dense layer's W
/// (units × inputs) then b, packed back to back; dropout layers take no room; the dropout rate's limits.
/// </summary>
public class LayoutSpecTests
{
    [Fact]
    public void Dense_layers_store_weights_then_biases_back_to_back()
    {
        var layout = new ParameterLayout([3, 4, 2]);
        Assert.Equal((2, 26), (layout.LayerCount, layout.Count));
        Assert.Equal((0, 12), layout.Weights(0));
        Assert.Equal((12, 4), layout.Biases(0));
        Assert.Equal((16, 8), layout.Weights(1));
        Assert.Equal((24, 2), layout.Biases(1));
        Assert.True(layout.HasParameters(0) && layout.HasParameters(1));
    }

    [Fact]
    public void Dropout_layers_take_no_room()
    {
        var layout = new ParameterLayout([3, 4, 4, 2], [LayerKind.Dense, LayerKind.Dropout, LayerKind.Dense]);
        Assert.Equal(16 + 10, layout.Count);
        Assert.False(layout.HasParameters(1));
        Assert.Equal((16, 0), layout.Weights(1));
        Assert.Equal((16, 0), layout.Biases(1));
        Assert.Equal((16, 8), layout.Weights(2));
        Assert.Equal((24, 2), layout.Biases(2));
        Assert.Equal(26L, ParameterLayout.Total([3, 4, 4, 2], [LayerKind.Dense, LayerKind.Dropout, LayerKind.Dense]));
        Assert.Equal(46L, ParameterLayout.Total([3, 4, 4, 2]));
    }

    [Fact]
    public void A_layer_normalisation_owns_gamma_then_beta_one_per_feature()
    {
        var layout = new ParameterLayout([3, 4, 4, 2], [LayerKind.Dense, LayerKind.LayerNorm, LayerKind.Dense]);
        Assert.Equal(16 + 8 + 10, layout.Count);
        Assert.True(layout.HasParameters(1));
        Assert.Equal((16, 4), layout.Weights(1));
        Assert.Equal((20, 4), layout.Biases(1));
        Assert.Equal((24, 8), layout.Weights(2));
        Assert.Equal(34L, ParameterLayout.Total([3, 4, 4, 2], [LayerKind.Dense, LayerKind.LayerNorm, LayerKind.Dense]));
        Assert.False(layout.SameShape(new ParameterLayout([3, 4, 4, 2], [LayerKind.Dense, LayerKind.Dropout, LayerKind.Dense])));
    }

    [Fact]
    public void The_total_is_exact_beyond_int_and_too_many_parameters_are_refused()
    {
        Assert.Equal((long)(int.MaxValue + 1L) * int.MaxValue, ParameterLayout.Total([int.MaxValue, int.MaxValue]));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ParameterLayout([65536, 65536]));
        Assert.Equal("sizes", e.ParamName);
        // Exactly Array.MaxLength parameters still fit in one array.
        int units = 1, inputs = Array.MaxLength - 1;
        Assert.Equal(Array.MaxLength, ParameterLayout.Total([inputs, units]));
        Assert.Equal(Array.MaxLength, new ParameterLayout([inputs, units]).Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParameterLayout([inputs + 1, units]));
    }

    [Fact]
    public void Layouts_have_the_same_shape_when_sizes_and_kinds_match()
    {
        var layout = new ParameterLayout([3, 4, 2]);
        Assert.True(layout.SameShape(layout));
        Assert.True(layout.SameShape(new ParameterLayout([3, 4, 2])));
        Assert.True(layout.SameShape(new ParameterLayout([3, 4, 2], [LayerKind.Dense, LayerKind.Dense])));
        Assert.False(layout.SameShape(new ParameterLayout([3, 5, 2])));
        Assert.False(new ParameterLayout([3, 3, 2], [LayerKind.Dense, LayerKind.Dropout]).SameShape(new ParameterLayout([3, 3, 2])));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(0.991)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void Dropout_rates_outside_zero_to_099_are_refused(double rate)
        => Assert.Equal("rate", Assert.Throws<ArgumentOutOfRangeException>(() => LayerSpec.Dropout(rate)).ParamName);

    [Fact]
    public void Dropout_rates_up_to_099_are_accepted()
    {
        Assert.Equal((LayerKind.Dropout, 0.99, 0), (LayerSpec.Dropout(0.99).Kind, LayerSpec.Dropout(0.99).Rate, LayerSpec.Dropout(0.99).Units));
        Assert.Equal(double.Epsilon, LayerSpec.Dropout(double.Epsilon).Rate);
        Assert.Equal("Dropout(0.25)", LayerSpec.Dropout(0.25).ToString());
        Assert.Equal(ActivationKind.Identity, LayerSpec.Dropout(0.25).Activation.Kind);
    }

    [Fact]
    public void Dense_specs_are_dense_with_rate_zero()
    {
        LayerSpec dense = LayerSpec.Dense(5, Activation.Tanh);
        Assert.Equal(new LayerSpec(5, Activation.Tanh), dense);
        Assert.Equal((LayerKind.Dense, 0.0), (dense.Kind, dense.Rate));
        Assert.StartsWith("Dense(5, ", dense.ToString(), StringComparison.Ordinal);
    }
}
