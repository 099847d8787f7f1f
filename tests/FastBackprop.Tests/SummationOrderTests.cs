using System.Security.Cryptography;
using FastBackprop.Hardware;
using FastBackprop.Tests.Reference;

namespace FastBackprop.Tests;

/// <summary>
/// One summation order, whatever computes it (docs/MATH.md, "Summation order"): predictions and training give the same
/// bits under every instruction-set path, forced cache blocks, in-place or packed operands and thread counts, and a row
/// predicted alone gives the bits it gets inside a batch. Compared bit for bit, not within a tolerance. The promise holds
/// where the hardware fuses multiply-adds (every x86 with FMA3, every ARM64); elsewhere these tests are skipped.
/// </summary>
[Collection(nameof(ForcedKernelConfiguration))]
public class SummationOrderTests
{
    /// <summary>Configurations that change every choice the kernels make: register width and tile (12/8-row AVX-512,
    /// 6-row AVX2, 6-row Vector128 and the 12-row one ARM64 uses, software-emulated where the CPU lacks it), K blocks short enough that every layer
    /// crosses several, small N and M blocks, another CPU's cache sizes, operands always packed or always read in place,
    /// and one or two threads.</summary>
    private static readonly string[] AllConfigurations =
    [
        "avx512", "avx2", "vector128",
        "avx512,kc=16,nc=64,mc=24", "avx2,kc=48,nc=128,mc=48", "vector128,kc=32,nc=64,mc=24",
        "l1d=32K,l2=512K,l3=32M", "avx512,inplace=0", "avx2,inplace=1000000000000",
        "avx512,rows=8", "vector128,rows=12,kc=32",
    ];

    public static TheoryData<string> Configurations => new(AllConfigurations);

    private static IDisposable Force(string configuration, int threads)
    {
        var settings = new GemmSettingsScope();
        Parallelism.MaxDegreeOfParallelism = threads;
        IDisposable forced = KernelConfiguration.Use(KernelConfiguration.Parse(configuration, CpuInfo.Current));
        return new Both(forced, settings);
    }

    private sealed class Both(IDisposable first, IDisposable second) : IDisposable
    {
        public void Dispose()
        {
            first.Dispose();
            second.Dispose();
        }
    }

    /// <summary>Networks whose layers reach every GEMM path: wide hidden layers (tiles, several K blocks under small kc),
    /// a 10-way softmax (a skinny C, run transposed), two outputs and one output (matrix-vector products down a column),
    /// odd sizes throughout.</summary>
    private static IEnumerable<Network<float>> Networks()
    {
        yield return new Network<float>(61, [new(130, Activation.ReLU), new(67, Activation.Tanh), new(10, Activation.Softmax)], seed: 5);
        yield return new Network<float>(23, [new(40, Activation.SiLU), new(2, Activation.Identity)], seed: 6);
        yield return new Network<float>(37, [new(33, Activation.Sigmoid), new(1, Activation.Sigmoid)], seed: 7);
        yield return new Network<float>(29, [LayerSpec.LayerNorm(), new(48, Activation.ReLU), LayerSpec.LayerNorm(1e-3), new(19, Activation.Tanh),
            LayerSpec.LayerNorm(), new(10, Activation.Softmax)], seed: 8);
    }

    private static float[] Inputs(int rows, int features, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * features).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    [Fact]
    public void A_row_predicted_alone_gives_the_bits_it_gets_in_a_batch_on_every_path()
    {
        if (!OrderedGemm.Applies)
            return;
        foreach (Network<float> network in Networks())
        {
            const int rows = 45;
            float[] inputs = Inputs(rows, network.InputSize, seed: network.InputSize);
            float[]? first = null;
            foreach (string configuration in AllConfigurations)
            {
                foreach (int threads in new[] { 1, 2 })
                {
                    using (Force(configuration, threads))
                    {
                        float[] batch = Predict(network, inputs, rows, frozen: false);
                        Bits.Equal<float>(batch, Predict(network, inputs, rows, frozen: true), $"{configuration}, {threads} threads: frozen against Network");
                        for (int i = 0; i < rows; i++)
                        {
                            float[] alone = Predict(network, inputs.AsSpan(i * network.InputSize, network.InputSize).ToArray(), 1, frozen: i % 2 == 0);
                            Bits.Equal<float>(batch.AsSpan(i * network.OutputSize, network.OutputSize).ToArray(), alone,
                                $"{configuration}, {threads} threads: row {i} alone against the batch");
                        }
                        // Two rows at a time run as matrix-vector products too.
                        float[] pair = Predict(network, inputs.AsSpan(0, 2 * network.InputSize).ToArray(), 2, frozen: true);
                        Bits.Equal<float>(batch.AsSpan(0, 2 * network.OutputSize).ToArray(), pair, $"{configuration}: rows 0–1 as a pair");
                        first ??= batch;
                        Bits.Equal<float>(first, batch, $"{configuration}, {threads} threads against {AllConfigurations[0]}");
                    }
                }
            }
        }
    }

    private static float[] Predict(Network<float> network, float[] inputs, int rows, bool frozen)
    {
        var outputs = new float[rows * network.OutputSize];
        if (frozen)
        {
            FrozenNetwork<float> f = network.Freeze();
            f.Predict(inputs, rows, outputs, f.CreateInferenceWorkspace(rows));
        }
        else
        {
            network.Predict(inputs, rows, outputs, network.CreateInferenceWorkspace(rows));
        }
        return outputs;
    }

    /// <summary>Training — forward, δ, weight and bias gradients, layer normalisation, dropout, softmax cross-entropy, Adam; and the trainer's SGD, whose
    /// update is fused into the weight-gradient GEMM (β = 1, α = −η) — ends in the same parameters, bit for bit, under
    /// every configuration and thread count. Batches of 32 and a last batch of 2 (matrix-vector products in training).</summary>
    [Theory]
    [MemberData(nameof(Configurations))]
    public void Training_gives_the_same_parameters_on_every_path(string configuration)
    {
        if (!OrderedGemm.Applies)
            return;
        Assert.Equal(Train("avx512", threads: 1), Train(configuration, threads: 1));
        Assert.Equal(Train("avx512", threads: 1), Train(configuration, threads: 2));
        // The unfused reference path (GEMM, then separate bias, activation, derivative and update passes) does the same
        // arithmetic in the same order, only in more passes: the same bits again.
        Assert.Equal(Train("avx512", threads: 1), Train(configuration, threads: 1, fused: false));
    }

    /// <summary>The same for double networks, the unfused reference path and Nesterov momentum, on three configurations
    /// that change the register width, the tile and the blocks.</summary>
    [Fact]
    public void Double_networks_and_the_unfused_path_give_the_same_bits_on_every_path()
    {
        if (!OrderedGemm.Applies)
            return;
        string[] hashes = new[] { "avx512", "avx2,kc=32,nc=64,mc=24", "vector128" }.Select(configuration =>
        {
            using var forced = Force(configuration, threads: 2);
            var random = new Random(12);
            const int samples = 37, features = 29;
            double[] x = Enumerable.Range(0, samples * features).Select(_ => random.NextDouble() * 2 - 1).ToArray();
            double[] y = Enumerable.Range(0, samples * 3).Select(_ => random.NextDouble()).ToArray();
            var network = new Network<double>(features, [new(45, Activation.Tanh), LayerSpec.LayerNorm(), new(3, Activation.Sigmoid)], seed: 13);
            var unfused = new Network<float>(features, [new(45, Activation.LeakyReLU(0.1)), new(3, Activation.Identity)], seed: 14)
                { UseFusedKernels = false };
            Momentum momentum = new(nesterov: true), floatMomentum = new(nesterov: true);
            Gradients<double> gradients = network.CreateGradients();
            Gradients<float> floatGradients = unfused.CreateGradients();
            float[] xf = x.Select(v => (float)v).ToArray(), yf = y.Select(v => (float)v).ToArray();
            for (int step = 0; step < 4; step++)
            {
                network.ComputeGradients(x, y, samples, Loss.BinaryCrossEntropy, gradients);
                momentum.Step(network, gradients, 0.1);
                unfused.ComputeGradients(xf, yf, samples, Loss.MeanSquaredError, floatGradients);
                floatMomentum.Step(unfused, floatGradients, 0.05);
            }
            var one = new double[3];
            network.Predict(x.AsSpan(0, features), 1, one, network.CreateInferenceWorkspace(1));
            return Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(network.Parameters)))
                + Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(unfused.Parameters)))
                + Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(one.AsSpan())));
        }).ToArray();
        Assert.All(hashes, hash => Assert.Equal(hashes[0], hash));
    }

    private static readonly Dictionary<(string, int, bool), string> TrainedHashes = [];

    /// <summary>SHA-256 of the parameters after a few Adam steps and two SGD epochs, under one configuration.</summary>
    private static string Train(string configuration, int threads, bool fused = true)
    {
        lock (TrainedHashes)
        {
            if (TrainedHashes.TryGetValue((configuration, threads, fused), out string? known))
                return known;
        }
        using var forced = Force(configuration, threads);
        const int samples = 66, features = 61, classes = 10;
        float[] x = Inputs(samples, features, seed: 3);
        var random = new Random(4);
        int[] labels = Enumerable.Range(0, samples).Select(_ => random.Next(classes)).ToArray();
        var network = new Network<float>(features, [new(130, Activation.ReLU), LayerSpec.LayerNorm(), LayerSpec.Dropout(0.2), new(67, Activation.Tanh),
                LayerSpec.LayerNorm(1e-3), new(classes, Activation.Softmax)], seed: 8)
            { UseFusedKernels = fused };

        var adam = new Adam();
        Gradients<float> gradients = network.CreateGradients();
        for (int step = 0; step < 3; step++)
        {
            for (int start = 0; start < samples; start += 32)
            {
                int size = Math.Min(32, samples - start);
                network.ComputeGradients(x.AsSpan(start * features, size * features), labels.AsSpan(start, size), size,
                    Loss.SoftmaxCrossEntropy, gradients);
                adam.Step(network, gradients, 0.01);
            }
        }
        var options = new TrainerOptions { Epochs = 2, BatchSize = 32, Seed = 9, Optimizer = new Sgd(), Schedule = LearningRateSchedule.Constant(0.05) };
        new Trainer<float>(options).Fit(network, new Dataset<float>(x, features, labels, classes), null);

        string hash = Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(network.Parameters)));
        lock (TrainedHashes)
            TrainedHashes[(configuration, threads, fused)] = hash;
        return hash;
    }
}
