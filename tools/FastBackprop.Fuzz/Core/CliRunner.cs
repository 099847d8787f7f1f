using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>
/// Runs a case through the command-line program in a child process: <c>train --csv</c>, <c>train --idx</c>, or
/// <c>predict --model</c> on a CSV of two probe rows (zeros and ones). The memory cap is the child's GC heap hard
/// limit (<c>DOTNET_GCHeapHardLimit</c>); an address-space limit (<c>prlimit --as</c>, <c>ulimit -v</c>) is not used
/// because the runtime reserves far more address space than it commits and fails to start under one. Exit codes 0, 1
/// and 2 are clean (Program.cs: success, bad data or model, usage); anything else, the CLI's catch-all line
/// "error: unexpected &lt;ExceptionType&gt;" on stderr, or a prediction of NaN/∞ with exit code 0 is a failure; running past the time limit is a hang (the
/// process tree is killed).
/// </summary>
public sealed class CliRunner(FuzzSettings settings, string cliDll)
{
    /// <summary>The highest peak working set of a child, in bytes.</summary>
    public long PeakChildBytes { get; private set; }

    /// <summary>Finds the CLI built in Release next to this repository's sources, walking up from <paramref name="start"/>.</summary>
    public static string? FindCliDll(string start)
    {
        for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tools", "FastBackprop.Cli", "bin", "Release", "net10.0", "fastbackprop-cli.dll");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>Room for the runtime itself in a child's peak resident set, on top of a case's memory bound.</summary>
    public const long RuntimeBytes = 256L << 20;

    private readonly Dictionary<string, byte[]> trainedModels = [];
    private readonly Dictionary<string, ChildResult> baselines = [];

    /// <summary>What a child process did: its exit code (null when killed at the time limit), output and peak memory.</summary>
    private sealed record ChildResult(int? ExitCode, string Output, string Error, long PeakBytes, TimeSpan Elapsed)
    {
        public string LastError => CaseRunner.OneLine(Error.Trim().Split('\n').LastOrDefault() ?? "");
    }

    public CaseResult Run(FuzzCase fuzzCase)
    {
        string directory = Path.Combine(settings.WorkDirectory, $"cli-{Environment.ProcessId}-{fuzzCase.Kind}-{fuzzCase.Index}");
        if (Directory.Exists(directory))
            Directory.Delete(directory, recursive: true);
        Directory.CreateDirectory(directory);
        try
        {
            foreach ((string name, FuzzFile file) in fuzzCase.Files)
                file.WriteTo(Path.Combine(directory, name));
            string nodes = CreateNodes(fuzzCase.Nodes ?? [], directory);
            if (fuzzCase.Setup is { } setup && TrainOnce(setup, directory) is CaseResult failedSetup)
                return failedSetup;
            List<string> args = fuzzCase.Command is { } command ? Resolve(command, directory) : Arguments(fuzzCase, directory);
            ChildResult child = Execute(args);
            CaseResult result = Classify(fuzzCase, args, child);
            if (result.Outcome is Outcome.Accepted or Outcome.CleanError)
                result = CheckNodes(fuzzCase.Nodes ?? [], fuzzCase.Mutation, directory, result) ?? CheckBaseline(fuzzCase, directory, child, result) ?? result;
            return nodes.Length == 0 ? result : result with { Detail = result.Detail + nodes };
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>'@name' arguments become paths in the case directory.</summary>
    private static List<string> Resolve(IReadOnlyList<string> command, string directory) =>
        command.Select(a => a.StartsWith('@') ? Path.Combine(directory, a[1..]) : a).ToList();

    /// <summary>Runs a case's <c>train</c> setup once per distinct command and input, keeping the model it saves, and
    /// puts the model into the case's directory; returns a result only when training failed.</summary>
    private CaseResult? TrainOnce(IReadOnlyList<string> setup, string directory)
    {
        string key = string.Join('\u0001', setup) + string.Concat(setup.Where(a => a.StartsWith('@') && File.Exists(Path.Combine(directory, a[1..])))
            .Select(a => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(directory, a[1..]))))));
        if (!trainedModels.TryGetValue(key, out byte[]? model))
        {
            ChildResult child = Execute(Resolve(setup, directory));
            string saved = Path.Combine(directory, "model.fbpm");
            if (child.ExitCode != 0 || !File.Exists(saved))
                return new CaseResult(Outcome.Crash, $"the setup 'train' failed (exit {child.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none: time limit"}): {child.LastError}", null, child.Elapsed, 0);
            trainedModels[key] = model = File.ReadAllBytes(saved);
        }
        File.WriteAllBytes(Path.Combine(directory, "model.fbpm"), model);
        return null;
    }

    /// <summary>Makes the case's FIFOs and device nodes (with mkfifo and mknod); a device node needs root, so without
    /// it a FIFO stands in. Returns a note for the result when that happened.</summary>
    private static string CreateNodes(IReadOnlyList<SpecialNode> nodes, string directory)
    {
        var note = new StringBuilder();
        foreach (SpecialNode node in nodes)
        {
            string path = Path.Combine(directory, node.Name);
            if (!node.IsFifo && RunTool("mknod", path, "c", node.Major.ToString(CultureInfo.InvariantCulture), node.Minor.ToString(CultureInfo.InvariantCulture)) == 0)
                continue;
            if (!node.IsFifo)
                note.Append($" (no right to mknod: a FIFO stood in for {node})");
            if (RunTool("mkfifo", path) != 0)
                throw new InvalidOperationException($"mkfifo {path} failed");
        }
        return note.ToString();
    }

    /// <summary>Each node must still be what it was made as: a command that replaced it (renamed a file over it) or
    /// removed it did what it must not do to a device.</summary>
    private static CaseResult? CheckNodes(IReadOnlyList<SpecialNode> nodes, string mutation, string directory, CaseResult result)
    {
        foreach (SpecialNode node in nodes)
        {
            string path = Path.Combine(directory, node.Name);
            string type = FileType(path);
            if (type is not ("fifo" or "character special file"))
                return result with { Outcome = Outcome.SilentNonsense, Detail = $"{mutation}: the node is now {(type.Length == 0 ? "gone" : $"a {type}")} ({result.Detail})" };
        }
        return null;
    }

    private static string FileType(string path)
    {
        var start = new ProcessStartInfo("stat") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])["-c", "%F", path])
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        string type = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0 ? type : "";
    }

    private static int RunTool(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>A case with a baseline (the same command on the unmutated input) must refuse, or give what the baseline
    /// gives: the same predictions, the same accuracy or R² within noise.</summary>
    private CaseResult? CheckBaseline(FuzzCase fuzzCase, string directory, ChildResult child, CaseResult result)
    {
        if (fuzzCase.Baseline is not { } baselineCommand || child.ExitCode != 0)
            return null;
        List<string> args = Resolve(baselineCommand, directory);
        string key = string.Join('\u0001', baselineCommand) + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            [.. File.ReadAllBytes(Path.Combine(directory, "model.fbpm")), .. baselineCommand.Where(a => a.StartsWith('@') && a != "@model.fbpm").SelectMany(a => File.ReadAllBytes(Path.Combine(directory, a[1..])))]));
        if (!baselines.TryGetValue(key, out ChildResult? baseline))
            baselines[key] = baseline = Execute(args);
        if (baseline.ExitCode != 0)
            return result with { Outcome = Outcome.Crash, Detail = $"the baseline (unmutated input) failed: exit {baseline.ExitCode}: {baseline.LastError}" };
        string? collapse = Compare(Score(baseline.Output), Score(child.Output));
        if (collapse is not null)
            return result with { Outcome = Outcome.SilentNonsense, Detail = $"exit 0 and the score collapsed: {collapse}" };
        if (fuzzCase.Command![0] == "predict" && PredictionLines(baseline.Output) != PredictionLines(child.Output))
            return result with { Outcome = Outcome.SilentNonsense, Detail = $"exit 0 and the predictions changed: '{FirstDifferentLine(baseline.Output, child.Output)}'" };
        return null;
    }

    /// <summary>The accuracy (percent) or R² that <c>evaluate</c> printed, or null.</summary>
    private static (string Name, double Value)? Score(string output)
    {
        foreach (string line in output.Split('\n'))
        {
            string[] parts = line.Split(':', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && parts[0] is "accuracy" or "R²"
                && double.TryParse(parts[1].Split(' ', '%')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                return (parts[0], value);
        }
        return null;
    }

    /// <summary>A score more than 5 points of accuracy or 0.05 of R² below the baseline's.</summary>
    private static string? Compare((string Name, double Value)? baseline, (string Name, double Value)? score)
    {
        if (baseline is not { } b || score is not { } s)
            return null;
        double drop = b.Value - s.Value, limit = b.Name == "accuracy" ? 5 : 0.05;
        return drop > limit ? $"{b.Name} {s.Value.ToString(CultureInfo.InvariantCulture)} against {b.Value.ToString(CultureInfo.InvariantCulture)} on the original file" : null;
    }

    /// <summary>Predict's output without its lines that name the input file.</summary>
    private static string PredictionLines(string output) =>
        string.Join('\n', output.Split('\n').Where(l => !l.Contains("test.csv", StringComparison.Ordinal) && !l.Contains("original.csv", StringComparison.Ordinal)));

    private static string FirstDifferentLine(string a, string b)
    {
        string[] x = PredictionLines(a).Split('\n'), y = PredictionLines(b).Split('\n');
        int i = 0;
        while (i < Math.Min(x.Length, y.Length) && x[i] == y[i])
            i++;
        return i < y.Length ? CaseRunner.OneLine($"{(i < x.Length ? x[i] : "")} → {y[i]}") : "fewer lines";
    }

    private List<string> Arguments(FuzzCase fuzzCase, string directory)
    {
        string P(string name) => Path.Combine(directory, name);
        // Small and fast: one epoch, a tiny hidden layer; the point is how the data are read and used.
        List<string> train = ["train", "--epochs", "1", "--hidden", "4", "--batch", "16", "--limit", settings.LimitArgument];
        switch (fuzzCase.Kind)
        {
            case FuzzKind.Csv:
            case FuzzKind.Gzip when fuzzCase.Files.Any(f => f.Name == "data.csv"):
                train.AddRange(["--csv", P("data.csv")]);
                if (fuzzCase.CsvOptions?.Task == CsvTask.Regression)
                    train.Add("--regression");
                if (fuzzCase.CsvOptions?.Header is CsvHeader.Yes or CsvHeader.No)
                    train.AddRange(["--header", fuzzCase.CsvOptions.Header == CsvHeader.Yes ? "yes" : "no"]);
                return train;
            case FuzzKind.Idx:
            case FuzzKind.Gzip:
                train.AddRange(["--idx", P("images.idx"), P("labels.idx")]);
                return train;
            case FuzzKind.Onnx:
                return ["import", P("model.onnx"), P("imported.fbpm")];
            default:
                {
                    if (!fuzzCase.Files.Any(f => f.Name == "probe.csv"))
                    {
                        int n = Math.Max(1, fuzzCase.ModelInputSize);
                        var probe = new StringBuilder();
                        probe.AppendLine(string.Join(',', Enumerable.Repeat("0", n)));
                        probe.AppendLine(string.Join(',', Enumerable.Repeat("1", n)));
                        File.WriteAllText(P("probe.csv"), probe.ToString());
                    }
                    return ["predict", "--model", P("model.fbpm"), "--csv", P("probe.csv"), "--header", "no"];
                }
        }
    }

    private ChildResult Execute(List<string> args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(cliDll);
        foreach (string a in args)
            start.ArgumentList.Add(a);
        if (settings.MemoryCapBytes > 0)
            start.Environment["DOTNET_GCHeapHardLimit"] = "0x" + settings.MemoryCapBytes.ToString("x", CultureInfo.InvariantCulture);
        start.Environment["DOTNET_TieredPGO"] = "0";   // less JIT work in short-lived children
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        while (!process.WaitForExit(50))
        {
            try
            {
                process.Refresh();   // Process caches what it read from /proc: without this the first reading stays
                peak = Math.Max(peak, process.PeakWorkingSet64);
            }
            catch (InvalidOperationException) { }
            if (clock.Elapsed > settings.TimeLimit)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                PeakChildBytes = Math.Max(PeakChildBytes, peak);
                return new ChildResult(null, stdout.Result, stderr.Result, peak, clock.Elapsed);
            }
        }
        PeakChildBytes = Math.Max(PeakChildBytes, peak);
        return new ChildResult(process.ExitCode, stdout.Result, stderr.Result, peak, clock.Elapsed);
    }

    private CaseResult Classify(FuzzCase fuzzCase, List<string> args, ChildResult child)
    {
        TimeSpan elapsed = child.Elapsed;
        string what = string.Join(' ', args.Take(2).Select(a => Path.GetFileName(a)));
        long bound = fuzzCase.MemoryBoundBytes > 0 ? fuzzCase.MemoryBoundBytes + RuntimeBytes : 0;
        if (child.ExitCode is not int code)
        {
            return bound > 0 && child.PeakBytes > bound
                ? new CaseResult(Outcome.MemoryBlowUp, $"CLI {what}: still running after {settings.TimeLimit.TotalSeconds:0.#} s, peak resident set {child.PeakBytes >> 20:N0} MiB against a bound of {bound >> 20:N0} MiB", null, elapsed, 0)
                : new CaseResult(Outcome.Hang, $"CLI still running after {settings.TimeLimit.TotalSeconds:0.#} s: {what} (peak resident set {child.PeakBytes >> 20:N0} MiB)", null, elapsed, 0);
        }
        // "OutOfMemoryException" under the heap cap, or the runtime's fatal "Out of memory." (exit 134).
        bool outOfMemory = child.Error.Contains("OutOfMemory", StringComparison.Ordinal) || child.Error.Contains("Out of memory", StringComparison.Ordinal);
        if (bound > 0 && (child.PeakBytes > bound || outOfMemory))
            return new CaseResult(Outcome.MemoryBlowUp, $"CLI {what}: peak resident set {child.PeakBytes >> 20:N0} MiB against a bound of {bound >> 20:N0} MiB; exit {code}: {child.LastError}", null, elapsed, 0);
        if (child.Error.Contains("error: unexpected ", StringComparison.Ordinal) || code is not (0 or 1 or 2))
            return new CaseResult(Outcome.Crash, $"CLI exit {code}: {child.LastError}", null, elapsed, 0);
        if (code != 0)
            return new CaseResult(Outcome.CleanError, $"CLI exit {code}: {child.LastError}", null, elapsed, 0);
        string output = child.Output;
        bool predicting = args[0] is "predict" or "evaluate";
        if (predicting && (output.Contains("NaN", StringComparison.Ordinal) || output.Contains('∞') || output.Contains("Infinity", StringComparison.Ordinal)))
        {
            string line = output.Split('\n').FirstOrDefault(l => l.Contains("NaN", StringComparison.Ordinal) || l.Contains('∞') || l.Contains("Infinity", StringComparison.Ordinal)) ?? "";
            return new CaseResult(Outcome.SilentNonsense, $"CLI {args[0]} exit 0 with '{CaseRunner.OneLine(line.Trim())}'", null, elapsed, 0);
        }
        if (fuzzCase.MustBeRefused)
        {
            string said = Score(output) is { } score ? $"{score.Name} {score.Value.ToString(CultureInfo.InvariantCulture)}" : output.Split('\n')[0];
            return new CaseResult(Outcome.SilentNonsense, $"CLI {args[0]} exit 0 on an input it must refuse: {Shorten(said)}", null, elapsed, 0);
        }
        return new CaseResult(Outcome.Accepted, "CLI exit 0", null, elapsed, 0);
    }

    private static string Shorten(string text) => CaseRunner.OneLine(text.Length <= 120 ? text : text[..120] + "…");
}
