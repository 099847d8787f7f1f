using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using FastBackprop.Benchmarks;
using System.Runtime.Intrinsics;

// Usage: dotnet run -c Release --project bench/FastBackprop.Benchmarks -- [--quick] [--all-shapes] [BenchmarkDotNet args, e.g. --filter '*Gemm*']
// Run under `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` so the OpenBLAS peer uses its AVX-512 kernels.
// --quick: short in-process job and the main shapes (about a minute per class);
// --all-shapes: every shape of GemmShape.All even with --quick.
bool quick = args.Contains("--quick");
bool allShapes = args.Contains("--all-shapes");
string[] rest = args.Where(a => a is not ("--quick" or "--all-shapes")).ToArray();
GemmBenchmarks.Quick = quick && !allShapes;

// fp32 FMA peak of one core of the machine the results document was measured on (AMD EPYC, 2 FMA/cycle):
// 225 GFLOP/s with AVX-512, half that on the AVX2 path. Override with FASTBACKPROP_PEAK_GFLOPS.
double peak = double.TryParse(Environment.GetEnvironmentVariable("FASTBACKPROP_PEAK_GFLOPS"), out double p) ? p
    : Vector512.IsHardwareAccelerated ? 225 : 112.5;

Job job = quick
    ? Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(7).WithLaunchCount(1)
    : Job.Default.WithWarmupCount(5).WithIterationCount(15).WithLaunchCount(1);
var config = DefaultConfig.Instance
    .AddJob(job)
    .AddColumn(new GflopsColumn(peak))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
if (rest.Length == 0)
    rest = ["--filter", "*"];
// Two-thread runs compare FastBackprop with OpenBLAS only: the managed peers have no threads to give.
config = config.AddFilter(new BenchmarkDotNet.Filters.SimpleFilter(b =>
    !(b.Descriptor.Type == typeof(GemmTwoThreadBenchmarks) && b.Descriptor.Categories.Contains("SingleThreadPeers"))));
BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(rest, config);
