using System.Diagnostics;

namespace FastBackprop.Fuzz;

/// <summary>
/// Runs one case in this process, on its own thread with the per-case time limit, and classifies it:
/// <list type="bullet">
/// <item><b>clean error</b>: the loader's documented exception — <see cref="DataFormatException"/> for CSV and IDX,
/// <see cref="InvalidDataException"/> for model files — or an <see cref="IOException"/>: a genuine I/O failure (of the
/// case's temporary files) passes through every loader by design; none is expected here. An
/// <see cref="InvalidDataException"/> (not an IOException in .NET) escaping a CSV or IDX loader is a crash: it is the
/// gzip error those loaders promise to wrap.</item>
/// <item><b>crash</b>: any other exception (including <see cref="OutOfMemoryException"/> under the memory cap).</item>
/// <item><b>hang</b>: still running after the time limit (the thread cannot be killed; it is abandoned).</item>
/// <item><b>silent nonsense</b>: loaded, but the result fails <see cref="NonsenseChecks"/>.</item>
/// </list>
/// </summary>
public sealed class CaseRunner(FuzzSettings settings)
{
    private Thread? abandoned;

    /// <summary>Threads of hung cases that never finished, even after the grace period.</summary>
    public int StillRunningAbandoned { get; private set; }

    public CaseResult Run(FuzzCase fuzzCase)
    {
        WaitForAbandoned();
        CaseResult? result = null;
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        var clock = Stopwatch.StartNew();
        var thread = new Thread(() => result = Execute(fuzzCase, settings)) { IsBackground = true, Name = $"fuzz {fuzzCase.Kind} {fuzzCase.Index}" };
        thread.Start();
        if (!thread.Join(settings.TimeLimit))
        {
            abandoned = thread;
            return new CaseResult(Outcome.Hang, $"still running after {settings.TimeLimit.TotalSeconds:0.#} s", null, clock.Elapsed, 0);
        }
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
        return result! with { Elapsed = clock.Elapsed, AllocatedBytes = allocated };
    }

    /// <summary>A hung case's thread keeps its CPU and memory; give it a grace period before the next case so it does
    /// not push later cases past their limits or into the memory cap.</summary>
    private void WaitForAbandoned()
    {
        if (abandoned is null)
            return;
        if (!abandoned.Join(settings.TimeLimit * 2))
            StillRunningAbandoned++;
        abandoned = null;
        GC.Collect();
    }

    /// <summary>Loads the case and checks the result; never throws.</summary>
    public static CaseResult Execute(FuzzCase fuzzCase, FuzzSettings settings)
    {
        string? directory = null;
        try
        {
            string? nonsense;
            switch (fuzzCase.Kind)
            {
                case FuzzKind.Csv:
                    nonsense = NonsenseChecks.Dataset(LoadCsv(fuzzCase, fuzzCase.Files, settings), settings);
                    break;
                case FuzzKind.Idx:
                    nonsense = NonsenseChecks.Dataset(LoadIdx(fuzzCase.Files, settings, directory = CaseDirectory(settings)), settings);
                    break;
                case FuzzKind.Gzip:
                    {
                        bool csv = fuzzCase.Files.Any(f => f.Name == "data.csv");
                        Dataset<float> data = csv ? LoadCsv(fuzzCase, fuzzCase.Files, settings) : LoadIdx(fuzzCase.Files, settings, directory = CaseDirectory(settings));
                        Dataset<float> original = csv ? LoadCsv(fuzzCase, fuzzCase.Originals!, settings) : LoadIdx(fuzzCase.Originals!, settings, directory!);
                        string? difference = NonsenseChecks.Difference(data, original);
                        // The damage's category (the mutation up to its colon) names the failure class.
                        string damage = fuzzCase.Mutation.Split(':')[0];
                        nonsense = fuzzCase.MustBeRefused
                            ? $"gzip {damage}, loaded without an error: {difference ?? "the same data as the original"}"
                            : difference is null ? null : $"gzip of {damage}, loaded differently: {difference}";
                        break;
                    }
                case FuzzKind.Onnx:
                    {
                        using Stream stream = fuzzCase.File("model.onnx").Open();
                        Model<float> model = OnnxModel.Import<float>(stream);
                        nonsense = NonsenseChecks.Model(model);
                        break;
                    }
                case FuzzKind.Model:
                    {
                        using Stream stream = fuzzCase.File("model.fbpm").Open();
                        Model<float> model = ModelFile.Load<float>(stream);
                        nonsense = NonsenseChecks.Model(model);
                        break;
                    }
                default:
                    throw new InvalidOperationException($"{fuzzCase.Kind} cases run through {FuzzKinds.Mode(fuzzCase.Kind)}, not in process");
            }
            return nonsense is null
                ? new CaseResult(Outcome.Accepted, "loaded", null, TimeSpan.Zero, 0)
                : new CaseResult(Outcome.SilentNonsense, nonsense, null, TimeSpan.Zero, 0);
        }
        catch (Exception e) when (IsDocumented(fuzzCase.Kind, e))
        {
            return new CaseResult(Outcome.CleanError, $"{e.GetType().Name}: {OneLine(e.Message)}", null, TimeSpan.Zero, 0);
        }
        catch (Exception e)
        {
            return new CaseResult(Outcome.Crash, $"{e.GetType().Name}: {OneLine(e.Message)}", StackTop(e), TimeSpan.Zero, 0);
        }
        finally
        {
            if (directory is not null)
            {
                try { Directory.Delete(directory, recursive: true); }
                catch (IOException) { }
            }
        }
    }

    private static Dataset<float> LoadCsv(FuzzCase fuzzCase, IReadOnlyList<(string Name, FuzzFile File)> files, FuzzSettings settings)
    {
        using Stream stream = files.First(f => f.Name == "data.csv").File.Open();
        CsvOptions options = fuzzCase.CsvOptions ?? CsvOptions.Default;
        return CsvLoader.Load<float>(stream, new CsvOptions
        {
            Separator = options.Separator,
            Header = options.Header,
            TargetColumn = options.TargetColumn,
            TargetColumnName = options.TargetColumnName,
            Task = options.Task,
            ClassLabels = options.ClassLabels,
            Limits = settings.Limits,
        }, "data.csv");
    }

    /// <summary>A fresh directory for a case's files (IDX pairs: <see cref="IdxLoader.LoadDataset"/> takes paths, as it is
    /// where the class rules live).</summary>
    private static string CaseDirectory(FuzzSettings settings)
    {
        string directory = Path.Combine(settings.WorkDirectory, $"case-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static Dataset<float> LoadIdx(IReadOnlyList<(string Name, FuzzFile File)> files, FuzzSettings settings, string directory)
    {
        string images = Path.Combine(directory, "images.idx"), labels = Path.Combine(directory, "labels.idx");
        files.First(f => f.Name == "images.idx").File.WriteTo(images);
        files.First(f => f.Name == "labels.idx").File.WriteTo(labels);
        return IdxLoader.LoadDataset(images, labels, limits: settings.Limits);
    }

    /// <summary>The exception types each loader documents for bad input.</summary>
    public static bool IsDocumented(FuzzKind kind, Exception e) => kind switch
    {
        FuzzKind.Model or FuzzKind.Onnx => e is InvalidDataException || e is IOException,
        _ => e is DataFormatException || e is IOException,
    };

    /// <summary>The first frame in the library (else the first frame), without the file's directory.</summary>
    public static string? StackTop(Exception e)
    {
        string[] frames = (e.StackTrace ?? "").Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string? frame = frames.FirstOrDefault(f => f.StartsWith("at FastBackprop.", StringComparison.Ordinal) && !f.StartsWith("at FastBackprop.Fuzz.", StringComparison.Ordinal))
            ?? frames.FirstOrDefault();
        if (frame is null)
            return null;
        int file = frame.IndexOf(" in ", StringComparison.Ordinal);
        return file < 0 ? frame : frame[..file] + " in " + Path.GetFileName(frame[(file + 4)..]);
    }

    public static string OneLine(string text)
    {
        string line = text.ReplaceLineEndings(" ");
        var clean = new System.Text.StringBuilder(Math.Min(line.Length, 300));
        foreach (char c in line.AsSpan(0, Math.Min(line.Length, 300)))
            clean.Append(char.IsControl(c) ? $"\\u{(int)c:X4}" : c);
        return line.Length > 300 ? clean + "…" : clean.ToString();
    }
}

/// <summary>What makes an accepted input nonsense. Each check returns a one-line reason, or null when it is sound.</summary>
public static class NonsenseChecks
{
    /// <summary>How <paramref name="data"/> differs from <paramref name="original"/> (rows, features, a value, a class,
    /// a target), or null when they hold the same values bit for bit.</summary>
    public static string? Difference(Dataset<float> data, Dataset<float> original)
    {
        if (data.Count != original.Count || data.FeatureCount != original.FeatureCount)
            return $"{data.Count} rows × {data.FeatureCount} features, the original {original.Count} × {original.FeatureCount}";
        int value = FirstDifference(data.Features, original.Features);
        if (value >= 0)
            return $"row {value / data.FeatureCount} feature {value % data.FeatureCount} is {data.Features[value]}, the original {original.Features[value]}";
        if (data.ClassIndices is int[] classes && original.ClassIndices is int[] originalClasses)
        {
            int row = FirstDifference(classes, originalClasses);
            if (row >= 0)
                return $"row {row} class {classes[row]}, the original {originalClasses[row]}";
            if (!(data.ClassLabels ?? []).SequenceEqual(original.ClassLabels ?? [], StringComparer.Ordinal))
                return $"class labels [{string.Join(", ", data.ClassLabels ?? [])}], the original [{string.Join(", ", original.ClassLabels ?? [])}]";
        }
        else if (data.Targets is float[] targets && original.Targets is float[] originalTargets)
        {
            int row = FirstDifference(targets, originalTargets);
            if (row >= 0)
                return $"target {row} is {(row < targets.Length ? targets[row] : float.NaN)}, the original {(row < originalTargets.Length ? originalTargets[row] : float.NaN)}";
        }
        else if (data.IsClassification != original.IsClassification)
            return data.IsClassification ? "read as classification, the original as regression" : "read as regression, the original as classification";
        return null;
    }

    private static int FirstDifference<TValue>(TValue[] a, TValue[] b) where TValue : IEquatable<TValue>
    {
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            if (!a[i].Equals(b[i]))
                return i;
        }
        return a.Length == b.Length ? -1 : Math.Min(a.Length, b.Length);
    }

    public static string? Dataset(Dataset<float> data, FuzzSettings settings)
    {
        if (data.Count < 1 || data.FeatureCount < 1)
            return $"empty data set accepted ({data.Count} rows × {data.FeatureCount} features)";
        if (data.Features.Length != (long)data.Count * data.FeatureCount)
            return $"{data.Features.Length} feature values for {data.Count}×{data.FeatureCount}";
        int bad = Array.FindIndex(data.Features, v => !float.IsFinite(v));
        if (bad >= 0)
            return $"non-finite feature accepted: value {bad} is {data.Features[bad]}";
        if (data.ClassIndices is int[] classes)
        {
            int count = data.OutputCount;
            if (data.ClassLabels is { } labels)
            {
                count = labels.Count;
                if (labels.Distinct(StringComparer.Ordinal).Count() != labels.Count)
                    return "duplicate class labels accepted";
            }
            if (count < 2)
                return $"fewer than two classes accepted ({count})";
            if (count > settings.MaxClasses)
                return $"class count {count:N0} above the limit of {settings.MaxClasses:N0} accepted ({data.Count:N0} rows)";
            int outside = Array.FindIndex(classes, c => (uint)c >= (uint)count);
            if (outside >= 0)
                return $"class index {classes[outside]} outside [0, {count}) in row {outside}";
            var present = new bool[count];
            foreach (int c in classes)
                present[c] = true;
            if (present.Count(p => p) < 2)
                return $"only one class present among {count} classes";
        }
        else if (data.Targets is float[] targets)
        {
            int badTarget = Array.FindIndex(targets, v => !float.IsFinite(v));
            if (badTarget >= 0)
                return $"non-finite target accepted: target {badTarget} is {targets[badTarget]}";
        }
        return null;
    }

    /// <summary>A loaded model must predict finite outputs on its own standardisation means (zeros without one) and 1 and
    /// 1,000 standard deviations either side (raw inputs mean ± k/scale; a probe that is not a finite float is skipped),
    /// its softmax outputs must sum to 1, and its labels must match its outputs.</summary>
    public static string? Model(Model<float> model)
    {
        int outputs = model.OutputSize;
        if (model.ClassLabels is { } labels)
        {
            int expected = outputs == 1 ? 2 : outputs;
            if (labels.Count != expected)
                return $"{labels.Count} labels for {outputs} outputs";
            if (labels.Distinct(StringComparer.Ordinal).Count() != labels.Count)
                return "duplicate class labels accepted";
        }
        int n = model.InputSize;
        double[] probes = [0, 1, -1, 1000, -1000];
        var rows = new List<float>();
        var names = new List<string>();
        foreach (double k in probes)
        {
            var row = new float[n];
            for (int j = 0; j < n; j++)
            {
                double mean = model.InputStandardization?.Mean[j] ?? 0, scale = model.InputStandardization?.Scale[j] ?? 1;
                row[j] = (float)(mean + k / scale);
            }
            if (row.All(float.IsFinite))
            {
                rows.AddRange(row);
                names.Add(k == 0 ? "on the means" : $"on the means {k:+0;-0}σ");
            }
        }
        int count = names.Count;
        var predictions = new float[count * outputs];
        try
        {
            model.Predict(rows.ToArray(), count, predictions);
        }
        catch (Exception e)
        {
            return $"loaded, but Predict on its own means fails: {e.GetType().Name}: {CaseRunner.OneLine(e.Message)}";
        }
        for (int i = 0; i < predictions.Length; i++)
        {
            if (!float.IsFinite(predictions[i]))
                return $"prediction {names[i / outputs]} is {predictions[i]} (output {i % outputs})";
        }
        if (model.Network.Layer(model.Network.LayerCount - 1).Activation.Kind == ActivationKind.Softmax)
        {
            for (int r = 0; r < count; r++)
            {
                float sum = predictions.AsSpan(r * outputs, outputs).ToArray().Sum();
                if (Math.Abs(sum - 1f) > 1e-3f)
                    return $"softmax outputs sum to {sum}";
            }
        }
        return null;
    }
}
