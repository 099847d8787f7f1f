namespace FastBackprop.Tests;

/// <summary>Networks whose weights are each finite but overflow together on some inputs.</summary>
public static class HostileNetworks
{
    /// <summary>
    /// Two inputs; two ReLU hidden units that both compute relu(x0 − x1 + <paramref name="bias"/>) — the weights w and −w
    /// cancel on every constant row — and one identity output 3e38·h0 − 3e38·h1: exactly 0 while h ≤ 1.13, but beyond
    /// that each product overflows and the output is ∞ − ∞ (NaN, or ±∞ where the GEMM fuses the multiply-add).
    /// With bias −10 the output is finite unless x0 − x1 &gt; 11.1: no probe of standardised inputs meets that; with
    /// bias 0 one row in five of standard normals does. With <paramref name="classes"/> the output is a softmax whose
    /// first logit is that difference and the others 0.
    /// </summary>
    public static Network<float> Cancelling(float bias = -10, int classes = 0)
    {
        var network = new Network<float>(2, [new(2, Activation.ReLU), classes == 0 ? new(1, Activation.Identity) : new(classes, Activation.Softmax)]);
        network.SetWeights(0, [1, -1, 1, -1]);
        network.SetBiases(0, [bias, bias]);
        float[] output = new float[network.Weights(1).Length];
        output[0] = 3e38f;
        output[1] = -3e38f;
        network.SetWeights(1, output);
        network.SetBiases(1, new float[network.Biases(1).Length]);
        return network;
    }
}
