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

    public CaseResult Run(FuzzCase fuzzCase)
    {
        string directory = Path.Combine(settings.WorkDirectory, $"cli-{Environment.ProcessId}-{fuzzCase.Kind}-{fuzzCase.Index}");
        Directory.CreateDirectory(directory);
        try
        {
            foreach ((string name, FuzzFile file) in fuzzCase.Files)
                file.WriteTo(Path.Combine(directory, name));
            List<string> args = Arguments(fuzzCase, directory);
            return Execute(args, fuzzCase.Kind == FuzzKind.Model);
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); }
            catch (IOException) { }
        }
    }

    private List<string> Arguments(FuzzCase fuzzCase, string directory)
    {
        string P(string name) => Path.Combine(directory, name);
        // Small and fast: one epoch, a tiny hidden layer; the point is how the data are read and used.
        List<string> train = ["train", "--epochs", "1", "--hidden", "4", "--batch", "16", "--limit", settings.LimitArgument];
        switch (fuzzCase.Kind)
        {
            case FuzzKind.Csv:
                train.AddRange(["--csv", P("data.csv")]);
                if (fuzzCase.CsvOptions?.Task == CsvTask.Regression)
                    train.Add("--regression");
                if (fuzzCase.CsvOptions?.Header is CsvHeader.Yes or CsvHeader.No)
                    train.AddRange(["--header", fuzzCase.CsvOptions.Header == CsvHeader.Yes ? "yes" : "no"]);
                return train;
            case FuzzKind.Idx:
                train.AddRange(["--idx", P("images.idx"), P("labels.idx")]);
                return train;
            case FuzzKind.Onnx:
                return ["import", P("model.onnx"), P("imported.fbpm")];
            default:
                {
                    int n = Math.Max(1, fuzzCase.ModelInputSize);
                    var probe = new StringBuilder();
                    probe.AppendLine(string.Join(',', Enumerable.Repeat("0", n)));
                    probe.AppendLine(string.Join(',', Enumerable.Repeat("1", n)));
                    File.WriteAllText(P("probe.csv"), probe.ToString());
                    return ["predict", "--model", P("model.fbpm"), "--csv", P("probe.csv"), "--header", "no"];
                }
        }
    }

    private CaseResult Execute(List<string> args, bool predicting)
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
            try { peak = Math.Max(peak, process.PeakWorkingSet64); }
            catch (InvalidOperationException) { }
            if (clock.Elapsed > settings.TimeLimit)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                PeakChildBytes = Math.Max(PeakChildBytes, peak);
                return new CaseResult(Outcome.Hang, $"CLI still running after {settings.TimeLimit.TotalSeconds:0.#} s: {string.Join(' ', args.Take(2))}", null, clock.Elapsed, 0);
            }
        }
        PeakChildBytes = Math.Max(PeakChildBytes, peak);
        string error = stderr.Result.Trim();
        string lastError = CaseRunner.OneLine(error.Split('\n').LastOrDefault() ?? "");
        int code = process.ExitCode;
        if (error.Contains("error: unexpected ", StringComparison.Ordinal) || code is not (0 or 1 or 2))
            return new CaseResult(Outcome.Crash, $"CLI exit {code}: {lastError}", null, clock.Elapsed, 0);
        if (code != 0)
            return new CaseResult(Outcome.CleanError, $"CLI exit {code}: {lastError}", null, clock.Elapsed, 0);
        string output = stdout.Result;
        if (predicting && (output.Contains("NaN", StringComparison.Ordinal) || output.Contains('∞') || output.Contains("Infinity", StringComparison.Ordinal)))
            return new CaseResult(Outcome.SilentNonsense, $"CLI predict exit 0 with '{CaseRunner.OneLine(output.Split('\n')[0])}'", null, clock.Elapsed, 0);
        return new CaseResult(Outcome.Accepted, "CLI exit 0", null, clock.Elapsed, 0);
    }
}
