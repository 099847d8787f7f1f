using System.Runtime.InteropServices;
using FastBackprop.Hardware;
using FastBackprop.Kernels.Int8;

namespace FastBackprop.Tests.Int8;

/// <summary>
/// <see cref="QuantizedNetwork"/> as a service uses it: the same bits on every int8 path and register width this CPU runs,
/// for every thread count and whatever else is in the batch; safe from many threads; nothing allocated per call; arguments
/// checked like <see cref="FrozenNetwork{T}.Predict"/>.
/// </summary>
[Collection(nameof(ForcedKernelConfiguration))]
public class QuantizedNetworkTests
{
    private static Network<float> Mnist(int seed) =>
        new(784, [new(512, Activation.ReLU), new(256, Activation.ReLU), new(10, Activation.Softmax)], seed);

    /// <summary>Every elementwise activation, dropout, widths across the panel widths, a one-unit and a prime-width layer.</summary>
    private static Network<float> Mixed(int seed) =>
        new(13, [new(17, Activation.Sigmoid), LayerSpec.Dropout(0.3), new(65, Activation.Tanh), new(33, Activation.SiLU),
            new(1, Activation.LeakyReLU(0.1)), new(31, Activation.ReLU), new(7, Activation.Identity)], seed);

    private static float[] Inputs(int rows, int width, int seed) => TestData.Uniform<float>(new Random(seed), rows * width, 0, 1);

    private static float[] Predict(QuantizedNetwork network, float[] x, int batch)
    {
        var y = new float[batch * network.OutputSize];
        network.Predict(x, batch, y, network.CreateInferenceWorkspace(batch));
        return y;
    }

    private static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int index;
        for (index = 0; index < expected.Length; index++)
            if (BitConverter.SingleToInt32Bits(expected[index]) != BitConverter.SingleToInt32Bits(actual[index]))
                break;
        if (index < expected.Length)
            Assert.Fail($"{what}: output {index} is {actual[index]:R}, expected {expected[index]:R} (the same bits).");
    }

    /// <summary>Every (register width, int8 path) pair this CPU can execute against the portable Vector128 pair.</summary>
    private static IEnumerable<(string Name, KernelConfiguration Configuration)> Configurations(bool acrossWidths)
    {
        InstructionSet[] sets = acrossWidths ? [InstructionSet.Avx512, InstructionSet.Avx2, InstructionSet.Vector128] : [KernelConfiguration.Current.InstructionSet];
        foreach (InstructionSet set in sets)
            foreach (Int8Path path in Int8Paths.All.Where(Int8Paths.CanRun))
                yield return ($"{set}/{path}", KernelConfiguration.For(instructionSet: set).WithInt8Path(path));
    }

    [Theory]
    [InlineData("mnist", false)]
    [InlineData("mixed", false)]
    [InlineData("mnist", true)]
    [InlineData("mixed", true)]
    public void Predictions_are_bit_identical_on_every_path(string which, bool outputInFloat)
    {
        Network<float> network = which == "mnist" ? Mnist(3) : Mixed(4);
        QuantizedNetwork quantized = network.Quantize(new QuantizationOptions { KeepOutputLayerInFloat = outputInFloat });
        const int Batch = 37;
        float[] x = Inputs(Batch, network.InputSize, 5);
        // An fp32 layer's GEMM sums in an order that depends on the register width; with one, compare the int8 paths only.
        List<(string Name, KernelConfiguration Configuration)> configurations = [.. Configurations(acrossWidths: !outputInFloat)];
        float[] expected;
        using (KernelConfiguration.Use(configurations[^1].Configuration.WithInt8Path(Int8Path.Vector128)))
            expected = Predict(quantized, x, Batch);
        foreach ((string name, KernelConfiguration configuration) in configurations)
        {
            using (KernelConfiguration.Use(configuration))
                AssertSameBits(expected, Predict(quantized, x, Batch), $"{which} under {name}");
        }
        Assert.Contains(expected, v => v != 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_row_gets_the_same_bits_alone_in_any_batch_on_any_thread_count(bool outputInFloat)
    {
        QuantizedNetwork quantized = Mnist(6).Quantize(new QuantizationOptions { KeepOutputLayerInFloat = outputInFloat });
        const int Batch = 128;
        float[] x = Inputs(Batch, 784, 7);
        int previous = Parallelism.MaxDegreeOfParallelism;
        try
        {
            Parallelism.MaxDegreeOfParallelism = 1;
            float[] expected = Predict(quantized, x, Batch);
            Parallelism.MaxDegreeOfParallelism = 2;
            AssertSameBits(expected, Predict(quantized, x, Batch), "batch 128 on two threads");
            // An fp32 layer's GEMM still sums a row differently alone than in a batch (the fp32 kernels' order depends on
            // the batch); the int8 layers do not.
            if (outputInFloat)
                return;
            QuantizedInferenceWorkspace workspace = quantized.CreateInferenceWorkspace(5);
            var one = new float[10];
            for (int i = 0; i < Batch; i++)
            {
                quantized.Predict(x.AsSpan(i * 784, 784), 1, one, workspace);
                AssertSameBits(expected[(i * 10)..(i * 10 + 10)], one, $"row {i} alone");
            }
            // The same rows in other company: a window of 5 starting at 3.
            var five = new float[50];
            quantized.Predict(x.AsSpan(3 * 784, 5 * 784), 5, five, workspace);
            AssertSameBits(expected[30..80], five, "rows 3–7 as a batch of 5");
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void Concurrent_predictions_equal_single_threaded_ones()
    {
        QuantizedNetwork quantized = Mnist(8).Quantize();
        const int Batch = 24;
        float[] x = Inputs(Batch, 784, 9);
        float[] expected = Predict(quantized, x, Batch);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 6, new ParallelOptions { MaxDegreeOfParallelism = 3 }, t =>
        {
            QuantizedInferenceWorkspace workspace = quantized.CreateInferenceWorkspace(Batch);
            var y = new float[Batch * 10];
            for (int repeat = 0; repeat < 5; repeat++)
            {
                quantized.Predict(x, Batch, y, workspace);
                if (!MemoryMarshal.Cast<float, int>(y).SequenceEqual(MemoryMarshal.Cast<float, int>(expected)))
                    failures.Add($"thread {t}, repeat {repeat}");
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void Frozen_and_live_networks_quantize_alike_and_describe_their_layers()
    {
        Network<float> network = Mixed(10);
        QuantizedNetwork fromNetwork = network.Quantize(new QuantizationOptions { FloatLayers = [3] });
        QuantizedNetwork fromFrozen = network.Freeze().Quantize(new QuantizationOptions { FloatLayers = [3] });
        float[] x = Inputs(9, 13, 11);
        AssertSameBits(Predict(fromNetwork, x, 9), Predict(fromFrozen, x, 9), "Freeze().Quantize() against Quantize()");
        Assert.Equal((13, 7, 7), (fromNetwork.InputSize, fromNetwork.OutputSize, fromNetwork.LayerCount));
        Assert.Equal([true, false, true, false, true, true, true], Enumerable.Range(0, 7).Select(fromNetwork.IsQuantized));
        Assert.Equal(network.Layer(2), fromNetwork.Layer(2));
        Assert.Equal(LayerKind.Dropout, fromNetwork.Layer(1).Kind);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Predictions_allocate_nothing_after_the_first(int threads)
    {
        int previous = Parallelism.MaxDegreeOfParallelism;
        try
        {
            Parallelism.MaxDegreeOfParallelism = threads;
            foreach (QuantizedNetwork quantized in new[] { Mnist(12).Quantize(), Mixed(13).Quantize(new QuantizationOptions { KeepOutputLayerInFloat = true }) })
            {
                QuantizedInferenceWorkspace workspace = quantized.CreateInferenceWorkspace(64);
                int n = quantized.InputSize, m = quantized.OutputSize;
                float[] x = Inputs(64, n, 14);
                var y = new float[64 * m];
                void Both()
                {
                    quantized.Predict(x, 64, y, workspace);
                    quantized.Predict(x.AsSpan(0, n), 1, y.AsSpan(0, m), workspace);
                }
                Both();
                long allocated = Allocations.Fewest(() =>
                {
                    for (int i = 0; i < 3; i++)
                        Both();
                });
                Assert.True(allocated == 0, $"[{n}-…-{m}] on {threads} thread(s): {allocated} bytes allocated in 6 predictions");
            }
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void Bad_arguments_throw_naming_the_argument_and_the_values()
    {
        Network<float> network = Mixed(15);
        QuantizedNetwork quantized = network.Quantize();
        QuantizedInferenceWorkspace workspace = quantized.CreateInferenceWorkspace(4);
        float[] x = Inputs(4, 13, 16);
        var y = new float[4 * 7];

        Assert.Throws<ArgumentNullException>("workspace", () => quantized.Predict(x, 4, y, null!));
        var foreign = Assert.Throws<ArgumentException>("workspace", () => quantized.Predict(x, 4, y, network.Quantize().CreateInferenceWorkspace(4)));
        Assert.Contains("another quantized network", foreign.Message);
        var zero = Assert.Throws<ArgumentOutOfRangeException>("batchSize", () => quantized.Predict(x, 0, y, workspace));
        Assert.Contains("(got 0)", zero.Message);
        var capacity = Assert.Throws<ArgumentOutOfRangeException>("batchSize", () => quantized.Predict(Inputs(5, 13, 1), 5, new float[35], workspace));
        Assert.Contains("batchSize 5 exceeds the workspace's capacity of 4", capacity.Message);
        var inputs = Assert.Throws<ArgumentException>("inputs", () => quantized.Predict(x.AsSpan(1), 4, y, workspace));
        Assert.Contains("inputs has 51 elements but batchSize×InputSize = 4×13 needs 52", inputs.Message);
        var outputs = Assert.Throws<ArgumentException>("outputs", () => quantized.Predict(x, 4, new float[27], workspace));
        Assert.Contains("outputs has 27 elements but batchSize×OutputSize = 4×7 needs 28", outputs.Message);
        x[5] = float.PositiveInfinity;
        var nonFinite = Assert.Throws<ArgumentException>("inputs", () => quantized.Predict(x, 4, y, workspace));
        Assert.Contains("at index 5", nonFinite.Message);

        Assert.Contains("(got 0)", Assert.Throws<ArgumentOutOfRangeException>("maxBatchSize", () => quantized.CreateInferenceWorkspace(0)).Message);
        Assert.Contains("7 is outside 0…6", Assert.Throws<ArgumentOutOfRangeException>("index", () => quantized.Layer(7)).Message);
        Assert.Contains("-1 is outside 0…6", Assert.Throws<ArgumentOutOfRangeException>("index", () => quantized.IsQuantized(-1)).Message);
        var dropout = Assert.Throws<ArgumentOutOfRangeException>("options", () => network.Quantize(new QuantizationOptions { FloatLayers = [1] }));
        Assert.Contains("layer 1, which is Dropout(0.3)", dropout.Message);
        Assert.Contains("layer 9, outside the network's layers 0…6", Assert.Throws<ArgumentOutOfRangeException>("options", () => network.Quantize(new QuantizationOptions { FloatLayers = [9] })).Message);
        Assert.Throws<ArgumentNullException>("network", () => ((Network<float>)null!).Quantize());
        Assert.Throws<ArgumentNullException>("network", () => ((FrozenNetwork<float>)null!).Quantize());
    }
}
