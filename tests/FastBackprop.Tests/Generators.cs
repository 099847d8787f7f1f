using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using FastBackprop.Primitives;

namespace FastBackprop.Tests;

/// <summary>
/// Runs FsCheck properties inside plain xunit facts. Every property replays a fixed seed derived from its
/// name, so a run is reproducible; FASTBACKPROP_PROPERTY_TESTS=N multiplies every case count by N for long
/// runs, and FASTBACKPROP_PROPERTY_SEED=S (an integer) draws a different fixed sequence.
/// A failure throws with the shrunk counterexample.
/// </summary>
public static class Properties
{
    public static int Multiplier { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("FASTBACKPROP_PROPERTY_TESTS"), out int m) && m > 0 ? m : 1;

    private static readonly ulong SeedSalt =
        ulong.TryParse(Environment.GetEnvironmentVariable("FASTBACKPROP_PROPERTY_SEED"), out ulong s) ? s : 0;

    /// <summary>The number of cases a property with <paramref name="baseCount"/> default cases runs.</summary>
    public static int Count(int baseCount) => baseCount * Multiplier;

    public static void Check<TCase>(string name, Arbitrary<TCase> arbitrary, Action<TCase> body, int baseCount)
    {
        ulong seed = StableHash(name) ^ SeedSalt;
        Config config = Config.QuickThrowOnFailure
            .WithMaxTest(Count(baseCount))
            .WithQuietOnSuccess(true)
            .WithName(name)
            .WithReplay(seed, 0x9E3779B97F4A7C15UL);
        FsCheck.Check.One(config, Prop.ForAll(arbitrary, body));
    }

    /// <summary>FNV-1a: string.GetHashCode is randomised per process, this is not.</summary>
    private static ulong StableHash(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in text)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        return hash;
    }
}

/// <summary>Sizes that find edge cases: 1, primes, and just either side of the SIMD widths and tile sizes.</summary>
public static class Dimensions
{
    public static readonly int[] Interesting = [1, 2, 3, 5, 7, 8, 9, 11, 13, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 127, 129];

    /// <summary>The interesting sizes up to 70, for networks.</summary>
    public static readonly int[] Small = Interesting.Where(d => d <= 70).ToArray();

    public static Gen<int> Any { get; } = Gen.Frequency((9, Gen.Elements(Interesting)), (1, Gen.Choose(1, 140)));

    public static Gen<int> SmallSize { get; } = Gen.Frequency((9, Gen.Elements(Small)), (1, Gen.Choose(1, 70)));

    /// <summary>Toward <paramref name="min"/> and toward d/2, not only d − 1, or shrinking stalls at vector-width boundaries.</summary>
    public static IEnumerable<int> Shrink(int d, int min = 1)
    {
        if (d <= min)
            yield break;
        yield return min;
        if (d / 2 > min)
            yield return d / 2;
        if (d - 1 > Math.Max(min, d / 2))
            yield return d - 1;
    }
}

public enum DataKind
{
    /// <summary>Uniform in [−1, 1].</summary>
    Uniform,
    /// <summary>±[1, 2)·2^e with e in [−20, 20]: magnitudes over twelve decades, so cancellation and the relative bound both matter.</summary>
    WideRange,
    /// <summary>Integers in [−8, 8]: every sum of products is exact in float.</summary>
    SmallIntegers,
}

/// <summary>One GEMM call: shapes, extra leading-dimension padding, α, β, and the seed of its data.</summary>
public sealed record GemmCase(Transpose TransA, Transpose TransB, int M, int N, int K,
    int PadA, int PadB, int PadC, double Alpha, double Beta, DataKind Data, int Seed)
{
    public static Gen<GemmCase> Generator(bool smallIntegers = false)
    {
        Gen<Transpose> transpose = Gen.Elements(Transpose.No, Transpose.Yes);
        Gen<int> pad = Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Choose(1, 17)));
        // Mostly the interesting sizes; sometimes K past the K block (384 floats / 192 doubles) and N past NC = 512;
        // sometimes an empty dimension.
        Gen<(int, int, int)> shape = Gen.Frequency(
            (16, from m in Dimensions.Any from n in Dimensions.Any from k in Dimensions.Any select (m, n, k)),
            (2, from m in Gen.Elements(1, 2, 3, 13, 17, 33, 65) from n in Gen.Choose(513, 600) from k in Gen.Choose(385, 450) select (m, n, k)),
            (2, from m in Gen.Choose(12, 200) from n in Gen.Elements(1, 5, 16, 33) from k in Gen.Choose(150, 450) select (m, n, k)),
            (1, from m in Dimensions.Any
                from n in Dimensions.Any
                from which in Gen.Choose(0, 2)
                select which == 0 ? (0, n, m) : which == 1 ? (m, 0, n) : (m, n, 0)));
        Gen<double> alpha = smallIntegers
            ? Gen.Elements(1.0, -1.0, 2.0, 0.5, 3.0, 0.0)
            : Gen.Frequency((3, Gen.Elements(1.0, -1.0, 0.5, 2.0)), (1, Gen.Constant(0.0)),
                (3, Gen.Choose(-2000, 2000).Select(v => (double)(float)(v / 1000.0))));
        Gen<double> beta = smallIntegers
            ? Gen.Elements(0.0, 1.0, -2.0, 0.5)
            : Gen.Frequency((4, Gen.Constant(0.0)), (3, Gen.Elements(1.0, -1.0, 0.5)),
                (2, Gen.Choose(-2000, 2000).Select(v => (double)(float)(v / 1000.0))));
        Gen<DataKind> data = smallIntegers
            ? Gen.Constant(DataKind.SmallIntegers)
            : Gen.Frequency((3, Gen.Constant(DataKind.Uniform)), (1, Gen.Constant(DataKind.WideRange)));
        return from ta in transpose
               from tb in transpose
               from s in shape
               from pa in pad
               from pb in pad
               from pc in pad
               from al in alpha
               from be in beta
               from d in data
               from seed in Gen.Choose(0, int.MaxValue)
               select new GemmCase(ta, tb, s.Item1, s.Item2, s.Item3, pa, pb, pc, al, be, d, seed);
    }

    public static IEnumerable<GemmCase> Shrink(GemmCase c)
    {
        foreach (int m in Dimensions.Shrink(c.M)) yield return c with { M = m };
        foreach (int n in Dimensions.Shrink(c.N)) yield return c with { N = n };
        foreach (int k in Dimensions.Shrink(c.K)) yield return c with { K = k };
        if (c.PadA > 0) yield return c with { PadA = 0 };
        if (c.PadB > 0) yield return c with { PadB = 0 };
        if (c.PadC > 0) yield return c with { PadC = 0 };
        if (c.TransA == Transpose.Yes) yield return c with { TransA = Transpose.No };
        if (c.TransB == Transpose.Yes) yield return c with { TransB = Transpose.No };
        if (c.Alpha is not (1 or 0)) yield return c with { Alpha = 1 };
        if (c.Beta is not (0 or 1)) yield return c with { Beta = 1 };
        if (c.Data == DataKind.WideRange) yield return c with { Data = DataKind.Uniform };
    }

    public static Arbitrary<GemmCase> Arbitrary(bool smallIntegers = false) => Arb.From(Generator(smallIntegers), Shrink);
}

/// <summary>The output layer and loss of a network under test: every pairing MATH.md allows.</summary>
public enum Head
{
    IdentityMeanSquared, IdentitySumSquared,
    SigmoidMeanSquared, SigmoidSumSquared,
    TanhMeanSquared, TanhSumSquared,
    ReLUMeanSquared, ReLUSumSquared,
    LeakyReLUMeanSquared, LeakyReLUSumSquared,
    SigmoidMeanBinaryCrossEntropy, SigmoidSumBinaryCrossEntropy,
    SoftmaxMeanOneHot, SoftmaxSumOneHot,
    SoftmaxMeanClassIndex, SoftmaxSumClassIndex,
}

public static class Heads
{
    public static IEnumerable<object[]> All => Enum.GetValues<Head>().Select(h => new object[] { h });

    public static ActivationKind OutputKind(Head head) => head switch
    {
        Head.IdentityMeanSquared or Head.IdentitySumSquared => ActivationKind.Identity,
        Head.SigmoidMeanSquared or Head.SigmoidSumSquared or Head.SigmoidMeanBinaryCrossEntropy or Head.SigmoidSumBinaryCrossEntropy => ActivationKind.Sigmoid,
        Head.TanhMeanSquared or Head.TanhSumSquared => ActivationKind.Tanh,
        Head.ReLUMeanSquared or Head.ReLUSumSquared => ActivationKind.ReLU,
        Head.LeakyReLUMeanSquared or Head.LeakyReLUSumSquared => ActivationKind.LeakyReLU,
        _ => ActivationKind.Softmax,
    };

    public static Loss Loss(Head head)
    {
        string name = head.ToString();
        Reduction reduction = name.Contains("Mean") ? Reduction.Mean : Reduction.Sum;
        LossKind kind = name.EndsWith("Squared") ? LossKind.SquaredError
            : name.EndsWith("BinaryCrossEntropy") ? LossKind.BinaryCrossEntropy
            : LossKind.SoftmaxCrossEntropy;
        return new Loss(kind, reduction);
    }

    public static bool ClassIndices(Head head) => head is Head.SoftmaxMeanClassIndex or Head.SoftmaxSumClassIndex;
}

/// <summary>A random network: input width, hidden layers (width, activation), the head, batch size and data seed.</summary>
public sealed record NetworkCase(int Inputs, int[] Widths, ActivationKind[] Hidden, double LeakyAlpha,
    int Outputs, Head Head, int Batch, int Seed)
{
    public static readonly ActivationKind[] HiddenKinds =
        [ActivationKind.Identity, ActivationKind.Sigmoid, ActivationKind.Tanh, ActivationKind.ReLU, ActivationKind.LeakyReLU, ActivationKind.SiLU];

    public Activation Make(ActivationKind kind) => kind == ActivationKind.LeakyReLU ? Activation.LeakyReLU(LeakyAlpha) : Activation.FromKind(kind);

    public LayerSpec[] Specs()
        => Widths.Select((w, l) => new LayerSpec(w, Make(Hidden[l])))
            .Append(new LayerSpec(Outputs, Make(Heads.OutputKind(Head)))).ToArray();

    public override string ToString()
        => $"NetworkCase {{ {Inputs}-{string.Join("-", Widths.Select((w, l) => $"{w}{Hidden[l]}"))}-{Outputs}{Heads.OutputKind(Head)}, "
            + $"Head = {Head}, LeakyAlpha = {LeakyAlpha}, Batch = {Batch}, Seed = {Seed} }}";

    /// <summary>1–4 layers in all, widths from the interesting sizes ≤ 70.</summary>
    public static Gen<NetworkCase> Generator(Head head, Gen<int>? width = null, Gen<int>? batch = null)
    {
        width ??= Dimensions.SmallSize;
        batch ??= Dimensions.SmallSize;
        Gen<int> outputs = head is Head.SigmoidMeanBinaryCrossEntropy or Head.SigmoidSumBinaryCrossEntropy
            or Head.SoftmaxMeanOneHot or Head.SoftmaxSumOneHot or Head.SoftmaxMeanClassIndex or Head.SoftmaxSumClassIndex
            ? Gen.Frequency((3, Gen.Elements(1, 2, 3, 7, 10, 17)), (1, width))
            : width;
        return from inputs in width
               from depth in Gen.Choose(0, 3)
               from widths in Gen.ArrayOf(width, depth)
               from hidden in Gen.ArrayOf(Gen.Elements(HiddenKinds), depth)
               from alpha in Gen.Elements(0.01, 0.2, 1.5)
               from o in outputs
               from b in batch
               from seed in Gen.Choose(0, int.MaxValue)
               select new NetworkCase(inputs, widths, hidden, alpha, o, head, b, seed);
    }

    public static IEnumerable<NetworkCase> Shrink(NetworkCase c)
    {
        for (int l = 0; l < c.Widths.Length; l++)
        {
            int layer = l;
            yield return c with { Widths = c.Widths.Where((_, i) => i != layer).ToArray(), Hidden = c.Hidden.Where((_, i) => i != layer).ToArray() };
        }
        foreach (int d in Dimensions.Shrink(c.Inputs)) yield return c with { Inputs = d };
        foreach (int d in Dimensions.Shrink(c.Outputs)) yield return c with { Outputs = d };
        foreach (int d in Dimensions.Shrink(c.Batch)) yield return c with { Batch = d };
        for (int l = 0; l < c.Widths.Length; l++)
        {
            foreach (int d in Dimensions.Shrink(c.Widths[l]))
            {
                int[] widths = (int[])c.Widths.Clone();
                widths[l] = d;
                yield return c with { Widths = widths };
            }
            if (c.Hidden[l] != ActivationKind.Identity)
            {
                ActivationKind[] hidden = (ActivationKind[])c.Hidden.Clone();
                hidden[l] = ActivationKind.Identity;
                yield return c with { Hidden = hidden };
            }
        }
    }

    public static Arbitrary<NetworkCase> Arbitrary(Head head, Gen<int>? width = null, Gen<int>? batch = null)
        => Arb.From(Generator(head, width, batch), Shrink);
}

/// <summary>Random data for a case, drawn from its seed.</summary>
public static class TestData
{
    public static T[] Uniform<T>(Random random, int count, double low = -1, double high = 1) where T : INumberBase<T>
    {
        var values = new T[count];
        for (int i = 0; i < count; i++)
            values[i] = T.CreateTruncating(low + (high - low) * random.NextDouble());
        return values;
    }

    public static T Draw<T>(Random random, DataKind kind) where T : INumberBase<T> => kind switch
    {
        DataKind.Uniform => T.CreateTruncating(2 * random.NextDouble() - 1),
        DataKind.WideRange => T.CreateTruncating((random.Next(2) == 0 ? -1 : 1) * (1 + random.NextDouble()) * Math.ScaleB(1, random.Next(-20, 21))),
        _ => T.CreateTruncating(random.Next(-8, 9)),
    };

    /// <summary>Targets for a head: real values for squared error, 0/1 (sometimes in between) for binary
    /// cross-entropy, one-hot rows for softmax (and the class indices they encode).</summary>
    public static (T[] Values, int[] Classes) Targets<T>(Random random, Head head, int batch, int outputs) where T : INumberBase<T>
    {
        var values = new T[batch * outputs];
        var classes = new int[batch];
        Loss loss = Heads.Loss(head);
        for (int n = 0; n < batch; n++)
        {
            classes[n] = random.Next(outputs);
            for (int j = 0; j < outputs; j++)
            {
                double y = loss.Kind switch
                {
                    LossKind.SquaredError => 2 * random.NextDouble() - 1,
                    LossKind.BinaryCrossEntropy => random.Next(4) == 0 ? random.NextDouble() : random.Next(2),
                    _ => j == classes[n] ? 1 : 0,
                };
                values[n * outputs + j] = T.CreateTruncating(y);
            }
        }
        return (values, classes);
    }

    /// <summary>Rows of a row-major batch, as double.</summary>
    public static double[][] Rows<T>(ReadOnlySpan<T> values, int rows, int columns) where T : INumberBase<T>
    {
        var result = new double[rows][];
        for (int i = 0; i < rows; i++)
            result[i] = Reference.ReferenceNetwork.ToDouble(values.Slice(i * columns, columns));
        return result;
    }
}
