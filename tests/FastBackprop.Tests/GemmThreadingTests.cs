using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using FastBackprop.Primitives;

namespace FastBackprop.Tests;

/// <summary>Tests that change the process-wide Parallelism.MaxDegreeOfParallelism run alone.</summary>
[CollectionDefinition(nameof(GemmThreadCount), DisableParallelization = true)]
public sealed class GemmThreadCount;

/// <summary>
/// Parallelism.MaxDegreeOfParallelism: work is split over rows and columns of C, never over k, so results are
/// bit-identical for every thread count (../shared/DESIGN.md: "Results do not depend on the thread count").
/// </summary>
[Collection(nameof(GemmThreadCount))]
public class GemmThreadingTests
{
    /// <summary>Products big enough to be split (2mnk ≥ 12 MFLOP: at least 3 threads' worth), with few column
    /// panels (split by rows: n = 65) or many (split by columns, each thread packing its own B: n = 600, 1100,
    /// i.e. several N blocks per K block).</summary>
    private static Arbitrary<GemmCase> BigCases()
    {
        Gen<GemmCase> gen = from c in GemmCase.Generator()
                            from m in Gen.Elements(257, 400)
                            from n in Gen.Elements(65, 129, 600, 1100)
                            from k in Gen.Elements(385, 450)
                            select c with { M = m, N = n, K = k };
        return Arb.From(gen, GemmCase.Shrink);
    }

    /// <summary>The smallest products that are still split (2mnk ≥ 8 MFLOP), so the naive reference stays quick.</summary>
    private static Arbitrary<GemmCase> SplitCases()
    {
        Gen<GemmCase> gen = from c in GemmCase.Generator()
                            // (300, 700, 900): two N blocks and three K blocks under the column split — the shape that
                            // caught threads repacking B panels another thread was still reading.
                            from shape in Gen.Elements((129, 600, 65), (257, 65, 385), (200, 129, 200), (65, 517, 129), (300, 700, 900))
                            select c with { M = shape.Item1, N = shape.Item2, K = shape.Item3 };
        return Arb.From(gen);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        using var restore = new GemmSettingsScope();
        Properties.Check("gemm-threads", BigCases(), c =>
        {
            SameForEveryThreadCount<float>(c);
            SameForEveryThreadCount<double>(c);
        }, 12);
    }

    /// <summary>With several threads the results still match the reference (not only each other).</summary>
    [Fact]
    public void Threaded_products_match_the_reference()
    {
        using var restore = new GemmSettingsScope();
        Parallelism.MaxDegreeOfParallelism = 3;
        Properties.Check("gemm-threads-reference", SplitCases(), c =>
        {
            GemmTests.RunCase<float>(c);
            GemmTests.RunCase<double>(c);
        }, 12);
    }

    /// <summary>C = A·Bᵀ with few columns runs as dot products of rows (RowDots), split by groups of rows: tall
    /// enough to be split (2mnk ≥ 8 MFLOP), and the same bits and the reference for every thread count.</summary>
    [Fact]
    public void Few_column_dot_products_split_by_rows()
    {
        using var restore = new GemmSettingsScope();
        Gen<GemmCase> gen = from c in GemmCase.Generator()
                            from m in Gen.Elements(1500, 2049)
                            from n in Gen.Elements(3, 10, 16)
                            from k in Gen.Elements(300, 333)
                            select c with { TransA = Transpose.No, TransB = Transpose.Yes, M = m, N = n, K = k };
        Properties.Check("gemm-row-dots-threads", Arb.From(gen), c =>
        {
            SameForEveryThreadCount<float>(c);
            SameForEveryThreadCount<double>(c);
            Parallelism.MaxDegreeOfParallelism = 3;
            GemmTests.RunCase<float>(c);
            GemmTests.RunCase<double>(c);
        }, 8);
    }

    /// <summary>
    /// Products up to 512³ read A and B in place (GemmDriver.ReadsInPlace) instead of packing them;
    /// both ways run the same FMAs in the same order, so every mode gives the same bits, and each matches the
    /// reference on its own (strided views with NaN guards around them catch a read past a row or a sliver).
    /// </summary>
    [Fact]
    public void Reading_operands_in_place_or_packed_gives_the_same_bits()
    {
        using var restore = new GemmSettingsScope();
        Properties.Check("gemm-in-place", GemmCase.Arbitrary(), c =>
        {
            SameInEveryPackingMode<float>(c);
            SameInEveryPackingMode<double>(c);
        }, 150);
        foreach (int mode in new[] { 0, 2 })
        {
            Kernels.Gemm.GemmBlocking.InPlaceMode = mode;
            Properties.Check($"gemm-in-place-reference-{mode}", GemmCase.Arbitrary(), c =>
            {
                GemmTests.RunCase<float>(c);
                GemmTests.RunCase<double>(c);
            }, 60);
        }
    }

    private static void SameInEveryPackingMode<T>(GemmCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(c.Seed);
        bool ta = c.TransA == Transpose.Yes, tb = c.TransB == Transpose.Yes;
        int lda = (ta ? c.M : c.K) + c.PadA, ldb = (tb ? c.K : c.N) + c.PadB, ldc = c.N + c.PadC;
        T[] a = TestData.Uniform<T>(random, (ta ? c.K : c.M) * lda), b = TestData.Uniform<T>(random, (tb ? c.N : c.K) * ldb);
        T[] c0 = TestData.Uniform<T>(random, c.M * ldc);
        T[]? first = null;
        foreach (int mode in new[] { 0, 1, 2 })
        {
            Kernels.Gemm.GemmBlocking.InPlaceMode = mode;
            T[] result = (T[])c0.Clone();
            GemmCall.Multiply<T>(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, a, lda, b, ldb, c.Beta, result, ldc);
            if (first is null)
                first = result;
            else
                Bits.Equal<T>(first, result, $"{c}: in-place mode {mode} vs packed");
        }
    }

    [Fact]
    public void Network_gradients_do_not_depend_on_the_thread_count()
    {
        using var restore = new GemmSettingsScope();
        var random = new Random(5);
        LayerSpec[] specs = [new(300, Activation.ReLU), new(129, Activation.Tanh), new(10, Activation.Softmax)];
        const int batch = 256, inputs = 200;
        float[] x = TestData.Uniform<float>(random, batch * inputs);
        int[] classes = Enumerable.Range(0, batch).Select(_ => random.Next(10)).ToArray();
        float[]? first = null;
        float firstLoss = 0;
        foreach (int threads in new[] { 1, 2, 3, 4 })
        {
            Parallelism.MaxDegreeOfParallelism = threads;
            var network = new Network<float>(inputs, specs, seed: 9);
            Gradients<float> g = network.CreateGradients();
            float loss = network.ComputeGradients(x, classes, batch, Loss.SoftmaxCrossEntropy, g);
            if (first is null)
            {
                first = g.Values.ToArray();
                firstLoss = loss;
            }
            else
            {
                Assert.Equal(Bits.Of(firstLoss), Bits.Of(loss));
                Bits.Equal<float>(first, g.Values, $"gradients with {threads} threads vs 1");
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Thread_count_below_one_is_rejected(int value)
    {
        int original = Parallelism.MaxDegreeOfParallelism;
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.MaxDegreeOfParallelism = value);
        Assert.Contains($"{value}", ex.Message);
        Assert.Equal(original, Parallelism.MaxDegreeOfParallelism);
    }

    private static void SameForEveryThreadCount<T>(GemmCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(c.Seed);
        bool ta = c.TransA == Transpose.Yes, tb = c.TransB == Transpose.Yes;
        int lda = (ta ? c.M : c.K) + c.PadA, ldb = (tb ? c.K : c.N) + c.PadB, ldc = c.N + c.PadC;
        T[] a = TestData.Uniform<T>(random, ((ta ? c.K : c.M) - 1) * lda + (ta ? c.M : c.K));
        T[] b = TestData.Uniform<T>(random, ((tb ? c.N : c.K) - 1) * ldb + (tb ? c.K : c.N));
        T[] c0 = TestData.Uniform<T>(random, (c.M - 1) * ldc + c.N);
        T[]? first = null;
        using var restore = new GemmSettingsScope();
        // Every thread count, reading operands in place where the driver would (mode 1), and with 3 threads
        // also always packing (mode 0) and always in place (mode 2).
        foreach ((int threads, int mode) in new[] { (1, 1), (2, 1), (3, 1), (4, 1), (7, 1), (3, 0), (3, 2) })
        {
            Parallelism.MaxDegreeOfParallelism = threads;
            Kernels.Gemm.GemmBlocking.InPlaceMode = mode;
            T[] result = (T[])c0.Clone();
            GemmCall.Multiply<T>(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, a, lda, b, ldb, c.Beta, result, ldc);
            if (first is null)
                first = result;
            else
                Bits.Equal<T>(first, result, $"{c} ({typeof(T).Name}): {threads} threads, in-place mode {mode} vs 1 thread");
        }
    }
}

/// <summary>Restores the process-wide GEMM settings a test changes (thread count, in-place mode) when disposed.</summary>
internal sealed class GemmSettingsScope : IDisposable
{
    private readonly int threads = Parallelism.MaxDegreeOfParallelism;
    private readonly int inPlaceMode = Kernels.Gemm.GemmBlocking.InPlaceMode;

    public void Dispose()
    {
        Parallelism.MaxDegreeOfParallelism = threads;
        Kernels.Gemm.GemmBlocking.InPlaceMode = inPlaceMode;
    }
}
