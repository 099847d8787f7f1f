using System.Globalization;
using System.Numerics;

namespace FastBackprop;

/// <summary>
/// What a model file's values mean, checked after its checksum and its field-by-field validation: the SHA-256 guards
/// against accidents, not edits, and a file re-signed after an edit can hold values that are each finite and positive
/// and still make nonsense (a leaky-ReLU slope of 1e308, a standardisation scale of 1e-38, weights that overflow). A
/// model that cannot give a finite prediction for its own average input is rejected at load time, naming the field
/// and offset, rather than predicting NaN for every request or blaming the caller's data later.
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

    /// <summary>A forward pass on three inputs — the standardised mean (all zeros) and one standard deviation either side
    /// of it — must give finite outputs. Throws an <see cref="InvalidDataException"/> naming the parameters block.</summary>
    public static void CheckPrediction<T>(Network<T> network, string? name, long parametersOffset)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = network.InputSize;
        var inputs = new T[3 * n];
        inputs.AsSpan(n, n).Fill(T.One);
        inputs.AsSpan(2 * n, n).Fill(-T.One);
        var outputs = new T[3 * network.OutputSize];
        network.Predict(inputs, 3, outputs, network.CreateInferenceWorkspace(3));
        int bad = Array.FindIndex(outputs, v => !T.IsFinite(v));
        if (bad < 0)
            return;
        string[] rows = ["the standardised mean (all inputs 0)", "all inputs +1", "all inputs -1"];
        throw ModelFormatError.Create(name, parametersOffset, "parameters",
            $"the network's output {bad % network.OutputSize} for {rows[bad / network.OutputSize]} is {outputs[bad]}: its weights or slopes are out of any sensible range (each finite, together overflowing).");
    }
}
