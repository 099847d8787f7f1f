namespace FastBackprop.Tests.Onnx;

/// <summary>The networks and data the ONNX tests share: the library-only round trips here and the ONNX Runtime project
/// (which compiles this file as a link, so it stays free of this project's dependencies).</summary>
internal static class OnnxTestModels
{
    public static float[] RandomValues(Random random, int n, double scale = 1)
        => Enumerable.Range(0, n).Select(_ => (float)(scale * (2 * random.NextDouble() - 1))).ToArray();

    /// <summary>A network with non-zero biases (a bias dropped or misplaced on the way must show).</summary>
    public static Network<float> Net(int seed, int inputs, params LayerSpec[] layers)
    {
        var net = new Network<float>(inputs, layers, seed);
        var random = new Random(seed);
        for (int l = 0; l < net.LayerCount; l++)
            net.SetBiases(l, RandomValues(random, net.Biases(l).Length, 0.5));
        return net;
    }

    /// <summary>A standardiser fitted to columns with different offsets and a wide spread.</summary>
    public static Standardizer<float> Scaler(int seed, int features, double spread = 30)
    {
        float[] data = RandomValues(new Random(seed), 40 * features, spread);
        for (int i = 0; i < data.Length; i++)
            data[i] += i % features * 7;
        return Standardizer<float>.Fit(data, features);
    }
}
