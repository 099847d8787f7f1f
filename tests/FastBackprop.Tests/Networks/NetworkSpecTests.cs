namespace FastBackprop.Tests.Networks;

/// <summary>
/// The network's own rules, stated once each: what a layer list may hold (with the layer and the value in the message),
/// when dropout draws new masks, which passes are inference passes, and what the evaluation workspace costs.
/// </summary>
public class NetworkSpecTests
{
    private static readonly Activation Tanh = Activation.Tanh;

    public static TheoryData<string, LayerSpec[], string> RefusedLayerLists => new()
    {
        { "no layers", [], "A network needs at least one layer." },
        { "dropout last", [new(3, Tanh), LayerSpec.Dropout(0.5)], "The last layer must be dense (it feeds the loss), but layer 1 is Dropout(0.5)." },
        { "dropout rate 1 set internally after the factory", [LayerSpec.Dropout(0.5) with { Value = 1 }, new(2, Tanh)], "Layer 0's dropout rate must be in (0, 0.99]." },
        { "dropout rate 0 set internally after the factory", [new(3, Tanh), LayerSpec.Dropout(0.5) with { Value = 0 }, new(2, Tanh)], "Layer 1's dropout rate must be in (0, 0.99]." },
        { "unknown kind", [new LayerSpec(3, Tanh) { Kind = (LayerKind)9 }], "Layer 0 has an unknown kind." },
        { "zero units", [new(3, Tanh), new(0, Tanh)], "Layer 1 has 0 units; it needs at least 1." },
        { "softmax inside", [new(3, Activation.Softmax), new(2, Tanh)], "Softmax is only allowed on the output layer, but layer 0 of 2 uses it." },
    };

    [Theory]
    [MemberData(nameof(RefusedLayerLists))]
    public void A_layer_list_that_breaks_a_rule_is_refused_naming_the_layer(string name, LayerSpec[] layers, string message)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => new Network<float>(4, layers));
        Assert.Equal("layers", ex.ParamName);
        Assert.StartsWith(message, ex.Message);
        Assert.False(string.IsNullOrEmpty(name));
    }

    /// <summary>A dropout rate outside (0, 0.99] is refused by the factory, quoting the range and the value; 0.99 itself is allowed.</summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.995)]
    [InlineData(double.NaN)]
    public void The_dropout_factory_quotes_its_range(double rate)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>("rate", () => LayerSpec.Dropout(rate));
        Assert.StartsWith($"A dropout rate must be in (0, 0.99] (got {rate}).", ex.Message);
        Assert.Equal(0.99, LayerSpec.Dropout(0.99).Rate);
    }

    /// <summary>Too many parameters for one array: refused before anything is allocated, with the exact count.</summary>
    [Fact]
    public void A_network_too_large_for_one_array_names_its_parameter_count()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>("layers", () => new Network<float>(50_000, [new(50_000, Tanh)]));
        Assert.StartsWith($"A [50000-50000] network has {2_500_050_000L:N0} parameters, more than one array can hold", ex.Message);
    }

    [Fact]
    public void HasDropout_says_whether_any_layer_is_dropout()
    {
        Assert.False(new Network<float>(2, [new(3, Tanh), new(1, Tanh)]).HasDropout);
        Assert.True(new Network<float>(2, [new(3, Tanh), LayerSpec.Dropout(0.2), new(1, Tanh)]).HasDropout);
    }

    /// <summary>Every training pass draws new dropout masks (the step advances by one); inference passes — Forward, Predict,
    /// ComputeLoss — use no masks and leave the step alone, so ComputeLoss is the loss of Forward's outputs.</summary>
    [Fact]
    public void Only_training_passes_advance_the_dropout_step()
    {
        var network = new Network<float>(3, [new(8, Tanh), LayerSpec.Dropout(0.5), new(2, Activation.Identity)], seed: 4);
        float[] x = [0.1f, -0.2f, 0.3f, 0.5f, 0.4f, -0.6f];
        float[] y = [0.2f, 0.1f, -0.3f, 0.4f];
        Gradients<float> gradients = network.CreateGradients();
        ulong step = network.DropoutStep;

        var outputs = new float[4];
        network.Forward(x, 2, outputs);
        float lossAlone = network.ComputeLoss(x, y, 2, Loss.MeanSquaredError);
        float lossAgain = network.ComputeLoss(x, y, 2, Loss.MeanSquaredError);
        network.Predict(x, 2, new float[4], network.CreateInferenceWorkspace(2));
        Assert.Equal(step, network.DropoutStep);
        Assert.Equal(lossAlone, lossAgain);
        double expected = 0;
        for (int i = 0; i < 4; i++)
            expected += 0.5 * (outputs[i] - y[i]) * (outputs[i] - y[i]);
        Assert.Equal(expected / 2, lossAlone, 1e-6);

        network.ComputeGradients(x, y, 2, Loss.MeanSquaredError, gradients);
        Assert.Equal(step + 1, network.DropoutStep);
        network.TrainStep(x, y, 2, Loss.MeanSquaredError, 0.01);
        Assert.Equal(step + 2, network.DropoutStep);
    }

    /// <summary>Forward keeps its workspace while batches fit it: a second call with the same batch allocates nothing.</summary>
    [Fact]
    public void Forward_reuses_its_workspace_for_a_batch_that_fits()
    {
        var network = new Network<float>(3, [new(8, Tanh), new(2, Activation.Identity)], seed: 5);
        float[] x = new float[9], outputs = new float[6];
        network.Forward(x, 3, outputs);
        long before = GC.GetAllocatedBytesForCurrentThread();
        network.Forward(x, 3, outputs);
        network.Forward(x.AsSpan(0, 6), 2, outputs.AsSpan(0, 4));
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Out-of-range layer indices name the range and the index.</summary>
    [Fact]
    public void Layer_indices_out_of_range_name_the_range()
    {
        var network = new Network<float>(3, [new(4, Tanh), new(2, Activation.Identity)]);
        Assert.StartsWith("layer must be in [0, 2) (got -1).", Assert.Throws<ArgumentOutOfRangeException>("layer", () => network.Weights(-1)).Message);
        Assert.StartsWith("layer must be in [0, 2) (got 2).", Assert.Throws<ArgumentOutOfRangeException>("layer", () => network.Biases(2)).Message);
        Gradients<float> gradients = network.CreateGradients();
        Assert.StartsWith("layer must be in [0, 2).", Assert.Throws<ArgumentOutOfRangeException>("layer", () => gradients.Weights(-1)).Message);
        Assert.StartsWith("layer must be in [0, 2).", Assert.Throws<ArgumentOutOfRangeException>("layer", () => gradients.Biases(2)).Message);
    }

    /// <summary>Class indices go with softmax cross-entropy only, in every entry point that takes them.</summary>
    [Fact]
    public void Class_indices_need_softmax_cross_entropy_everywhere()
    {
        var network = new Network<float>(2, [new(3, Activation.Sigmoid)], seed: 6);
        float[] x = [0.1f, 0.2f];
        int[] classes = [1];
        const string message = "Class indices need softmax cross-entropy, not BinaryCrossEntropy.";
        Assert.StartsWith(message, Assert.Throws<ArgumentException>("loss", () => network.ComputeGradients(x, classes, 1, Loss.BinaryCrossEntropy, network.CreateGradients())).Message);
        Assert.StartsWith(message, Assert.Throws<ArgumentException>("loss", () => network.ComputeLoss(x, classes, 1, Loss.BinaryCrossEntropy)).Message);
        Assert.StartsWith(message, Assert.Throws<ArgumentException>("loss", () => network.TrainStep(x, classes, 1, Loss.BinaryCrossEntropy, 0.1)).Message);
    }
}
