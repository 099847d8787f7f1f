namespace FastBackprop.Tests.Networks;

/// <summary>The named, shaped parameter tensors: each kind names its own, they tile the one buffer in order, and each is
/// the same memory as the layer's Weights or Biases view.</summary>
public sealed class ParameterTensorTests
{
    [Fact]
    public void Every_kind_names_its_tensors_and_they_tile_the_buffer_in_order()
    {
        var net = new Network<float>(20, [new(64, Activation.ReLU), LayerSpec.LayerNorm(), LayerSpec.Dropout(0.1), new(3, Activation.Softmax)], seed: 3);
        Assert.Equal(["layer0.weight [64, 20]", "layer0.bias [64]", "layer1.gamma [64]", "layer1.beta [64]", "layer3.weight [3, 64]", "layer3.bias [3]"],
            net.ParameterTensors.Select(t => t.ToString()));
        int next = 0;
        foreach (ParameterTensor t in net.ParameterTensors)
        {
            Assert.Equal(next, t.Offset);
            Assert.Equal(t.Length, t.Shape.Aggregate(1, (p, d) => p * d));
            next += t.Length;
        }
        Assert.Equal(net.Parameters.Length, next);
    }

    [Fact]
    public void A_tensor_is_the_layers_weights_or_biases_view()
    {
        var net = new Network<double>(5, [new(4, Activation.Tanh), LayerSpec.LayerNorm(1e-3), new(2, Activation.Identity)], seed: 4);
        foreach (ParameterTensor t in net.ParameterTensors)
        {
            Span<double> view = net.Parameters.Slice(t.Offset, t.Length);
            Span<double> named = t.Name is "weight" or "gamma" ? net.Weights(t.Layer) : net.Biases(t.Layer);
            Assert.True(System.Runtime.CompilerServices.Unsafe.AreSame(ref view[0], ref named[0]) && view.Length == named.Length, t.ToString());
        }
        // Writing through the named view is writing the layer's parameters: γ of layer 1.
        ParameterTensor gamma = net.ParameterTensors.Single(t => t.Layer == 1 && t.Name == "gamma");
        net.Parameters.Slice(gamma.Offset, gamma.Length).Fill(2);
        Assert.All(net.Weights(1).ToArray(), g => Assert.Equal(2, g));
    }

    [Fact]
    public void A_network_of_dropout_and_dense_layers_only_has_weights_and_biases()
    {
        var net = new Network<float>(3, [LayerSpec.Dropout(0.5), new(1, Activation.Sigmoid)]);
        Assert.Equal([(1, "weight", 3), (1, "bias", 1)], net.ParameterTensors.Select(t => (t.Layer, t.Name, t.Length)));
        Assert.Equal([1, 3], net.ParameterTensors[0].Shape);
    }
}
