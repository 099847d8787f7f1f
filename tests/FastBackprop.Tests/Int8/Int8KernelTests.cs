using FsCheck;
using FsCheck.Fluent;
using FastBackprop.Kernels.Int8;

namespace FastBackprop.Tests.Int8;

/// <summary>A fact for one int8 instruction path, reported as skipped only where this CPU cannot execute that instruction
/// (AVX-VNNI on a CPU without it, Arm64 SDOT on x86): those instructions have no software fallback.</summary>
public sealed class Int8PathFactAttribute : FactAttribute
{
    public Int8PathFactAttribute(string path)
    {
        if (!Int8Paths.CanRun(Enum.Parse<Int8Path>(path)))
            Skip = $"This CPU cannot execute {Int8Paths.Describe(Enum.Parse<Int8Path>(path))}.";
    }
}

/// <summary>One int8 product: U (m×k codes in [0, 127]) times Qᵀ (n×k codes in [−127, 127]), with the seed of its data and
/// how often the codes sit at the extremes (where a saturating scheme would fail).</summary>
public sealed record Int8Case(int M, int N, int K, int Seed, int ExtremePercent)
{
    public static Arbitrary<Int8Case> Arbitrary()
    {
        // 1, primes, either side of the register widths (4, 8, 16 columns; 16, 32, 64-column panels; K groups of 4),
        // GEMV (1–4 rows) and batches past a tile.
        int[] columns = [1, 2, 3, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 127, 129];
        int[] depths = [1, 2, 3, 4, 5, 7, 9, 13, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129, 257];
        // Blocks of 16 register tiles: 32, 48 or 64 rows, so 47–49 and 63–65 cross one.
        Gen<int> rows = Gen.Frequency((3, Gen.Choose(1, 4)), (2, Gen.Elements(5, 7, 9, 11, 13, 17, 47, 48, 49, 63, 64, 65)), (1, Gen.Choose(1, 140)));
        Gen<Int8Case> gen =
            from m in rows
            from n in Gen.Frequency((4, Gen.Elements(columns)), (1, Gen.Choose(1, 200)))
            from k in Gen.Frequency((4, Gen.Elements(depths)), (1, Gen.Choose(1, 800)))
            from seed in Gen.Choose(0, int.MaxValue)
            from extreme in Gen.Elements(0, 10, 50, 100)
            select new Int8Case(m, n, k, seed, extreme);
        return Arb.From(gen, Shrink);
    }

    private static IEnumerable<Int8Case> Shrink(Int8Case c)
    {
        foreach (int m in Dimensions.Shrink(c.M)) yield return c with { M = m };
        foreach (int n in Dimensions.Shrink(c.N)) yield return c with { N = n };
        foreach (int k in Dimensions.Shrink(c.K)) yield return c with { K = k };
    }

    /// <summary>Activation codes, rows padded to whole groups of four with bytes the kernel must ignore (127: the weights
    /// there are zero), and weight codes.</summary>
    public (byte[] Codes, int Stride, sbyte[] Weights) Data()
    {
        var random = new Random(Seed);
        int stride = Int8Scheme.PaddedDepth(K);
        var codes = new byte[M * stride];
        Array.Fill(codes, (byte)127);
        for (int i = 0; i < M; i++)
            for (int p = 0; p < K; p++)
                codes[i * stride + p] = random.Next(100) < ExtremePercent ? (byte)127 : (byte)random.Next(0, 128);
        var weights = new sbyte[N * K];
        for (int j = 0; j < weights.Length; j++)
            weights[j] = random.Next(100) < ExtremePercent ? (sbyte)(random.Next(2) == 0 ? -127 : 127) : (sbyte)random.Next(-127, 128);
        return (codes, stride, weights);
    }
}

/// <summary>
/// Every int8 kernel path's int32 accumulators equal an exact scalar reference, bit for bit, on any shape: the paths are
/// forced through the packed operand (its <see cref="Int8Path"/> picks the kernel), so every path this CPU can execute runs
/// here whatever the machine would choose by itself.
/// </summary>
[Collection(nameof(ForcedKernelConfiguration))]
public class Int8KernelTests
{
    [Int8PathFact(nameof(Int8Path.Vector128))] public void Vector128_accumulators_are_exact() => Check(Int8Path.Vector128);
    [Int8PathFact(nameof(Int8Path.Avx2))] public void Avx2_accumulators_are_exact() => Check(Int8Path.Avx2);
    [Int8PathFact(nameof(Int8Path.Avx512BW))] public void Avx512BW_accumulators_are_exact() => Check(Int8Path.Avx512BW);
    [Int8PathFact(nameof(Int8Path.AvxVnni))] public void AvxVnni_accumulators_are_exact() => Check(Int8Path.AvxVnni);
    [Int8PathFact(nameof(Int8Path.ArmDot))] public void ArmDot_accumulators_are_exact() => Check(Int8Path.ArmDot);

    /// <summary>The worst case of the scheme on every path: every activation 127 and every weight ±127 at the largest
    /// depth a layer may have gives 127²·2¹⁷, just below 2³¹, with no saturation on the way.</summary>
    [Fact]
    public void The_largest_accumulator_fits_int32()
    {
        long worst = (long)Int8Scheme.ActivationLevels * Int8Scheme.WeightLevels * Int8Scheme.MaxDepth;
        Assert.True(worst <= int.MaxValue, $"127²·{Int8Scheme.MaxDepth} = {worst}");
        Assert.True(2 * Int8Scheme.ActivationLevels * Int8Scheme.WeightLevels <= short.MaxValue, "a vpmaddubsw pair fits int16");
        Assert.True((long)Int8Scheme.WeightLevels * Int8Scheme.MaxDepth < 1 << 24, "a column sum is exact in float");
        foreach (Int8Path path in Int8Paths.All.Where(Int8Paths.CanRun))
        {
            var all = new Int8Case(2, 3, 4096, 1, 100);
            RunCase(path, all);
        }
    }

    [Fact]
    public void Paths_that_cannot_run_here_lack_their_instruction()
    {
        Assert.True(Int8Paths.CanRun(Int8Path.Vector128));
        Assert.Equal(System.Runtime.Intrinsics.X86.AvxVnni.IsSupported, Int8Paths.CanRun(Int8Path.AvxVnni));
        Assert.Equal(System.Runtime.Intrinsics.Arm.Dp.IsSupported, Int8Paths.CanRun(Int8Path.ArmDot));
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx512BW.IsSupported, Int8Paths.CanRun(Int8Path.Avx512BW));
        // Whatever register width a configuration asks for (even one this CPU only emulates), its int8 path runs here.
        foreach (FastBackprop.Hardware.InstructionSet set in Enum.GetValues<FastBackprop.Hardware.InstructionSet>())
            Assert.True(Int8Paths.CanRun(FastBackprop.Hardware.KernelConfiguration.For(instructionSet: set).Int8Path), $"{set}");
    }

    private static void Check(Int8Path path)
        => Properties.Check($"int8-accumulators-{path}", Int8Case.Arbitrary(), c => RunCase(path, c), 150);

    internal static unsafe void RunCase(Int8Path path, Int8Case c)
    {
        (byte[] codes, int stride, sbyte[] weights) = c.Data();
        var packed = new PackedInt8Weights(weights, c.N, c.K, path);
        var actual = new int[c.M * c.N];
        int parts = 2;
        int perPart = Int8Gemm.MaxBlockRows * packed.Panels * packed.PanelWidth;
        var scratch = new int[parts * perPart];
        fixed (byte* x = codes)
        fixed (int* result = actual)
        fixed (int* accumulators = scratch)
        {
            var copy = new CopyRows(result, c.N);
            Int8Gemm.Run(packed, x, stride, c.M, copy, accumulators, perPart, parts);
        }
        for (int i = 0; i < c.M; i++)
            for (int j = 0; j < c.N; j++)
            {
                long expected = 0;
                for (int p = 0; p < c.K; p++)
                    expected += codes[i * stride + p] * weights[j * c.K + p];
                if (actual[i * c.N + j] != expected)
                    Assert.Fail($"{path} {c}: acc[{i}, {j}] = {actual[i * c.N + j]}, exactly {expected}.");
            }
    }

    /// <summary>An epilogue that only copies each row's accumulators out.</summary>
    private readonly unsafe struct CopyRows(int* destination, int columns) : IInt8RowEpilogue
    {
        public void Finish(int row, int* accumulators, int part)
            => new ReadOnlySpan<int>(accumulators, columns).CopyTo(new Span<int>(destination + row * columns, columns));
    }
}

/// <summary>The row quantizer (<see cref="Int8Scheme.QuantizeRow"/>) against the scheme written out in scalar form: the
/// same (lo, s) and the same codes on every element (vector body and scalar tail alike), each code within half a step.</summary>
public class RowQuantizationTests
{
    public sealed record RowCase(int Length, int Kind, int Seed);

    [Fact]
    public void Codes_follow_the_scheme_on_every_element()
    {
        Gen<RowCase> gen =
            from length in Gen.Frequency((4, Gen.Elements(1, 2, 7, 8, 9, 31, 32, 33, 63, 64, 65, 784)), (1, Gen.Choose(1, 1100)))
            from kind in Gen.Choose(0, 5)
            from seed in Gen.Choose(0, int.MaxValue)
            select new RowCase(length, kind, seed);
        Properties.Check("int8-row-codes", Arb.From(gen), Check, 300);
    }

    private static unsafe void Check(RowCase c)
    {
        var random = new Random(c.Seed);
        float[] x = new float[c.Length];
        for (int k = 0; k < x.Length; k++)
            x[k] = c.Kind switch
            {
                0 => (float)random.NextDouble(),                                         // [0, 1): the network's inputs
                1 => random.Next(3) == 0 ? 0f : (float)random.NextDouble() * 5,          // after ReLU: many zeros
                2 => (float)((random.NextDouble() - 0.5) * Math.ScaleB(1, random.Next(-30, 31))),   // wide magnitudes
                3 => 2.5f,                                                               // constant
                4 => random.Next(2) == 0 ? -0f : 0f,                                     // signed zeros
                _ => 1f + random.Next(3) * 1e-38f,                                       // a span too small to invert
            };
        var codes = new byte[c.Length];
        float lo, s;
        fixed (float* px = x)
        fixed (byte* pc = codes)
            (lo, s) = Int8Scheme.QuantizeRow(px, c.Length, pc);
        float min = x.Min() + 0f, max = x.Max() + 0f, span = max - min;
        float inverse = span >= 127 / float.MaxValue ? 127 / span : 0f;
        Assert.Equal(BitConverter.SingleToInt32Bits(min), BitConverter.SingleToInt32Bits(lo));
        Assert.Equal(BitConverter.SingleToInt32Bits(span / 127), BitConverter.SingleToInt32Bits(s));
        for (int k = 0; k < x.Length; k++)
        {
            int expected = Math.Clamp((int)MathF.Round((x[k] - min) * inverse), 0, 127);
            if (codes[k] != expected)
                Assert.Fail($"{c}: x[{k}] = {x[k]:R} coded {codes[k]}, the scheme gives {expected}.");
            double error = Math.Abs(x[k] - (lo + (double)s * codes[k]));
            if (!(error <= s * (0.5 + 1024.0 / (1 << 24)) + (inverse == 0 ? span : 0)))
                Assert.Fail($"{c}: x[{k}] = {x[k]:R} coded {codes[k]} is {error:G4} away, more than half a step of {s:G4}.");
        }
    }
}

/// <summary>When the int8 product splits its rows between threads: from two operations per multiply-add per thread (as
/// an FMA counts two flops) of the configuration's minimum, on any path.</summary>
[Collection(nameof(GemmThreadCount))]
public sealed class Int8ThreadingTests
{
    [Theory]
    [InlineData(0.75, 1)]   // 1.5 minimums of work: one thread
    [InlineData(1.25, 2)]   // 2.5 minimums: two (counting one operation per multiply-add gave one)
    [InlineData(4.0, 2)]    // no more threads than allowed
    public unsafe void Rows_split_from_two_operations_per_multiply_add(double minimums, int expectedParts)
    {
        using var restore = new GemmSettingsScope();
        Parallelism.MaxDegreeOfParallelism = 2;
        Int8Path path = FastBackprop.Hardware.KernelConfiguration.Active.Int8Path;
        const int m = 16, k = 256;
        int n = (int)Math.Round(minimums * FastBackprop.Hardware.KernelConfiguration.Active.MinimumFlopsPerThread / (m * k));
        var packed = new PackedInt8Weights(new sbyte[n * k], n, k, path);
        int perPart = Int8Gemm.MaxBlockRows * packed.Panels * packed.PanelWidth;
        var scratch = new int[4 * perPart];
        var x = new byte[m * k];
        var seen = new int[4];
        fixed (byte* codes = x)
        fixed (int* accumulators = scratch)
        fixed (int* parts = seen)
            Int8Gemm.Run(packed, codes, k, m, new PartsSeen(parts), accumulators, perPart, 4);
        Assert.Equal(expectedParts, seen.Count(s => s > 0));
        Assert.Equal(m, seen.Sum());
    }

    /// <summary>Counts the rows each part finished.</summary>
    private readonly unsafe struct PartsSeen(int* parts) : IInt8RowEpilogue
    {
        public void Finish(int row, int* accumulators, int part) => Interlocked.Increment(ref parts[part]);
    }
}
