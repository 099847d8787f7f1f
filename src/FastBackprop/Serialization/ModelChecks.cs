using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace FastBackprop;

/// <summary>
/// What a model file's values mean, checked after its checksum and its field-by-field validation: the SHA-256 guards
/// against accidents, not edits, and a file re-signed after an edit can hold values that are each finite and positive
/// and still make nonsense (a leaky-ReLU slope of 1e308, a standardisation scale of 1e-38, weights that overflow). A
/// model that cannot give a finite prediction for its own average input, or for typical standardised inputs, is rejected
/// at load time, naming the field and offset, rather than predicting NaN for every request or blaming the caller's data
/// later.
/// </summary>
internal static class ModelChecks
{
    /// <summary>The longest class label or feature name, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 4096;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Checks a layer count: from 1 to <see cref="ModelFile.MaxLayers"/>.</summary>
    public static string? LayerCountProblem(int count)
        => count is >= 1 and <= ModelFile.MaxLayers ? null
        : string.Create(CultureInfo.InvariantCulture, $"{count} layers; a model file holds 1 to {ModelFile.MaxLayers}.");

    /// <summary>The UTF-8 bytes of class label or feature name <paramref name="index"/>, or a problem: not encodable
    /// (a lone surrogate) or longer than <see cref="MaxNameBytes"/>. <paramref name="what"/> is "class label" or "feature name".</summary>
    public static byte[] Encode(string name, int index, string what, Func<string, Exception> error)
    {
        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(name);
        }
        catch (EncoderFallbackException)
        {
            throw error(string.Create(CultureInfo.InvariantCulture, $"{what} {index} ({Quote(name)}) holds a lone UTF-16 surrogate, which has no UTF-8 form."));
        }
        if (bytes.Length > MaxNameBytes)
            throw error(string.Create(CultureInfo.InvariantCulture, $"{what} {index} is {bytes.Length} bytes in UTF-8, more than the {MaxNameBytes} a model file allows."));
        return bytes;
    }

    /// <summary>Decodes a stored class label or feature name (strict UTF-8), or null when the bytes are not UTF-8.</summary>
    public static string? Decode(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>The problem when <paramref name="names"/>[<paramref name="index"/>] repeats an earlier name (class labels
    /// and feature names must be distinct: a prediction or a column would be ambiguous), else null; adds it to <paramref name="seen"/>.</summary>
    public static string? RepeatProblem(Dictionary<string, int> seen, IReadOnlyList<string> names, int index, string what)
        => seen.TryAdd(names[index], index) ? null
        : string.Create(CultureInfo.InvariantCulture, $"{what} {index} is {Quote(names[index])}, the same as {what} {seen[names[index]]}: {what}s must be distinct.");

    /// <summary>The first repeated name of <paramref name="names"/> as <see cref="RepeatProblem"/> words it, or null.</summary>
    public static string? FirstRepeat(IReadOnlyList<string> names, string what)
    {
        var seen = new Dictionary<string, int>(names.Count, StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
        {
            if (RepeatProblem(seen, names, i, what) is string problem)
                return problem;
        }
        return null;
    }

    /// <summary>A name for a message: quoted, shortened to 60 characters, control characters escaped.</summary>
    public static string Quote(string name)
    {
        var text = new StringBuilder("'");
        foreach (char c in name.Length <= 60 ? name : name[..60])
            text.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        return text.Append(name.Length <= 60 ? "'" : "…'").ToString();
    }

    /// <summary>The standardisation scales (1 / standard deviation) a model may hold: standard deviations from 1e-20 to 1e20.</summary>
    public const double MinScale = 1e-20, MaxScale = 1e20;

    /// <summary>Checks one standardisation scale as read from the file (in the file's precision).</summary>
    public static string? ScaleProblem(double scale, int index)
        => scale is >= MinScale and <= MaxScale ? null
        : string.Create(CultureInfo.InvariantCulture,
            $"scale[{index}] = {scale:R} is outside [{MinScale:R}, {MaxScale:R}] (a feature's 1/standard deviation); a standardiser fitted on real data never gives it.");

    /// <summary>The constant standardised inputs a model must answer finitely: the training mean (all zeros), and 1 and 1,000
    /// standard deviations either side of it. Data 1,000σ from the mean are themselves suspect, but a model that
    /// overflows there holds weights no training produces (each finite, together overflowing).</summary>
    private static readonly double[] Probes = [0, 1, -1, 1000, -1000];

    /// <summary>Rows of standard normal inputs tried after the constant ones, drawn from <see cref="RandomProbeSeed"/>: weights
    /// that cancel on every constant row (w and −w from two features) pass those and can still overflow on ordinary rows.
    /// The batch stays small (37 rows) so a load costs a few predictions.</summary>
    private const int RandomProbes = 32, RandomProbeSeed = 12345;

    /// <summary>A forward pass on the <see cref="Probes"/> and on <see cref="RandomProbes"/> random standardised rows must give
    /// finite outputs, also after undoing a target standardisation. Throws an <see cref="InvalidDataException"/> naming the
    /// parameters block. No probe proves a model finite for every input: <see cref="Model{T}.Predict"/> checks every output.</summary>
    public static void CheckPrediction<T>(Model<T> model, string? name, long parametersOffset)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (PredictionProblem(model.Network, model.Quantized, model.TargetStandardization) is string problem)
            throw ModelFormatError.Create(name, parametersOffset, "parameters", problem);
    }

    /// <summary>What <see cref="CheckPrediction"/> finds wrong, or null (also checked before saving): the probes run through
    /// <paramref name="quantized"/> when there is one (its int8 layers can overflow where the fp32 weights they stand for
    /// do not), else through <paramref name="network"/>.</summary>
    public static string? PredictionProblem<T>(Network<T> network, QuantizedNetwork? quantized, Standardizer<T>? targets)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Action<T[], int, T[]> forward = quantized is null
            ? (x, rows, y) => network.Predict(x, rows, y, network.CreateInferenceWorkspace(rows))
            : (x, rows, y) => quantized.Predict(MemoryMarshal.Cast<T, float>(x), rows, MemoryMarshal.Cast<T, float>(y.AsSpan()), quantized.CreateInferenceWorkspace(rows));
        return PredictionProblem(network.InputSize, network.OutputSize, forward, targets);
    }

    private static string? PredictionProblem<T>(int n, int m, Action<T[], int, T[]> forward, Standardizer<T>? targets)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rows = Probes.Length + RandomProbes;
        var inputs = new T[checked(rows * n)];
        for (int r = 0; r < Probes.Length; r++)
            inputs.AsSpan(r * n, n).Fill(T.CreateChecked(Probes[r]));
        var random = new Random(RandomProbeSeed);
        for (int i = Probes.Length * n; i < inputs.Length; i++)
            inputs[i] = T.CreateChecked(Network<T>.StandardNormal(random));
        var outputs = new T[rows * m];
        forward(inputs, rows, outputs);
        targets?.InverseTransform(outputs);
        int bad = Array.FindIndex(outputs, v => !T.IsFinite(v));
        if (bad < 0)
            return null;
        int row = bad / m;
        string probe = row >= Probes.Length ? $"random standardised input row {row - Probes.Length} (standard normal values, seed {RandomProbeSeed})"
            : Probes[row] == 0 ? "the standardised mean (all inputs 0)" : $"all standardised inputs {Probes[row]:+0;-0}";
        return $"the model's output {bad % m} for {probe} is {outputs[bad]}: its weights, slopes or scales are out of any sensible range (each finite, together overflowing).";
    }
}
