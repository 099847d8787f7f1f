using System.Numerics;
using FastBackprop.Tests.Reference;
using FastBackprop.Primitives;

namespace FastBackprop.Tests;

/// <summary>
/// Gemm.Multiply against the naive reference over random shapes, strides, transposes, α and β.
/// Tolerance per element (reference BLAS's error ratio): |c − ref| ≤ 2·(k + 2)·u·(|α|Σ|a||b| + |β||c|) + tiny.
/// </summary>
public class GemmTests
{
    [Fact]
    public void Float_matches_reference() => Properties.Check("gemm-float", GemmCase.Arbitrary(), RunCase<float>, 400);

    [Fact]
    public void Double_matches_reference() => Properties.Check("gemm-double", GemmCase.Arbitrary(), RunCase<double>, 300);

    /// <summary>Integers in [−8, 8] with α, β ∈ small dyadic values: every intermediate is exact, so library and reference agree bit for bit.</summary>
    [Fact]
    public void Float_small_integers_are_exact() => Properties.Check("gemm-exact-float", GemmCase.Arbitrary(smallIntegers: true), RunCase<float>, 150);

    [Fact]
    public void Double_small_integers_are_exact() => Properties.Check("gemm-exact-double", GemmCase.Arbitrary(smallIntegers: true), RunCase<double>, 100);

    [Fact]
    public void Float_is_deterministic() => Properties.Check("gemm-deterministic-float", GemmCase.Arbitrary(), Deterministic<float>, 80);

    [Fact]
    public void Double_is_deterministic() => Properties.Check("gemm-deterministic-double", GemmCase.Arbitrary(), Deterministic<double>, 60);

    /// <summary>Every small shape once, each transpose pair, β = 0 over NaN and β ≠ 0: OpenBLAS's sweep after a kernel change.</summary>
    [Theory]
    [InlineData(Transpose.No, Transpose.No)]
    [InlineData(Transpose.No, Transpose.Yes)]
    [InlineData(Transpose.Yes, Transpose.No)]
    [InlineData(Transpose.Yes, Transpose.Yes)]
    public void Every_small_shape(Transpose transA, Transpose transB)
    {
        int seed = 1;
        for (int m = 1; m <= 14; m++)
            for (int n = 1; n <= 34; n += m % 2 == 0 ? 1 : 3)
                foreach (int k in new[] { 1, 3, 16, 17 })
                {
                    RunCase<float>(new GemmCase(transA, transB, m, n, k, m % 3, n % 2, 1, 1.5, 0, DataKind.Uniform, seed++));
                    RunCase<double>(new GemmCase(transA, transB, m, n, k, 0, 2, m % 2, -0.5, 0.75, DataKind.Uniform, seed++));
                }
    }

    [Theory]
    [InlineData(1, 7, 5)]
    [InlineData(2, 33, 17)]
    [InlineData(3, 1, 9)]
    [InlineData(40, 3, 65)]
    [InlineData(13, 64, 400)]
    public void Beta_zero_never_reads_C(int m, int n, int k)
    {
        // RunCase fills C with NaN whenever β = 0; a kernel that reads C (0·NaN = NaN) fails the comparison.
        foreach (Transpose ta in new[] { Transpose.No, Transpose.Yes })
            foreach (Transpose tb in new[] { Transpose.No, Transpose.Yes })
            {
                RunCase<float>(new GemmCase(ta, tb, m, n, k, 1, 0, 3, 1, 0, DataKind.Uniform, m + n + k));
                RunCase<double>(new GemmCase(ta, tb, m, n, k, 0, 1, 2, -2, 0, DataKind.Uniform, m * n + k));
            }
    }

    [Theory]
    [InlineData(1, 7, 5, 0.0)]
    [InlineData(2, 33, 17, 1.0)]
    [InlineData(40, 3, 65, -0.5)]
    [InlineData(13, 64, 400, 2.0)]
    public void Alpha_zero_never_reads_A_or_B(int m, int n, int k, double beta)
    {
        // RunCase fills A and B with NaN and ±∞ whenever α = 0; C must become exactly β·C.
        foreach (Transpose ta in new[] { Transpose.No, Transpose.Yes })
            foreach (Transpose tb in new[] { Transpose.No, Transpose.Yes })
            {
                RunCase<float>(new GemmCase(ta, tb, m, n, k, 2, 0, 1, 0, beta, DataKind.Uniform, m + n + k));
                RunCase<double>(new GemmCase(ta, tb, m, n, k, 0, 3, 0, 0, beta, DataKind.Uniform, m * n + k));
            }
    }

    /// <summary>More rows than one MC block (3072), with N wide enough that C is not computed transposed.</summary>
    [Theory]
    [InlineData(3100, 64, 3)]
    [InlineData(3085, 65, 20)]
    public void M_past_the_MC_block(int m, int n, int k)
    {
        RunCase<float>(new GemmCase(Transpose.No, Transpose.Yes, m, n, k, 1, 0, 2, 1, 0, DataKind.Uniform, m + k));
        RunCase<float>(new GemmCase(Transpose.Yes, Transpose.No, m, n, k, 0, 3, 0, -1.5, 0.5, DataKind.SmallIntegers, m - k));
        RunCase<double>(new GemmCase(Transpose.No, Transpose.No, m, n, k, 0, 0, 1, 0.5, 1, DataKind.Uniform, m * k));
    }

    /// <summary>Packing buffers are per thread: concurrent calls on different data do not disturb each other.</summary>
    [Fact]
    public void Concurrent_calls_do_not_interfere()
    {
        GemmCase[] cases = FsCheck.Fluent.Gen.Sample(GemmCase.Generator(), 24, 7)
            .Select(c => c with { M = Math.Min(c.M, 70), N = Math.Min(c.N, 70), K = Math.Min(c.K, 70) }).ToArray();
        Parallel.For(0, cases.Length * 2, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            if (i % 2 == 0)
                RunCase<float>(cases[i / 2]);
            else
                RunCase<double>(cases[i / 2]);
        });
    }

    [Fact]
    public void K_zero_scales_C_by_beta()
    {
        float[] c = [1, 2, float.NaN, 4, 5, 6];
        Gemm.Multiply(Transpose.No, Transpose.No, 2, 2, 0, 3f, [], 0, [], 2, -2f, c, 3);
        Assert.Equal(new float[] { -2, -4, float.NaN, -8, -10, 6 }, c);

        double[] d = [double.NaN, 1, double.PositiveInfinity, 7];
        Gemm.Multiply(Transpose.Yes, Transpose.Yes, 2, 2, 0, 1.0, [], 2, [], 0, 0.0, d, 2);
        Assert.Equal(new double[] { 0, 0, 0, 0 }, d);
    }

    [Fact]
    public void Empty_m_or_n_leaves_C_untouched()
    {
        float[] c = [1, float.NaN, 3];
        float[] copy = (float[])c.Clone();
        Gemm.Multiply(Transpose.No, Transpose.No, 0, 3, 4, 1f, [], 4, new float[12], 3, 0f, c, 3);
        Gemm.Multiply(Transpose.No, Transpose.No, 3, 0, 4, 1f, new float[12], 4, [], 0, 0f, [], 0);
        Gemm.Multiply(Transpose.Yes, Transpose.Yes, 0, 0, 0, 1f, [], 0, [], 0, 0f, c, 3);
        Bits.Equal<float>(copy, c, "C");

        double[] d = [double.NaN, 2];
        Gemm.Multiply(Transpose.Yes, Transpose.No, 0, 2, 5, 2.0, [], 0, new double[10], 2, 0.0, d, 2);
        Bits.Equal<double>([double.NaN, 2], d, "C");
    }

    /// <summary>
    /// One case: A and B live inside guarded arrays whose padding and guards hold NaN (so using any of it
    /// shows up); C's padding and guards hold sentinels that must survive bit for bit; with β = 0 C's
    /// elements are NaN, with α = 0 A's and B's elements are NaN/±∞.
    /// </summary>
    internal static void RunCase<T>(GemmCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(c.Seed);
        bool ta = c.TransA == Transpose.Yes, tb = c.TransB == Transpose.Yes;
        int aRows = ta ? c.K : c.M, aColumns = ta ? c.M : c.K;
        int bRows = tb ? c.N : c.K, bColumns = tb ? c.K : c.N;
        var a = new StridedMatrix<T>(aRows, aColumns, aColumns + c.PadA, random.Next(8), random.Next(8), T.NaN);
        var b = new StridedMatrix<T>(bRows, bColumns, bColumns + c.PadB, random.Next(8), random.Next(8), T.NaN);
        var cm = new StridedMatrix<T>(c.M, c.N, c.N + c.PadC, random.Next(8), random.Next(8), T.Zero);
        T[] poison = [T.NaN, T.PositiveInfinity, T.NegativeInfinity];

        Fill(a, () => c.Alpha == 0 ? poison[random.Next(3)] : TestData.Draw<T>(random, c.Data));
        Fill(b, () => c.Alpha == 0 ? poison[random.Next(3)] : TestData.Draw<T>(random, c.Data));
        for (int i = 0; i < cm.Storage.Length; i++)
            cm.Storage[i] = T.CreateTruncating(1000 + i);   // sentinels in padding and guards
        Fill(cm, () => c.Beta == 0 ? T.NaN : TestData.Draw<T>(random, c.Data));

        T[] aBefore = (T[])a.Storage.Clone(), bBefore = (T[])b.Storage.Clone(), cBefore = (T[])cm.Storage.Clone();
        double alpha = double.CreateChecked(T.CreateTruncating(c.Alpha)), beta = double.CreateChecked(T.CreateTruncating(c.Beta));

        GemmCall.Multiply<T>(c.TransA, c.TransB, c.M, c.N, c.K, alpha, a.View, a.Ld, b.View, b.Ld, beta, cm.View, cm.Ld);

        double[] ad = a.ToDouble(), bd = b.ToDouble(), expected = ReferenceNetwork.ToDouble<T>(cBefore);
        ReferenceGemm.Multiply(ta, tb, c.M, c.N, c.K, alpha, ad, a.Offset, a.Ld, bd, b.Offset, b.Ld,
            beta, expected, cm.Offset, cm.Ld);
        double[] magnitude = ReferenceGemm.Magnitudes(ta, tb, c.M, c.N, c.K, alpha, ad, a.Offset, a.Ld, bd, b.Offset, b.Ld,
            beta, ReferenceNetwork.ToDouble<T>(cBefore), cm.Offset, cm.Ld);

        double gamma = 2 * ErrorBounds.Gamma(c.K, ErrorBounds.UnitRoundoff<T>());
        bool exact = c.Data == DataKind.SmallIntegers;
        for (int index = 0; index < cm.Storage.Length; index++)
        {
            T actual = cm.Storage[index];
            if (cm.IsElement(index, out int i, out int j))
            {
                double bound = exact ? 0 : gamma * magnitude[i * c.N + j] + ErrorBounds.Tiny<T>();
                Close.Within(double.CreateChecked(actual), expected[index], bound, $"{c}: C({i},{j})");
            }
            else if (Bits.Of(actual) != Bits.Of(cBefore[index]))
            {
                Assert.Fail($"{c}: C storage index {index} (outside the matrix: padding or guard) changed from {cBefore[index]} to {actual}.");
            }
        }
        Bits.Equal<T>(aBefore, a.Storage, $"{c}: A");
        Bits.Equal<T>(bBefore, b.Storage, $"{c}: B");
        if (OrderedGemm.Applies)
        {
            // Beyond the error bound: the exact bits of the one summation order, whatever path, tile, block or thread
            // count computed them.
            T[] ordered = OrderedGemm.Multiply(ta, tb, c.M, c.N, c.K, T.CreateTruncating(c.Alpha), aBefore, a.Offset, a.Ld,
                bBefore, b.Offset, b.Ld, T.CreateTruncating(c.Beta), cBefore, cm.Offset, cm.Ld);
            for (int index = 0; index < cm.Storage.Length; index++)
            {
                if (cm.IsElement(index, out int i, out int j) && Bits.Of(cm.Storage[index]) != Bits.Of(ordered[index]))
                    Assert.Fail($"{c}: C({i},{j}) = {cm.Storage[index]:R}, the ordered sum is {ordered[index]:R} (bits differ).");
            }
        }
    }

    private static void Deterministic<T>(GemmCase c) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var random = new Random(c.Seed);
        int aLength = c.M * c.K, bLength = c.K * c.N;
        T[] a = TestData.Uniform<T>(random, aLength), b = TestData.Uniform<T>(random, bLength), c0 = TestData.Uniform<T>(random, c.M * c.N);
        int lda = c.TransA == Transpose.Yes ? c.M : c.K, ldb = c.TransB == Transpose.Yes ? c.K : c.N;
        T[] first = (T[])c0.Clone(), second = (T[])c0.Clone();
        GemmCall.Multiply<T>(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, a, lda, b, ldb, c.Beta, first, c.N);
        // Something else in between, so nothing left over from the first call can make the second agree.
        GemmCall.Multiply<T>(Transpose.No, Transpose.No, 17, 33, 65, 1, TestData.Uniform<T>(random, 17 * 65), 65,
            TestData.Uniform<T>(random, 65 * 33), 33, 0, new T[17 * 33], 33);
        GemmCall.Multiply<T>(c.TransA, c.TransB, c.M, c.N, c.K, c.Alpha, a, lda, b, ldb, c.Beta, second, c.N);
        Bits.Equal<T>(first, second, $"{c}: second call");
    }

    private static void Fill<T>(StridedMatrix<T> matrix, Func<T> next) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < matrix.Rows; i++)
            for (int j = 0; j < matrix.Columns; j++)
                matrix[i, j] = next();
    }
}
