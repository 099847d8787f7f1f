using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using FastBackprop;
using FastBackprop.Benchmarks;
using FastBackprop.Hardware;

// Usage: dotnet run -c Release --project bench/FastBackprop.Benchmarks -- [--quick] [--all-shapes] [BenchmarkDotNet args, e.g. --filter '*Gemm*']
// Run under `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` so the OpenBLAS peer uses its AVX-512 kernels.
// --quick: short in-process job and the main shapes (about a minute per class);
// --all-shapes: every shape of GemmShape.All even with --quick;
// --cold-start: first step, steps 2-10 and steady state in fresh processes with 1 and 2 processors (not BenchmarkDotNet).
if (args.Length >= 2 && args[0] == ColdStartServing.ChildOption)
    return ColdStartServing.RunChild(args[1]);
if (args.Contains(ColdStartServing.ParentOption))
    return ColdStartServing.RunChildren();
if (args.Length >= 1 && args[0] == ColdStart.ChildOption)
    return ColdStart.RunChild(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3);
bool quick = args.Contains("--quick");
bool allShapes = args.Contains("--all-shapes");
string[] rest = args.Where(a => a is not ("--quick" or "--all-shapes")).ToArray();
GemmBenchmarks.Quick = quick && !allShapes;

// The machine, the kernels chosen for it and its fp32 FMA peak (one core, measured now on the configured path's
// registers; FASTBACKPROP_PEAK_GFLOPS overrides it), printed first and at the top of every exported report.
KernelConfiguration kernels = KernelConfiguration.Current;
double peak = double.TryParse(Environment.GetEnvironmentVariable("FASTBACKPROP_PEAK_GFLOPS"), out double p) ? p
    : PeakFlops.MeasureGflops(kernels.InstructionSet);
string header = $"""
    {kernels.Cpu}
    {kernels}
    measured fp32 FMA peak of one core ({CpuInfo.Describe(kernels.InstructionSet)}): {peak:F1} GFLOP/s
    results folder for this CPU: bench/results/{PeakFlops.ResultsFolder(kernels.Cpu)}/
    """;
Console.WriteLine(header);
if (args.Contains(ColdStart.ParentOption))
    return ColdStart.RunChildren();

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
var summaries = BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(rest, config);
string prefix = string.Join('\n', header.TrimEnd().Split('\n').Select(line => "    " + line)) + "\n\n";
foreach (var summary in summaries)
{
    // The exported reports get the same header, so a results file always says which CPU it came from.
    if (!Directory.Exists(summary.ResultsDirectoryPath))
        continue;
    foreach (string file in Directory.GetFiles(summary.ResultsDirectoryPath, summary.Title + "*.md"))
        File.WriteAllText(file, prefix + File.ReadAllText(file));
}
return 0;
