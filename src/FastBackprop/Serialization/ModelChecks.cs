using System.Globalization;
using System.Numerics;

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
    public static void CheckPrediction<T>(Network<T> network, Standardizer<T>? targets, string? name, long parametersOffset)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = network.InputSize, m = network.OutputSize, rows = Probes.Length + RandomProbes;
        var inputs = new T[checked(rows * n)];
        for (int r = 0; r < Probes.Length; r++)
            inputs.AsSpan(r * n, n).Fill(T.CreateChecked(Probes[r]));
        var random = new Random(RandomProbeSeed);
        for (int i = Probes.Length * n; i < inputs.Length; i++)
            inputs[i] = T.CreateChecked(Network<T>.StandardNormal(random));
        var outputs = new T[rows * m];
        network.Predict(inputs, rows, outputs, network.CreateInferenceWorkspace(rows));
        targets?.InverseTransform(outputs);
        int bad = Array.FindIndex(outputs, v => !T.IsFinite(v));
        if (bad < 0)
            return;
        int row = bad / m;
        string probe = row >= Probes.Length ? $"random standardised input row {row - Probes.Length} (standard normal values, seed {RandomProbeSeed})"
            : Probes[row] == 0 ? "the standardised mean (all inputs 0)" : $"all standardised inputs {Probes[row]:+0;-0}";
        throw ModelFormatError.Create(name, parametersOffset, "parameters",
            $"the model's output {bad % m} for {probe} is {outputs[bad]}: its weights, slopes or scales are out of any sensible range (each finite, together overflowing).");
    }
}
