using System.Diagnostics;
using System.Globalization;

namespace FastBackprop.Fuzz;

/// <summary>
/// <c>fastbackprop-fuzz</c>: mutates valid CSV, IDX and model files and feeds them to the library's loaders in
/// process (and, for a sample, to the CLI in child processes), under a per-case time limit and a memory cap, and
/// counts clean errors, acceptances, crashes, hangs and silent acceptances of nonsense. See README.md.
/// Exit code 0 when no case failed, 1 when some did, 2 for a command-line mistake.
/// </summary>
internal static class Program
{
    private const string Help =
        """
        fastbackprop-fuzz - mutate valid CSV, IDX and model files and run FastBackprop's loaders (and CLI) on them

        Usage: fastbackprop-fuzz [options]

          --kind K                  csv, idx, model, onnx, gzip, cancel, special, deep, serving, columns or all;
                                    a comma-separated list runs several (all)
          --count N                 cases per kind (1000)
          --seed S                  run seed; case i of a kind is the same for the same seed (1)
          --start I                 first case index (0)
          --time-limit SECONDS      per case; longer is a hang (10)
          --memory-mb MB            GC heap hard limit of this process and of CLI children; 0 = none (1024)
          --bomb-mb MB              decompressed size of gzip bombs (4096)
          --bomb-percent P          share of cases that are gzip bombs (2)
          --max-classes N           more classes than this in an accepted set is nonsense (10000)
          --hostile-rows N          scale of the large non-bomb inputs (rows, cells/16, digits/64) (100000)
          --cli N                   also run N cases per kind (evenly spread) through the CLI (0)
          --cli-dll PATH            the CLI to run (default: tools/FastBackprop.Cli/bin/Release/net10.0/fastbackprop-cli.dll);
                                    cancel, special and columns run every case through it
          --serving-dll PATH        the serving sample for --kind serving (default: samples/FastBackprop.Serving/bin/Release/net10.0/FastBackprop.Serving.dll)
          --output FILE.md          write the Markdown summary there (and print it)
          --replay --kind K --seed S --index I [--write DIR] [--cli-only]
                                    regenerate one case, print it, run it (and write its files to DIR)

        Exit codes: 0 no failure, 1 crashes, hangs or silent nonsense found, 2 command-line error.
        """;

    private static int Main(string[] args)
    {
        try
        {
            return Run(args);
        }
        catch (UsageError e)
        {
            Console.Error.WriteLine($"fastbackprop-fuzz: {e.Message} (see --help)");
            return 2;
        }
    }

    private sealed class UsageError(string message) : Exception(message);

    private static int Run(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a is "-h" or "--help")
            {
                Console.WriteLine(Help);
                return 0;
            }
            if (a is "--replay" or "--cli-only")
                flags.Add(a);
            else if (a.StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
                options[a] = args[++i];
            else
                throw new UsageError($"unexpected argument '{a}'");
        }
        string[] known = ["--kind", "--count", "--seed", "--start", "--time-limit", "--memory-mb", "--bomb-mb", "--bomb-percent", "--max-classes", "--hostile-rows", "--cli", "--cli-dll", "--serving-dll", "--output", "--index", "--write"];
        foreach (string key in options.Keys)
        {
            if (!known.Contains(key))
                throw new UsageError($"unknown option '{key}'");
        }
        long Number(string key, long fallback, long min, long max)
        {
            if (!options.TryGetValue(key, out string? text))
                return fallback;
            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
                throw new UsageError($"{key}: '{text}' must be an integer in [{min}, {max}]");
            return value;
        }

        var settings = new FuzzSettings
        {
            TimeLimit = TimeSpan.FromSeconds(Number("--time-limit", 10, 1, 3600)),
            MemoryCapBytes = Number("--memory-mb", 1024, 0, 1 << 20) << 20,
            BombBytes = Number("--bomb-mb", 4096, 1, 1 << 20) << 20,
            BombPercent = (int)Number("--bomb-percent", 2, 0, 100),
            MaxClasses = (int)Number("--max-classes", 10_000, 2, int.MaxValue),
            HostileRows = (int)Number("--hostile-rows", 100_000, 100, 10_000_000),
        };
        string kindList = options.GetValueOrDefault("--kind") ?? "all";
        FuzzKind[] kinds = kindList == "all"
            ? FuzzKinds.All
            : kindList.Split(',').Select(name => FuzzKinds.Parse(name)
                ?? throw new UsageError($"--kind: '{name}' is not {string.Join(", ", FuzzKinds.All.Select(FuzzKinds.Name))} or all")).Distinct().ToArray();
        int seed = (int)Number("--seed", 1, int.MinValue, int.MaxValue);
        int count = (int)Number("--count", 1000, 1, int.MaxValue);
        int start = (int)Number("--start", 0, 0, int.MaxValue);
        int cliCases = (int)Number("--cli", 0, 0, int.MaxValue);
        bool replay = flags.Contains("--replay");
        bool cliOnly = flags.Contains("--cli-only");

        // The memory cap must be in place before the runtime starts: re-run this program with the GC heap hard limit set.
        if (settings.MemoryCapBytes > 0 && Environment.GetEnvironmentVariable("DOTNET_GCHeapHardLimit") is null && !(replay && cliOnly))
            return RunCapped(args, settings.MemoryCapBytes);

        Directory.CreateDirectory(settings.WorkDirectory);
        string? cliDll = null;
        if (cliCases > 0 || cliOnly || kinds.Any(k => FuzzKinds.Mode(k) == "cli"))
        {
            cliDll = options.GetValueOrDefault("--cli-dll") ?? CliRunner.FindCliDll(AppContext.BaseDirectory)
                ?? throw new UsageError("the CLI is not built: run 'dotnet build -c Release tools/FastBackprop.Cli' or give --cli-dll");
            if (!File.Exists(cliDll))
                throw new UsageError($"--cli-dll: '{cliDll}' does not exist");
        }

        string? servingDll = null;
        if (kinds.Contains(FuzzKind.Serving))
        {
            servingDll = options.GetValueOrDefault("--serving-dll") ?? ServingRunner.FindServingDll(AppContext.BaseDirectory)
                ?? throw new UsageError("the serving sample is not built: run 'dotnet build -c Release samples/FastBackprop.Serving' or give --serving-dll");
            if (!File.Exists(servingDll))
                throw new UsageError($"--serving-dll: '{servingDll}' does not exist");
        }

        var generator = new CaseGenerator(settings);
        if (replay)
        {
            if (kinds.Length != 1)
                throw new UsageError("--replay needs one --kind");
            using var replayRunner = new Runners(settings, cliDll, servingDll, seed);
            return Replay(generator, settings, kinds[0], seed, (int)Number("--index", 0, 0, int.MaxValue), options.GetValueOrDefault("--write"), replayRunner, cliOnly);
        }

        Console.Error.WriteLine($"fuzzing {string.Join(", ", kinds)}: {count:N0} cases each from index {start}, seed {seed}; heap limit " +
                                $"{(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 20):N0} MiB; {settings.TimeLimit.TotalSeconds:0.#} s per case");
        var report = new FuzzReport();
        using var runners = new Runners(settings, cliDll, servingDll, seed);
        CaseRunner runner = runners.Library;
        CliRunner? cli = runners.Cli;
        var clock = Stopwatch.StartNew();
        foreach (FuzzKind kind in kinds)
        {
            var lastProgress = Stopwatch.StartNew();
            int cliEvery = cliCases > 0 ? Math.Max(1, count / cliCases) : 0;
            for (int i = start; i < start + count; i++)
            {
                FuzzCase fuzzCase = generator.Create(kind, seed, i);
                string mode = FuzzKinds.Mode(kind);
                report.Add(fuzzCase, runners.Run(fuzzCase, mode), mode);
                if (mode == "library" && cli is not null && (i - start) % cliEvery == 0 && report.Total(kind, "cli") < cliCases)
                    report.Add(fuzzCase, cli.Run(fuzzCase), "cli");
                if (lastProgress.Elapsed > TimeSpan.FromSeconds(5) || i == start + count - 1)
                {
                    lastProgress.Restart();
                    Console.Error.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {kind}: {i - start + 1:N0}/{count:N0}  " +
                        string.Join("  ", Enum.GetValues<Outcome>().Select(o => $"{o} {report.Count(kind, FuzzKinds.Mode(kind), o):N0}")) +
                        (cli is null ? "" : $"  | cli {report.Total(kind, "cli")} cases, {report.Failures.Where(f => f.Kind == kind && f.Mode == "cli").Sum(f => f.Count)} failed") +
                        $"  | peak {Process.GetCurrentProcess().PeakWorkingSet64 >> 20:N0} MiB");
                }
            }
        }
        if (runner.StillRunningAbandoned > 0)
            Console.Error.WriteLine($"warning: {runner.StillRunningAbandoned} hung case(s) were still running after the grace period; later results may be disturbed");

        string command = "fastbackprop-fuzz " + string.Join(' ', args);
        string markdown = report.ToMarkdown(command, settings, clock.Elapsed, Process.GetCurrentProcess().PeakWorkingSet64, cli?.PeakChildBytes ?? 0);
        Console.WriteLine(markdown);
        if (options.GetValueOrDefault("--output") is string output)
            File.WriteAllText(output, markdown);
        return report.FailureCount == 0 ? 0 : 1;
    }

    private static int Replay(CaseGenerator generator, FuzzSettings settings, FuzzKind kind, int seed, int index, string? writeTo, Runners runners, bool cliOnly)
    {
        FuzzCase fuzzCase = generator.Create(kind, seed, index);
        Console.WriteLine($"case: {fuzzCase.Replay}");
        Console.WriteLine($"seed file: {fuzzCase.Seed}");
        Console.WriteLine($"mutation: {fuzzCase.Mutation}");
        foreach ((string name, FuzzFile file) in fuzzCase.Files)
        {
            Console.WriteLine($"file {name}: {file.Length:N0} bytes{(file is GzipBomb bomb ? $" (gzip bomb, {bomb.DecompressedBytes:N0} decompressed)" : "")}");
            if (writeTo is not null)
            {
                Directory.CreateDirectory(writeTo);
                file.WriteTo(Path.Combine(writeTo, name));
            }
        }
        if (fuzzCase.Command is { } command)
            Console.WriteLine($"command: fastbackprop {string.Join(' ', command)}{(fuzzCase.Nodes is { } nodes ? $" (with {string.Join(", ", nodes)})" : "")}");
        CaseResult result = runners.Run(fuzzCase, cliOnly ? "cli" : FuzzKinds.Mode(kind));
        Console.WriteLine($"outcome: {result.Outcome}: {result.Detail}{(result.StackTop is null ? "" : $"\n  {result.StackTop}")}");
        Console.WriteLine($"time {result.Elapsed.TotalSeconds:N2} s, allocated {result.AllocatedBytes >> 20:N0} MiB, peak working set {Process.GetCurrentProcess().PeakWorkingSet64 >> 20:N0} MiB");
        return result.IsFailure ? 1 : 0;
    }

    /// <summary>The runner of each mode: in process, the CLI in child processes, the serving sample over HTTP.</summary>
    private sealed class Runners(FuzzSettings settings, string? cliDll, string? servingDll, int runSeed) : IDisposable
    {
        public CaseRunner Library { get; } = new(settings);
        public CliRunner? Cli { get; } = cliDll is null ? null : new CliRunner(settings, cliDll);
        private readonly ServingRunner? serving = servingDll is null ? null : new ServingRunner(settings, servingDll, runSeed);

        public CaseResult Run(FuzzCase fuzzCase, string mode) => mode switch
        {
            "cli" => (Cli ?? throw new UsageError("the CLI is needed: build it or give --cli-dll")).Run(fuzzCase),
            "serving" => (serving ?? throw new UsageError("the serving sample is needed: build it or give --serving-dll")).Run(fuzzCase),
            _ => Library.Run(fuzzCase),
        };

        public void Dispose() => serving?.Dispose();
    }

    /// <summary>Re-runs this program in a child process whose GC heap is capped, passing its output through.</summary>
    private static int RunCapped(string[] args, long capBytes)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            start.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (string a in args)
            start.ArgumentList.Add(a);
        start.Environment["DOTNET_GCHeapHardLimit"] = "0x" + capBytes.ToString("x", CultureInfo.InvariantCulture);
        using var child = Process.Start(start)!;
        child.WaitForExit();
        return child.ExitCode;
    }
}
