using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>
/// Deep and wide model files: up to 65,536 layers (the format's limit) of dropout or narrow dense layers, dropout
/// stacks behind a layer up to 100,000 units wide, stacks of layer normalisations (constant rows, width 1, extreme γ),
/// one very wide layer, given to <c>fastbackprop predict</c>.
/// Loading and predicting a few rows must use memory in proportion to the file and to one row of activations (two
/// buffers of the widest layer), not to layers × width: <see cref="FuzzCase.MemoryBoundBytes"/> is that bound, with
/// room for per-layer bookkeeping, and the child's peak resident set is held to it (plus the runtime's own). A child
/// process, not this one: a case that blows up, or hangs while it allocates, must not take the fuzzer down with it.
/// </summary>
public static class DeepCases
{
    /// <summary>Bookkeeping per byte of file (a 16-byte dropout record may cost a layer object, ~1 KiB).</summary>
    public const int BytesPerFileByte = 64;
    /// <summary>Buffers of the widest layer per row that predicting may hold at once.</summary>
    public const int WidestLayerBuffers = 16;
    /// <summary>A floor for small files.</summary>
    public const long FixedBytes = 64L << 20;

    public static FuzzCase Create(Random random, int runSeed, int index)
    {
        int inputs = random.Next(1, 9);
        var model = new ModelWriter(inputs);
        float Weight(int u, int i) => (float)((random.NextDouble() - 0.5) / Math.Sqrt(i + 1));
        string shape;
        switch (random.Next(5))
        {
            case 4:
                {
                    // Layer normalisations: a width of 1 (σ² = 0), ε at its limits, γ from tiny to huge (outputs that
                    // overflow must be reported, not printed), each with its own γ and β in the file.
                    int width = random.Next(3) == 0 ? 1 : random.Next(2, 2_000);
                    int count = random.Next(1, Math.Max(2, Math.Min(30_000, 2_000_000 / width)));
                    double epsilon = random.Next(3) switch { 0 => 1e-12, 1 => 1, _ => 1e-5 };
                    float scale = random.Next(3) switch { 0 => 1e-30f, 1 => 1e30f, _ => 1 };
                    model.Dense(width, ActivationKind.Tanh, Weight)
                        .LayerNorms(count, epsilon, i => scale * (float)(0.5 + random.NextDouble()), i => (float)(random.NextDouble() - 0.5));
                    shape = $"{count:N0} layer normalisations {width:N0} wide, epsilon {epsilon:G3}, gamma ~{scale:G3}";
                    break;
                }
            case 0:
                {
                    int width = random.Next(2) == 0 ? random.Next(1_000, 100_001) : random.Next(2, 1_000);
                    int dropouts = random.Next(2) == 0 ? random.Next(1_000, 65_535) : random.Next(1, 1_000);
                    model.Dense(width, ActivationKind.ReLU, Weight).Dropouts(dropouts, Math.Round(0.05 + random.NextDouble() * 0.9, 2));
                    shape = $"{dropouts:N0} dropout layers {width:N0} wide";
                    break;
                }
            case 1:
                {
                    int layers = random.Next(1_000, 30_000);
                    int width = random.Next(1, 9);
                    ActivationKind activation = random.Next(3) switch { 0 => ActivationKind.Tanh, 1 => ActivationKind.ReLU, _ => ActivationKind.Sigmoid };
                    for (int l = 0; l < layers; l++)
                        model.Dense(width, activation, Weight, _ => 0.1f);
                    shape = $"{layers:N0} dense {activation} layers {width} wide";
                    break;
                }
            case 2:
                {
                    int width = random.Next(10_000, 300_000);
                    model.Dense(width, ActivationKind.Tanh, Weight);
                    shape = $"one dense layer {width:N0} wide";
                    break;
                }
            default:
                {
                    int blocks = random.Next(100, 5_000);
                    int width = random.Next(2, 64);
                    int dropouts = random.Next(1, 12);
                    for (int b = 0; b < blocks && model.LayerCount + dropouts + 2 <= 65_536; b++)
                        model.Dense(width, ActivationKind.Tanh, Weight).Dropouts(dropouts);
                    shape = $"{blocks:N0} blocks of a dense layer {width} wide and {dropouts} dropout layers";
                    break;
                }
        }
        int outputs = random.Next(1, 5);
        bool softmax = outputs > 1 && random.Next(2) == 0;
        model.Dense(outputs, softmax ? ActivationKind.Softmax : ActivationKind.Identity, Weight);
        int rows = random.Next(1, 5);
        byte[] bytes = model.ToBytes();
        long bound = BytesPerFileByte * (long)bytes.Length + WidestLayerBuffers * (long)rows * model.MaxWidth * sizeof(float) + FixedBytes;
        return new FuzzCase(FuzzKind.Deep, runSeed, index, $"model float32, {inputs} inputs, {model.LayerCount:N0} layers",
            $"{shape}, {outputs} {(softmax ? "softmax" : "identity")} outputs; {bytes.Length:N0} bytes; predict {rows} row(s); bound {bound >> 20:N0} MiB",
            [("model.fbpm", FuzzFile.FromBytes(bytes)), ("probe.csv", FuzzFile.FromBytes(ProbeRows(random, rows, inputs)))], ModelInputSize: inputs)
        {
            Command = ["predict", "--model", "@model.fbpm", "--csv", "@probe.csv", "--header", "no"],
            MemoryBoundBytes = bound,
        };
    }

    private static byte[] ProbeRows(Random random, int rows, int inputs)
    {
        var csv = new StringBuilder();
        for (int r = 0; r < rows; r++)
            csv.AppendJoin(',', Enumerable.Range(0, inputs).Select(_ => Math.Round(random.NextDouble() * 4 - 2, 3).ToString(System.Globalization.CultureInfo.InvariantCulture))).Append('\n');
        return Encoding.UTF8.GetBytes(csv.ToString());
    }
}
