using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>Counts outcomes per kind and mode, and groups failures into classes (outcome, exception type or
/// nonsense reason, stack top), keeping the first few examples of each with their replay line.</summary>
public sealed class FuzzReport
{
    private const int ExamplesPerClass = 3;

    private readonly Dictionary<(FuzzKind, string Mode), int[]> counts = [];
    private readonly Dictionary<string, FailureClass> failures = [];
    private readonly Dictionary<(FuzzKind, string Mode), (long Bytes, TimeSpan Time)> largest = [];

    public sealed class FailureClass(FuzzKind kind, string mode, Outcome outcome, string signature)
    {
        public FuzzKind Kind { get; } = kind;
        public string Mode { get; } = mode;
        public Outcome Outcome { get; } = outcome;
        public string Signature { get; } = signature;
        public int Count { get; set; }
        public List<(FuzzCase Case, CaseResult Result)> Examples { get; } = [];
    }

    public IEnumerable<FailureClass> Failures => failures.Values.OrderBy(f => f.Kind).ThenBy(f => f.Mode).ThenBy(f => f.Outcome).ThenByDescending(f => f.Count);

    public int Count(FuzzKind kind, string mode, Outcome outcome) => counts.TryGetValue((kind, mode), out int[]? c) ? c[(int)outcome] : 0;

    public int Total(FuzzKind kind, string mode) => counts.TryGetValue((kind, mode), out int[]? c) ? c.Sum() : 0;

    public int FailureCount => failures.Values.Sum(f => f.Count);

    public void Add(FuzzCase fuzzCase, CaseResult result, string mode)
    {
        var key = (fuzzCase.Kind, mode);
        if (!counts.TryGetValue(key, out int[]? c))
            counts[key] = c = new int[Enum.GetValues<Outcome>().Length];
        c[(int)result.Outcome]++;
        (long bytes, TimeSpan time) = largest.GetValueOrDefault(key);
        largest[key] = (Math.Max(bytes, result.AllocatedBytes), result.Elapsed > time ? result.Elapsed : time);
        if (!result.IsFailure)
            return;
        string signature = Signature(fuzzCase, result);
        string id = $"{fuzzCase.Kind}|{mode}|{result.Outcome}|{signature}";
        if (!failures.TryGetValue(id, out FailureClass? failure))
            failures[id] = failure = new FailureClass(fuzzCase.Kind, mode, result.Outcome, signature);
        failure.Count++;
        if (failure.Examples.Count < ExamplesPerClass)
            failure.Examples.Add((fuzzCase, result));
    }

    /// <summary>What makes two failures the same class: for a crash the exception type and the stack top; for nonsense
    /// the reason without its numbers; for a hang or a memory blow-up, the kind of mutation (its text before the first
    /// digit).</summary>
    private static string Signature(FuzzCase fuzzCase, CaseResult result) => result.Outcome switch
    {
        Outcome.Crash => $"{result.Detail.Split(':')[0]} {result.StackTop ?? "(no stack)"}",
        Outcome.SilentNonsense => StripNumbers(result.Detail.Split(':')[0]),
        _ => StripNumbers(fuzzCase.Mutation.Split(';')[0]),
    };

    private static string StripNumbers(string text)
    {
        var sb = new StringBuilder();
        bool inNumber = false;
        foreach (char c in text)
        {
            bool digit = char.IsAsciiDigit(c) || (inNumber && c is ',' or '.' or 'E' or 'e' or '+' or '-');
            if (digit && !inNumber)
                sb.Append('N');
            else if (!digit)
                sb.Append(c);
            inNumber = digit;
        }
        return sb.ToString();
    }

    /// <summary>The Markdown summary: the command, the counts per kind and outcome, memory, the failure classes.</summary>
    public string ToMarkdown(string command, FuzzSettings settings, TimeSpan elapsed, long peakWorkingSet, long peakChild)
    {
        static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):N0} MiB";
        var md = new StringBuilder();
        md.AppendLine("# Fuzz run").AppendLine();
        md.AppendLine($"Command: `{command}`  ").AppendLine($"Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; wall time {elapsed.TotalMinutes:N1} min; .NET {Environment.Version}  ");
        md.AppendLine($"Limits: {settings.TimeLimit.TotalSeconds:0.#} s per case; memory cap {(settings.MemoryCapBytes > 0 ? Mb(settings.MemoryCapBytes) + " (GC heap hard limit)" : "none")}; " +
                      $"gzip bombs {settings.BombBytes:N0} bytes decompressed ({settings.BombPercent}% of cases); more than {settings.MaxClasses:N0} classes is nonsense.").AppendLine();
        md.AppendLine("| kind | mode | cases | clean error | accepted | crash | hang | silent nonsense | memory blow-up | most allocated by one case | slowest case |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var ((kind, mode), c) in counts.OrderBy(k => k.Key.Item1).ThenByDescending(k => k.Key.Mode))
        {
            (long bytes, TimeSpan time) = largest[(kind, mode)];
            md.AppendLine($"| {kind} | {mode} | {c.Sum():N0} | {c[(int)Outcome.CleanError]:N0} | {c[(int)Outcome.Accepted]:N0} | {c[(int)Outcome.Crash]:N0} | {c[(int)Outcome.Hang]:N0} | {c[(int)Outcome.SilentNonsense]:N0} | {c[(int)Outcome.MemoryBlowUp]:N0} | {(mode == "library" ? Mb(bytes) : "—")} | {time.TotalSeconds:N1} s |");
        }
        md.AppendLine();
        md.AppendLine($"Peak working set of the fuzzing process: {Mb(peakWorkingSet)}{(peakChild > 0 ? $"; of a CLI child: {Mb(peakChild)}" : "")} " +
                      $"(cap {(settings.MemoryCapBytes > 0 ? Mb(settings.MemoryCapBytes) + " of GC heap, plus the runtime's own memory" : "none")}).").AppendLine();
        if (failures.Count == 0)
        {
            md.AppendLine("No crashes, hangs, silent acceptances of nonsense or memory blow-ups.");
            return md.ToString();
        }
        md.AppendLine("## Failure classes").AppendLine();
        foreach (FailureClass f in Failures)
        {
            md.AppendLine($"### {f.Kind} ({f.Mode}): {f.Outcome} ×{f.Count:N0} — {Escape(f.Signature)}").AppendLine();
            foreach ((FuzzCase c, CaseResult r) in f.Examples)
            {
                md.AppendLine($"- `{c.Replay}{settings.ReplayOptions()}{(f.Mode == "cli" && FuzzKinds.Mode(c.Kind) != "cli" ? " --cli-only" : "")}`: seed file {Escape(c.Seed)}; mutation: {Escape(Shorten(c.Mutation))}  ");
                md.AppendLine($"  → {Escape(Shorten(r.Detail))}{(r.StackTop is null ? "" : $" ({Escape(r.StackTop)})")}; {r.Elapsed.TotalSeconds:N2} s");
            }
            md.AppendLine();
        }
        return md.ToString();
    }

    private static string Shorten(string text) => text.Length <= 400 ? text : text[..400] + "…";

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("`", "'", StringComparison.Ordinal);
}
