namespace FastBackprop.Tests;

/// <summary>
/// Predict from many threads on one shared network, its argument checks, and the allocation
/// promise: after a warm-up call for a batch size, a training step and an inference allocate nothing
/// (counted by the runtime for the calling thread; on one GEMM thread, where nothing else runs).
/// </summary>
[Collection(nameof(GemmThreadCount))]
public class InferenceAndAllocationTests
{
    private static Network<float> Mnist(int seed) =>
        new(784, [new(512, Activation.ReLU), new(256, Activation.ReLU), new(10, Activation.Softmax)], seed);

    [Fact]
    public void Concurrent_predictions_equal_single_threaded_ones()
    {
        Network<float> network = Mnist(3);
        var random = new Random(5);
        const int Samples = 40;
        float[] inputs = TestData.Uniform<float>(random, Samples * 784);
        var expected = new float[Samples * 10];
        InferenceWorkspace<float> mine = network.CreateInferenceWorkspace(Samples);
        network.Predict(inputs, Samples, expected, mine);
        var expectedSingles = new float[Samples * 10];
        InferenceWorkspace<float> single = network.CreateInferenceWorkspace();
        for (int n = 0; n < Samples; n++)
            network.Predict(inputs.AsSpan(n * 784, 784), 1, expectedSingles.AsSpan(n * 10, 10), single);

        int previous = Parallelism.MaxDegreeOfParallelism;
        try
        {
            Parallelism.MaxDegreeOfParallelism = 2;
            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
            {
                InferenceWorkspace<float> workspace = network.CreateInferenceWorkspace(Samples);
                var outputs = new float[Samples * 10];
                var one = new float[10];
                for (int repeat = 0; repeat < 5; repeat++)
                {
                    network.Predict(inputs, Samples, outputs, workspace);
                    if (!outputs.AsSpan().SequenceEqual(expected))
                        failures.Add($"thread {t}, repeat {repeat}: batch outputs differ");
                    int n = (t + repeat) % Samples;
                    network.Predict(inputs.AsSpan(n * 784, 784), 1, one, workspace);
                    if (!one.AsSpan().SequenceEqual(expectedSingles.AsSpan(n * 10, 10)))
                        failures.Add($"thread {t}, repeat {repeat}: sample {n} differs");
                }
            });
            Assert.Empty(failures);
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void Predict_rejects_a_foreign_or_small_workspace()
    {
        Network<float> network = Mnist(1);
        var other = new Network<float>(784, [new(10, Activation.Softmax)]);
        var x = new float[2 * 784];
        var y = new float[2 * 10];
        var wrongShape = Assert.Throws<ArgumentException>("workspace", () => network.Predict(x, 2, y, other.CreateInferenceWorkspace(2)));
        Assert.Contains("[784-10]", wrongShape.Message);
        var small = Assert.Throws<ArgumentOutOfRangeException>("batchSize", () => network.Predict(x, 2, y, network.CreateInferenceWorkspace(1)));
        Assert.Contains("capacity of 1", small.Message);
        Assert.Throws<ArgumentException>("outputs", () => network.Predict(x, 2, new float[19], network.CreateInferenceWorkspace(2)));
        x[785] = float.NaN;
        Assert.Throws<ArgumentException>("inputs", () => network.Predict(x, 2, y, network.CreateInferenceWorkspace(2)));
        Assert.Throws<ArgumentOutOfRangeException>("maxBatchSize", () => network.CreateInferenceWorkspace(0));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Training_steps_and_predictions_allocate_nothing_after_warm_up(bool fused)
    {
        int previous = Parallelism.MaxDegreeOfParallelism;
        try
        {
            Parallelism.MaxDegreeOfParallelism = 1;
            AllocationFree(Mnist(2), 64, new Loss(LossKind.SoftmaxCrossEntropy), classIndices: true, fused);
            AllocationFree(new Network<float>(32, [new(64, Activation.Tanh), new(64, Activation.Tanh), new(1, Activation.Sigmoid)], 4),
                32, new Loss(LossKind.BinaryCrossEntropy), classIndices: false, fused);
            AllocationFree(new Network<double>(5, [new(7, Activation.LeakyReLU(0.1)), new(3, Activation.Identity)], 4),
                9, new Loss(LossKind.SquaredError), classIndices: false, fused);
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    private static void AllocationFree<T>(Network<T> network, int batch, Loss loss, bool classIndices, bool fused)
        where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        network.UseFusedKernels = fused;
        var random = new Random(8);
        T[] x = TestData.Uniform<T>(random, batch * network.InputSize);
        var targets = new T[batch * network.OutputSize];
        var classes = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            classes[i] = random.Next(network.OutputSize);
            targets[i * network.OutputSize + classes[i]] = T.One;
        }
        var outputs = new T[batch * network.OutputSize];
        InferenceWorkspace<T> workspace = network.CreateInferenceWorkspace(batch);
        const double rate = 0.001;

        void Step()
        {
            if (classIndices)
                network.TrainStep(x, classes, batch, loss, rate);
            else
                network.TrainStep(x, targets, batch, loss, rate);
            network.Predict(x, batch, outputs, workspace);
            network.Predict(x.AsSpan(0, network.InputSize), 1, outputs.AsSpan(0, network.OutputSize), workspace);
        }

        Step();
        Step();
        long allocated = Allocations.Fewest(() =>
        {
            for (int i = 0; i < 3; i++)
                Step();
        });
        Assert.True(allocated == 0, $"{typeof(T).Name} [{network.InputSize}-…-{network.OutputSize}] batch {batch}, fused {fused}: {allocated} bytes allocated in 3 steps");
    }
}
