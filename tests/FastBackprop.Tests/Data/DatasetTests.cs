using FsCheck;
using FsCheck.Xunit;

namespace FastBackprop.Tests.Data;

/// <summary>Dataset.Subset and Split: copies in order, sizes, disjoint parts covering every sample, reproducible from the seed.</summary>
public class DatasetTests
{
    /// <summary>Sample i has features (i, −i) and class i mod 3, so every row can be traced back.</summary>
    private static Dataset<float> Numbered(int count) => new(
        Enumerable.Range(0, count).SelectMany(i => new[] { (float)i, -i }).ToArray(), 2,
        Enumerable.Range(0, count).Select(i => i % 3).ToArray(), 3, ["x", "y", "z"]);

    private static int[] Ids(Dataset<float> d) => Enumerable.Range(0, d.Count).Select(i => (int)d.Row(i)[0]).ToArray();

    [Fact]
    public void Subset_copies_the_rows_in_the_order_given()
    {
        Dataset<float> d = Numbered(10);
        Dataset<float> s = d.Subset([7, 2, 2, 9]);
        Assert.Equal([7, 2, 2, 9], Ids(s));
        Assert.Equal([1, 2, 2, 0], s.ClassIndices!);
        Assert.Equal(d.ClassLabels, s.ClassLabels);
        s.Features[0] = 100;
        Assert.Equal(7, d.Row(7)[0]);

        var r = new Dataset<double>([1, 2, 3], 1, new double[] { 10, 11, 20, 21, 30, 31 }, 2);
        Dataset<double> rs = r.Subset([2, 0]);
        Assert.Equal([30.0, 31, 10, 11], rs.Targets!);
        Assert.Equal([3.0, 1], rs.Features);
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Subset([3]));
    }

    [Theory]
    [InlineData(100, 0.2, 20)]
    [InlineData(7, 0.5, 4)]
    [InlineData(2, 0.01, 1)]
    [InlineData(2, 0.99, 1)]
    [InlineData(1000, 0.1, 100)]
    public void Split_sizes_are_disjoint_and_cover_everything(int count, double fraction, int validation)
    {
        (Dataset<float> train, Dataset<float> valid) = Numbered(count).Split(fraction, seed: 1);
        Assert.Equal(validation, valid.Count);
        Assert.Equal(count - validation, train.Count);
        int[] all = [.. Ids(train), .. Ids(valid)];
        Assert.Equal(Enumerable.Range(0, count), all.Order());
        Assert.Empty(Ids(train).Intersect(Ids(valid)));
        foreach (Dataset<float> part in new[] { train, valid })
            for (int i = 0; i < part.Count; i++)
            {
                Assert.Equal(-part.Row(i)[0], part.Row(i)[1]);
                Assert.Equal((int)part.Row(i)[0] % 3, part.ClassIndices![i]);
            }
    }

    /// <summary>The fixed cases above pin the rounding at the edges; this draws any size, fraction and seed.</summary>
    [Property(MaxTest = 200)]
    public void Split_parts_are_disjoint_cover_everything_and_follow_the_seed(PositiveInt size, NormalFloat fraction, int seed)
    {
        int count = 2 + size.Get % 500;
        double f = Math.Clamp(Math.Abs(fraction.Get) % 1, 1e-3, 1 - 1e-3);
        Dataset<float> d = Numbered(count);
        (Dataset<float> train, Dataset<float> valid) = d.Split(f, seed);
        Assert.Equal(Math.Clamp((int)Math.Round(count * f), 1, count - 1), valid.Count);
        Assert.Equal(Enumerable.Range(0, count), Ids(train).Concat(Ids(valid)).Order());
        (Dataset<float> again, Dataset<float> validAgain) = d.Split(f, seed);
        Assert.Equal(Ids(train), Ids(again));
        Assert.Equal(Ids(valid), Ids(validAgain));
    }

    [Fact]
    public void Split_is_reproducible_from_the_seed()
    {
        Dataset<float> d = Numbered(50);
        (Dataset<float> a, Dataset<float> av) = d.Split(0.3, seed: 42);
        (Dataset<float> b, Dataset<float> bv) = d.Split(0.3, seed: 42);
        (Dataset<float> c, _) = d.Split(0.3, seed: 43);
        Assert.Equal(Ids(a), Ids(b));
        Assert.Equal(Ids(av), Ids(bv));
        Assert.NotEqual(Ids(a), Ids(c));
        Assert.NotEqual(Enumerable.Range(0, a.Count), Ids(a));
    }

    [Fact]
    public void Split_rejects_bad_fractions_and_tiny_sets()
    {
        Dataset<float> d = Numbered(10);
        foreach (double f in new[] { 0, 1, -0.1, 1.5, double.NaN })
            Assert.Equal("validationFraction", Assert.Throws<ArgumentOutOfRangeException>(() => d.Split(f, 1)).ParamName);
        Assert.Throws<InvalidOperationException>(() => new Dataset<float>([1], 1, [0], 2).Split(0.5, 1));
    }
}
