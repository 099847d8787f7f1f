using System.Numerics;
using FastBackprop.Kernels.Gemm;
using FsCheck;
using FsCheck.Fluent;
using FastBackprop.Primitives;

namespace FastBackprop.Tests;

/// <summary>
/// <see cref="FrozenNetwork{T}"/>: the same bits as <see cref="Network{T}.Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/>
/// on the network as frozen, for random architectures (widths across tile and N-block edges, depths across K blocks),
/// batch sizes (the matrix-vector path, the transposed orientation, single and several row tiles) and thread counts;
/// blind to later training; allocation-free; and the prepacked operand is really what the GEMM reads.
/// </summary>
[Collection(nameof(GemmThreadCount))]
public class FrozenNetworkTests
{
    public sealed record FrozenCase(int[] Sizes, int Batch, int Threads, int Seed)
    {
        public override string ToString() => $"[{string.Join('-', Sizes)}] batch {Batch}, {Threads} thread(s), seed {Seed}";

        public static Arbitrary<FrozenCase> Arbitrary()
        {
            Gen<int> width = Gen.Elements(1, 5, 16, 17, 31, 33, 64, 97, 130, 513, 600);
            Gen<int> depth = Gen.Elements(1, 7, 33, 100, 385, 800);
            Gen<FrozenCase> gen = from inputs in depth
                                  from hidden in Gen.ArrayOf(width).Where(a => a.Length is >= 1 and <= 3)
                                  from outputs in Gen.Elements(1, 3, 10, 40)
                                  from batch in Gen.Elements(1, 2, 3, 8, 13, 37, 64, 128, 200)
                                  from threads in Gen.Elements(1, 2, 3)
                                  from seed in Gen.Choose(0, 1 << 20)
                                  select new FrozenCase([inputs, .. hidden, outputs], batch, threads, seed);
            return Arb.From(gen);
        }
    }

    private static Network<T> Build<T>(FrozenCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var layers = new List<LayerSpec>();
        Activation[] hidden = [Activation.ReLU, Activation.Tanh, Activation.Sigmoid, Activation.LeakyReLU(0.1)];
        for (int l = 1; l < c.Sizes.Length; l++)
            layers.Add(new LayerSpec(c.Sizes[l], l == c.Sizes.Length - 1 ? (c.Sizes[l] > 1 ? Activation.Softmax : Activation.Sigmoid) : hidden[(c.Seed + l) % hidden.Length]));
        return new Network<T>(c.Sizes[0], layers, c.Seed);
    }

    internal static void SameAsNetwork<T>(FrozenCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int previous = Parallelism.MaxDegreeOfParallelism;
        try
        {
            Parallelism.MaxDegreeOfParallelism = c.Threads;
            Network<T> network = Build<T>(c);
            FrozenNetwork<T> frozen = network.Freeze();
            T[] x = TestData.Uniform<T>(new Random(c.Seed), c.Batch * network.InputSize);
            var expected = new T[c.Batch * network.OutputSize];
            var actual = new T[expected.Length];
            network.Predict(x, c.Batch, expected, network.CreateInferenceWorkspace(c.Batch));
            frozen.Predict(x, c.Batch, actual, frozen.CreateInferenceWorkspace(c.Batch));
            Bits.Equal<T>(expected, actual, c.ToString());
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void Float_predictions_are_bit_identical_to_the_network() => Properties.Check("frozen-float", FrozenCase.Arbitrary(), SameAsNetwork<float>, 60);

    [Fact]
    public void Double_predictions_are_bit_identical_to_the_network() => Properties.Check("frozen-double", FrozenCase.Arbitrary(), SameAsNetwork<double>, 30);

    [Fact]
    public void Later_changes_to_the_network_are_not_seen()
    {
        var network = new Network<float>(40, [new(70, Activation.ReLU), new(5, Activation.Softmax)], seed: 3);
        var random = new Random(4);
        float[] x = TestData.Uniform<float>(random, 64 * 40);
        var before = new float[64 * 5];
        network.Predict(x, 64, before, network.CreateInferenceWorkspace(64));
        FrozenNetwork<float> frozen = network.Freeze();
        var labels = new int[64];
        for (int step = 0; step < 5; step++)
            network.TrainStep(x, labels, 64, Loss.SoftmaxCrossEntropy, 0.5f);
        network.Weights(0).Fill(0.25f);
        var after = new float[before.Length];
        frozen.Predict(x, 64, after, frozen.CreateInferenceWorkspace(64));
        Bits.Equal<float>(before, after, "frozen after training the source");
        var changed = new float[before.Length];
        network.Predict(x, 64, changed, network.CreateInferenceWorkspace(64));
        Assert.False(changed.AsSpan().SequenceEqual(before), "the source network did change");
    }

    /// <summary>A packed operand built from another matrix changes the product: the GEMM really reads the prepacked panels
    /// (and, with a mismatched shape, ignores them).</summary>
    [Fact]
    public void The_gemm_reads_the_prepacked_operand()
    {
        const int m = 64, n = 100, k = 50;
        var random = new Random(9);
        float[] a = TestData.Uniform<float>(random, m * k), b = TestData.Uniform<float>(random, n * k), other = TestData.Uniform<float>(random, n * k);
        var plain = new float[m * n];
        var fromOther = new float[m * n];
        var withOtherPacked = new float[m * n];
        var none = new NoEpilogue<float>();
        Gemm.RunChecked(Transpose.No, Transpose.Yes, m, n, k, 1f, a, k, b, k, 0f, plain, n, in none);
        Gemm.RunChecked(Transpose.No, Transpose.Yes, m, n, k, 1f, a, k, other, k, 0f, fromOther, n, in none);
        Gemm.RunChecked(Transpose.No, Transpose.Yes, m, n, k, 1f, a, k, b, k, 0f, withOtherPacked, n, in none,
            new PackedOperand<float>(other, n, k, k));
        Bits.Equal<float>(fromOther, withOtherPacked, "B's panels came from the packed operand");
        var mismatched = new float[m * n];
        Gemm.RunChecked(Transpose.No, Transpose.Yes, m, n, k, 1f, a, k, b, k, 0f, mismatched, n, in none,
            new PackedOperand<float>(other, n - 1, k, k));
        Bits.Equal<float>(plain, mismatched, "a packed operand of another shape is ignored");
    }

    [Fact]
    public void Predictions_allocate_nothing_and_check_their_arguments()
    {
        int previous = Parallelism.MaxDegreeOfParallelism;
        try
        {
            Parallelism.MaxDegreeOfParallelism = 1;
            var network = new Network<float>(784, [new(512, Activation.ReLU), new(256, Activation.ReLU), new(10, Activation.Softmax)], 2);
            FrozenNetwork<float> frozen = network.Freeze();
            Assert.Equal((784, 10, 3), (frozen.InputSize, frozen.OutputSize, frozen.LayerCount));
            InferenceWorkspace<float> workspace = frozen.CreateInferenceWorkspace(64);
            float[] x = TestData.Uniform<float>(new Random(1), 64 * 784);
            var y = new float[64 * 10];
            frozen.Predict(x, 64, y, workspace);
            frozen.Predict(x.AsSpan(0, 784), 1, y.AsSpan(0, 10), workspace);
            long allocated = Allocations.Fewest(() =>
            {
                for (int i = 0; i < 3; i++)
                {
                    frozen.Predict(x, 64, y, workspace);
                    frozen.Predict(x.AsSpan(0, 784), 1, y.AsSpan(0, 10), workspace);
                }
            });
            Assert.Equal(0, allocated);
            Assert.Throws<ArgumentOutOfRangeException>("batchSize", () => frozen.Predict(x, 65, new float[650], workspace));
            x[3] = float.NaN;
            Assert.Throws<ArgumentException>("inputs", () => frozen.Predict(x, 64, y, workspace));
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }
}
