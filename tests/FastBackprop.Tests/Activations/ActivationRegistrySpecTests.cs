namespace FastBackprop.Tests.Activations;

/// <summary>
/// The one table of what each activation is outside the kernels (docs/MATH.md's activations; ONNX.md's mapping), as a
/// specification: a row per kind, and each fact the network, the model file, ONNX and the command line read from it.
/// </summary>
public class ActivationRegistrySpecTests
{
    [Fact]
    public void Every_kind_has_its_row()
        => Assert.Equal(Enum.GetValues<ActivationKind>(), ActivationRegistry.All.Select(a => a.Kind));

    [Theory]
    [InlineData(ActivationKind.Identity, null, "Xavier", true, false, false, "")]
    [InlineData(ActivationKind.Sigmoid, "sigmoid", "Xavier", true, false, false, "Sigmoid")]
    [InlineData(ActivationKind.Tanh, "tanh", "Xavier", true, false, false, "Tanh")]
    [InlineData(ActivationKind.ReLU, "relu", "He", true, false, false, "Relu")]
    [InlineData(ActivationKind.LeakyReLU, "leaky-relu", "He", true, false, false, "LeakyRelu")]
    [InlineData(ActivationKind.Step, null, "Xavier", false, false, false, "Relu Sign")]
    [InlineData(ActivationKind.Softmax, null, "Xavier", true, false, true, "Softmax")]
    [InlineData(ActivationKind.SiLU, "silu", "Xavier", true, true, false, "Sigmoid Mul")]
    public void Each_row_states_the_activation(ActivationKind kind, string? cliName, string initialization, bool trainable,
        bool fromPreActivation, bool outputOnly, string onnx)
    {
        ActivationInfo row = ActivationRegistry.Of(kind);
        Assert.Equal((kind, cliName, initialization, trainable, fromPreActivation, outputOnly),
            (row.Kind, row.CliName, row.Initialization.ToString(), row.Trainable, row.DerivativeFromPreActivation, row.OutputOnly));
        Assert.Equal(onnx, string.Join(' ', row.OnnxOperators));
        // What the public Activation reports comes from the row.
        Activation activation = Activation.FromKind(kind);
        Assert.Equal((trainable, fromPreActivation), (activation.IsTrainable, activation.DerivativeNeedsPreActivation));
    }

    [Fact]
    public void The_initialization_follows_the_row()
    {
        // He-normal draws spread as √(2/fan_in) with unbounded tails; Xavier-uniform stays within √(6/(fan_in + fan_out)).
        const int inputs = 400, units = 300;
        double xavierLimit = Math.Sqrt(6.0 / (inputs + units));
        var relu = new Network<double>(inputs, [new(units, Activation.ReLU), new(1, Activation.Identity)], seed: 1);
        var tanh = new Network<double>(inputs, [new(units, Activation.Tanh), new(1, Activation.Identity)], seed: 1);
        Assert.Contains(relu.Weights(0).ToArray(), w => Math.Abs(w) > xavierLimit);
        Assert.All(tanh.Weights(0).ToArray(), w => Assert.True(Math.Abs(w) <= xavierLimit));
    }

    [Fact]
    public void Only_output_only_activations_are_refused_on_hidden_layers()
    {
        foreach (ActivationInfo row in ActivationRegistry.All)
        {
            LayerSpec[] layers = [new(3, Activation.FromKind(row.Kind)), new(2, Activation.Identity)];
            if (row.OutputOnly)
                Assert.StartsWith($"{row.Kind} is only allowed on the output layer, but layer 0 of 2 uses it.",
                    Assert.Throws<ArgumentException>(() => new Network<float>(4, layers)).Message);
            else
                Assert.Equal(2, new Network<float>(4, layers).OutputSize);
        }
    }
}
