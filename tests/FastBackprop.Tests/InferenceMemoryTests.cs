namespace FastBackprop.Tests;

/// <summary>
/// What inference keeps: dropout is the identity at inference and needs no buffer, and the hidden activations alternate
/// between two buffers of the widest dense hidden layer, so memory does not grow with the depth. Measured as the bytes a
/// call allocates (a buffer per layer shows up as layers × batch × width), never by running out of memory.
/// </summary>
[Collection(nameof(GemmThreadCount))]
public class InferenceMemoryTests
{
    private const int Depth = 2_000, Width = 1_000, Batch = 4;

    /// <summary>Depth dropout layers Width wide, then one dense output: the shape of the model file that ran `predict`
    /// out of memory (65,535 layers 100,000 wide), small enough to fail an assertion here instead.</summary>
    private static Network<float> DropoutStack()
    {
        var layers = new List<LayerSpec>();
        for (int l = 0; l < Depth; l++)
            layers.Add(LayerSpec.Dropout(0.5));
        layers.Add(new LayerSpec(3, Activation.Softmax));
        return new Network<float>(Width, layers, seed: 1);
    }

    /// <summary>A per-layer buffer would be Depth × Batch × Width floats (32 MB); allow a few rows and bookkeeping.</summary>
    private const long Bound = 64 * 1024 + 16L * Batch * Width;

    [Fact]
    public void A_deep_dropout_stack_predicts_with_memory_independent_of_its_depth()
    {
        int previous = Parallelism.MaxDegreeOfParallelism;
        try
        {
            Parallelism.MaxDegreeOfParallelism = 1;
            Network<float> network = DropoutStack();
            float[] x = TestData.Uniform<float>(new Random(2), Batch * Width);
            var outputs = new float[Batch * 3];

            long workspace = Allocated(() => network.CreateInferenceWorkspace(Batch));
            Assert.True(workspace < 1024, $"an inference workspace for {Depth} dropout layers took {workspace:N0} bytes");
            InferenceWorkspace<float> w = network.CreateInferenceWorkspace(Batch);
            long predict = Allocated(() => network.Predict(x, Batch, outputs, w));
            Assert.True(predict < Bound, $"Predict allocated {predict:N0} bytes");
            long forward = Allocated(() => network.Forward(x, Batch, outputs));
            Assert.True(forward < Bound, $"Forward allocated {forward:N0} bytes");
            var model = new Model<float>(network);
            long modelPredict = Allocated(() => model.Predict(x, Batch, outputs));
            Assert.True(modelPredict < Bound, $"Model.Predict allocated {modelPredict:N0} bytes");
            long loss = Allocated(() => network.ComputeLoss(x, [0, 1, 2, 0], Batch, Loss.SoftmaxCrossEntropy, outputs));
            Assert.True(loss < Bound, $"ComputeLoss allocated {loss:N0} bytes");
            long frozen = Allocated(() => network.Freeze().Predict(x, Batch, outputs, w));
            // Freezing copies the network: its parameters, packed, and an object per layer (not per layer and row).
            Assert.True(frozen < Bound + 256L * Depth, $"Freeze and Predict allocated {frozen:N0} bytes");
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void The_workspace_holds_two_buffers_of_the_widest_dense_hidden_layer()
    {
        // 50 → 300 → dropout → 200 → dropout → 7: the two buffers hold 300 values per row; the input (50) and the output (7)
        // are the caller's, and the dropout layers (300, 200) pass their input on.
        var network = new Network<double>(50, [new(300, Activation.ReLU), LayerSpec.Dropout(0.2), new(200, Activation.Tanh), LayerSpec.Dropout(0.2),
            new(7, Activation.Softmax)]);
        network.CreateInferenceWorkspace(1);
        Assert.InRange(Allocated(() => network.CreateInferenceWorkspace(10)), 2 * 10 * 300 * 8, 2 * 10 * 300 * 8 + 512);
        // One dense hidden layer needs one buffer; none needs none.
        var one = new Network<double>(50, [new(300, Activation.ReLU), LayerSpec.Dropout(0.2), new(7, Activation.Softmax)]);
        Assert.InRange(Allocated(() => one.CreateInferenceWorkspace(10)), 10 * 300 * 8, 10 * 300 * 8 + 512);
        var none = new Network<double>(50, [LayerSpec.Dropout(0.2), new(7, Activation.Softmax)]);
        Assert.InRange(Allocated(() => none.CreateInferenceWorkspace(10)), 0, 512);
    }

    /// <summary>Dropout is the identity at inference: a network predicts bit for bit what the same weights without its
    /// dropout layers predict, through every entry point (Forward, Predict, a frozen copy, the outputs of ComputeLoss, a
    /// model), fused or not, for one row and for a batch (one row and a batch may differ from each other: the
    /// kernels for a single row sum in another order).</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Dropout_layers_change_no_prediction_bit(bool fused)
    {
        LayerSpec[] withDropout = [LayerSpec.Dropout(0.3), new(40, Activation.ReLU), LayerSpec.Dropout(0.5), LayerSpec.Dropout(0.1),
            new(24, Activation.SiLU), LayerSpec.Dropout(0.4), new(5, Activation.Softmax)];
        var network = new Network<float>(17, withDropout, seed: 4) { UseFusedKernels = fused };
        LayerSpec[] dense = [.. withDropout.Where(l => l.Kind == LayerKind.Dense)];
        var plain = new Network<float>(17, dense, seed: 9) { UseFusedKernels = fused };
        for (int l = 0, d = 0; l < withDropout.Length; l++)
        {
            if (withDropout[l].Kind != LayerKind.Dense)
                continue;
            plain.SetWeights(d, network.Weights(l));
            plain.SetBiases(d++, network.Biases(l));
        }

        foreach (int rows in new[] { 1, 37 })
        {
            float[] x = TestData.Uniform<float>(new Random(6), rows * 17);
            var expected = new float[rows * 5];
            plain.Forward(x, rows, expected);
            foreach ((string name, float[] actual) in PredictionsOf(network, x, rows))
                Bits.Equal<float>(expected, actual, $"{name}, {rows} row(s), fused {fused}");
            foreach ((string name, float[] actual) in PredictionsOf(plain, x, rows))
                Bits.Equal<float>(expected, actual, $"{name} of the network without dropout, {rows} row(s), fused {fused}");
        }
    }

    private static IEnumerable<(string, float[])> PredictionsOf(Network<float> network, float[] x, int rows)
    {
        int m = network.OutputSize;
        var forward = new float[rows * m];
        network.Forward(x, rows, forward);
        yield return ("Forward", forward);
        var predict = new float[rows * m];
        network.Predict(x, rows, predict, network.CreateInferenceWorkspace(rows));
        yield return ("Predict", predict);
        var frozen = new float[rows * m];
        network.Freeze().Predict(x, rows, frozen, network.CreateInferenceWorkspace(rows));
        yield return ("FrozenNetwork.Predict", frozen);
        var model = new float[rows * m];
        new Model<float>(network).Predict(x, rows, model);
        yield return ("Model.Predict", model);
        var loss = new float[rows * m];
        network.ComputeLoss(x, new int[rows], rows, Loss.SoftmaxCrossEntropy, loss);
        yield return ("ComputeLoss outputs", loss);
    }

    private static long Allocated(Action body)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        body();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
