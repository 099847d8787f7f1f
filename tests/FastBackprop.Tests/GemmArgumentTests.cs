using FsCheck;
using FsCheck.Fluent;
using FastBackprop.Primitives;

namespace FastBackprop.Tests;

/// <summary>Bad BLAS arguments: an ArgumentException (or subclass) naming the argument, with the numbers in the message.</summary>
public class GemmArgumentTests
{
    private static T Throws<T>(Action call, string paramName, params string[] inMessage) where T : ArgumentException
    {
        T ex = Assert.ThrowsAny<T>(call);
        Assert.Equal(paramName, ex.ParamName);
        foreach (string text in inMessage)
            Assert.Contains(text, ex.Message);
        return ex;
    }

    /// <summary>C sharing storage with A or B (in full, partly, or one element) is rejected before anything is written;
    /// separate windows of one array are fine.</summary>
    [Fact]
    public void C_overlapping_A_or_B_is_rejected()
    {
        var storage = new float[200];
        for (int i = 0; i < storage.Length; i++)
            storage[i] = i;
        float[] before = (float[])storage.Clone();
        // A = storage[0..16) (4×4), B = storage[50..66), C = storage[o..o+16).
        foreach (int o in new[] { 0, 10, 15, 50, 60, 65 })
        {
            Throws<ArgumentException>(() => Gemm.Multiply(Transpose.No, Transpose.No, 4, 4, 4, 1f,
                storage.AsSpan(0, 16), 4, storage.AsSpan(50, 16), 4, 0f, storage.AsSpan(o, 16), 4), "c", "overlaps", "m = 4");
            Assert.Equal(before, storage);
        }
        Gemm.Multiply(Transpose.No, Transpose.No, 4, 4, 4, 1f, storage.AsSpan(0, 16), 4, storage.AsSpan(50, 16), 4, 0f, storage.AsSpan(100, 16), 4);
        Gemm.Multiply(Transpose.No, Transpose.No, 4, 4, 4, 1f, storage.AsSpan(0, 16), 4, storage.AsSpan(0, 16), 4, 0f, storage.AsSpan(16, 16), 4);
        var d = new double[64];
        Throws<ArgumentException>(() => Gemm.Multiply(Transpose.Yes, Transpose.Yes, 2, 2, 2, 1.0, d.AsSpan(0, 4), 2, d.AsSpan(8, 4), 2, 0.0, d.AsSpan(9, 4), 2), "c", "overlaps");
    }

    [Theory]
    [InlineData("m")]
    [InlineData("n")]
    [InlineData("k")]
    public void Negative_size(string which)
    {
        int m = which == "m" ? -3 : 4, n = which == "n" ? -5 : 4, k = which == "k" ? -7 : 4;
        string value = which switch { "m" => "-3", "n" => "-5", _ => "-7" };
        var buffer = new float[64];
        Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.No, Transpose.No, m, n, k, 1f, buffer, 4, buffer, 4, 0f, new float[64], 4), which, value);
        var d = new double[64];
        Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.Yes, Transpose.Yes, m, n, k, 1.0, d, 4, d, 4, 0.0, new double[64], 4), which, value);
    }

    /// <summary>Row lengths: A is m×k (or k×m transposed), B is k×n (or n×k), C is m×n. Sizes are distinct primes so the message must hold the right ones.</summary>
    [Theory]
    [InlineData(Transpose.No, Transpose.No, "lda", 13, 12)]   // A m×k: row length k = 13
    [InlineData(Transpose.Yes, Transpose.No, "lda", 11, 10)]  // Aᵀ stored k×m: row length m = 11
    [InlineData(Transpose.No, Transpose.No, "ldb", 17, 16)]   // B k×n: row length n = 17
    [InlineData(Transpose.No, Transpose.Yes, "ldb", 13, 12)]  // Bᵀ stored n×k: row length k = 13
    [InlineData(Transpose.No, Transpose.No, "ldc", 17, 16)]   // C m×n: row length n = 17
    [InlineData(Transpose.Yes, Transpose.Yes, "ldc", 17, 1)]
    [InlineData(Transpose.No, Transpose.No, "lda", 13, -1)]
    public void Leading_dimension_smaller_than_row(Transpose ta, Transpose tb, string which, int rowLength, int badLd)
    {
        const int m = 11, n = 17, k = 13;
        int lda = which == "lda" ? badLd : ta == Transpose.Yes ? m : k;
        int ldb = which == "ldb" ? badLd : tb == Transpose.Yes ? k : n;
        int ldc = which == "ldc" ? badLd : n;
        var big = new float[1000];
        Throws<ArgumentException>(() => Gemm.Multiply(ta, tb, m, n, k, 1f, big, lda, big, ldb, 0f, new float[1000], ldc),
            which, $"{badLd}", $"{rowLength}");
        var bigD = new double[1000];
        Throws<ArgumentException>(() => Gemm.Multiply(ta, tb, m, n, k, 2.0, bigD, lda, bigD, ldb, 1.0, new double[1000], ldc),
            which, $"{badLd}", $"{rowLength}");
    }

    [Theory]
    [InlineData(Transpose.No, Transpose.No, "a")]
    [InlineData(Transpose.Yes, Transpose.No, "a")]
    [InlineData(Transpose.No, Transpose.No, "b")]
    [InlineData(Transpose.No, Transpose.Yes, "b")]
    [InlineData(Transpose.Yes, Transpose.Yes, "c")]
    public void Span_one_element_too_short(Transpose ta, Transpose tb, string which)
    {
        const int m = 11, n = 17, k = 13, pad = 2;
        int lda = (ta == Transpose.Yes ? m : k) + pad, ldb = (tb == Transpose.Yes ? k : n) + pad, ldc = n + pad;
        int aNeeded = ((ta == Transpose.Yes ? k : m) - 1) * lda + (ta == Transpose.Yes ? m : k);
        int bNeeded = ((tb == Transpose.Yes ? n : k) - 1) * ldb + (tb == Transpose.Yes ? k : n);
        int cNeeded = (m - 1) * ldc + n;
        int needed = which switch { "a" => aNeeded, "b" => bNeeded, _ => cNeeded };
        float[] a = new float[which == "a" ? aNeeded - 1 : aNeeded], b = new float[which == "b" ? bNeeded - 1 : bNeeded];
        float[] c = new float[which == "c" ? cNeeded - 1 : cNeeded];
        Throws<ArgumentException>(() => Gemm.Multiply(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, ldc), which, $"{needed - 1}", $"{needed}");

        // Exactly the needed length is accepted.
        Gemm.Multiply(ta, tb, m, n, k, 1f, new float[aNeeded], lda, new float[bNeeded], ldb, 0f, new float[cNeeded], ldc);
    }

    [Fact]
    public void Undefined_transpose_value()
    {
        var x = new float[16];
        Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply((Transpose)2, Transpose.No, 2, 2, 2, 1f, x, 2, x, 2, 0f, new float[4], 2), "transA");
        Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Transpose.No, (Transpose)(-1), 2, 2, 2, 1.0, new double[4], 2, new double[4], 2, 0.0, new double[4], 2), "transB");
    }

    private sealed record Corruption(GemmCase Case, string Argument, int Amount);

    /// <summary>A valid random call with exactly one argument made bad: the exception names that argument,
    /// and C is left as it was (the check happens before any work).</summary>
    [Fact]
    public void One_bad_argument_is_named()
    {
        // Only corruptions that make the call bad: shortening an operand the shapes leave empty is not one.
        Gen<Corruption> gen = (from c in GemmCase.Generator()
                               from which in Gen.Elements("m", "n", "k", "lda", "ldb", "ldc", "a", "b", "c")
                               from amount in Gen.Choose(1, 5)
                               select new Corruption(c, which, amount)).Where(Applies);
        Properties.Check("gemm-bad-argument", Arb.From(gen), Run, 300);
    }

    private sealed record Call(int M, int N, int K, int Lda, int Ldb, int Ldc, int ALength, int BLength, int CLength, bool IsBad);

    private static bool Applies(Corruption corruption) => Apply(corruption).IsBad;

    /// <summary>The valid call of the case with the one argument made bad; IsBad is false when the shapes leave the shortened
    /// operand empty (an empty operand cannot be too short).</summary>
    private static Call Apply(Corruption corruption)
    {
        GemmCase c = corruption.Case;
        bool ta = c.TransA == Transpose.Yes, tb = c.TransB == Transpose.Yes;
        int m = c.M, n = c.N, k = c.K;
        int lda = (ta ? m : k) + c.PadA, ldb = (tb ? k : n) + c.PadB, ldc = n + c.PadC;
        int aLength = (int)Needed(ta ? k : m, ta ? m : k, lda), bLength = (int)Needed(tb ? n : k, tb ? k : n, ldb), cLength = (int)Needed(m, n, ldc);
        int amount = corruption.Amount;
        switch (corruption.Argument)
        {
            case "m": m = -amount; break;
            case "n": n = -amount; break;
            case "k": k = -amount; break;
            case "lda": lda = (ta ? m : k) - amount; break;
            case "ldb": ldb = (tb ? k : n) - amount; break;
            case "ldc": ldc = n - amount; break;
            case "a": aLength = Math.Max(0, aLength - amount); break;
            case "b": bLength = Math.Max(0, bLength - amount); break;
            case "c": cLength = Math.Max(0, cLength - amount); break;
        }
        long aNeeded = Needed(ta ? k : m, ta ? m : k, lda), bNeeded = Needed(tb ? n : k, tb ? k : n, ldb), cNeeded = Needed(m, n, ldc);
        bool isBad = corruption.Argument switch { "a" => aLength < aNeeded, "b" => bLength < bNeeded, "c" => cLength < cNeeded, _ => true };
        return new Call(m, n, k, lda, ldb, ldc, aLength, bLength, cLength, isBad);

        static long Needed(int rows, int columns, int ld) => rows == 0 || columns == 0 ? 0 : (long)(rows - 1) * ld + columns;
    }

    private static void Run(Corruption corruption)
    {
        GemmCase c = corruption.Case;
        (int m, int n, int k, int lda, int ldb, int ldc, int aLength, int bLength, int cLength, bool isBad) = Apply(corruption);
        Assert.True(isBad, $"{corruption} does not make the call bad (the generator should not produce it)");
        var random = new Random(c.Seed);
        float[] a = TestData.Uniform<float>(random, Math.Max(aLength, 0)), b = TestData.Uniform<float>(random, Math.Max(bLength, 0));
        float[] cValues = TestData.Uniform<float>(random, Math.Max(cLength, 0)), before = (float[])cValues.Clone();
        var ex = Assert.ThrowsAny<ArgumentException>(() =>
            Gemm.Multiply(c.TransA, c.TransB, m, n, k, (float)c.Alpha, a, lda, b, ldb, (float)c.Beta, cValues, ldc));
        Assert.Equal(corruption.Argument, ex.ParamName);
        Bits.Equal<float>(before, cValues, "C after a rejected call");
    }
}
