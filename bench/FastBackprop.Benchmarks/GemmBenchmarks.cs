using BenchmarkDotNet.Attributes;
using FastBackprop.Benchmarks.Peers;
using FastBackprop.Kernels.Gemm;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Single;
using FastBackprop.Primitives;

namespace FastBackprop.Benchmarks;

/// <summary>fp32 GEMM for the shapes of <see cref="GemmShape"/>: FastBackprop against OpenBLAS, MathNet's
/// managed multiply and the simple Vector&lt;float&gt; loop, all single-threaded, in one run.</summary>
public class GemmBenchmarks
{
    /// <summary>Threads given to FastBackprop and OpenBLAS (the other peers are single-threaded).</summary>
    protected virtual int Threads => 1;

    private float[] a = [], b = [], c = [];
    private Matrix<float> ma = null!, mb = null!, mc = null!;

    public static bool Quick { get; set; }

    public static IEnumerable<GemmShape> Shapes => GemmShape.All(Quick);

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        a = Fill(random, Shape.M * Shape.K);
        b = Fill(random, Shape.K * Shape.N);
        c = new float[Shape.M * Shape.N];
        MathNet.Numerics.Control.UseManaged();
        ma = DenseMatrix.Create(Shape.M, Shape.K, (i, j) => a[i * Shape.K + j]);
        mb = DenseMatrix.Create(Shape.K, Shape.N, (i, j) => b[i * Shape.N + j]);
        mc = DenseMatrix.Create(Shape.M, Shape.N, 0f);
        OpenBlas.SetThreadCount(Threads);
        Parallelism.MaxDegreeOfParallelism = Threads;
        Console.WriteLine($"// threads: {Threads}; kernel: {GemmDriver<float>.KernelName}; OpenBLAS core: {(OpenBlas.IsAvailable ? OpenBlas.CoreName : OpenBlas.Unavailable)}; " +
            $"OPENBLAS_CORETYPE={Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "(unset)"}");
    }

    [Benchmark(Baseline = true)]
    public void FastBackprop() =>
        Gemm.Multiply(Shape.TransA, Shape.TransB, Shape.M, Shape.N, Shape.K, 1f, a, LdA, b, LdB, 0f, c, Shape.N);

    [Benchmark]
    public void OpenBLAS()
    {
        if (!OpenBlas.IsAvailable)
            throw new NotSupportedException(OpenBlas.Unavailable);
        OpenBlas.Multiply(Shape.TransA == Transpose.Yes, Shape.TransB == Transpose.Yes, Shape.M, Shape.N, Shape.K, 1f, a, LdA, b, LdB, 0f, c, Shape.N);
    }

    [BenchmarkCategory("SingleThreadPeers")]
    [Benchmark]
    public void MathNetManaged() => ma.Multiply(mb, mc);

    [BenchmarkCategory("SingleThreadPeers")]
    [Benchmark]
    public void SimpleVectorLoop() => SimpleVectorGemm.Multiply(Shape.M, Shape.N, Shape.K, a, b, c);

    private int LdA => Shape.TransA == Transpose.Yes ? Shape.M : Shape.K;

    private int LdB => Shape.TransB == Transpose.Yes ? Shape.K : Shape.N;

    private static float[] Fill(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
            values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}

/// <summary>The same products on two threads, FastBackprop against OpenBLAS (two threads each).</summary>
public class GemmTwoThreadBenchmarks : GemmBenchmarks
{
    protected override int Threads => 2;
}
