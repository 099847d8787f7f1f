using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>
/// Deep and wide model files: up to 65,536 layers (the format's limit) of dropout or narrow dense layers, dropout
/// stacks behind a layer up to 100,000 units wide, one very wide layer. Loading and predicting a few rows must use
/// memory in proportion to the file and to one row of activations (two buffers of the widest layer), not to
/// layers × width: <see cref="FuzzCase.MemoryBoundBytes"/> is that bound, with room for per-layer bookkeeping.
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
        switch (random.Next(4))
        {
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

    /// <summary>Loads the model and predicts the probe rows in process, counting every byte allocated meanwhile.</summary>
    public static CaseResult Execute(FuzzCase fuzzCase)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        string bound = $"the bound of {fuzzCase.MemoryBoundBytes >> 20:N0} MiB";
        try
        {
            Model<float> model;
            using (Stream stream = fuzzCase.File("model.fbpm").Open())
                model = ModelFile.Load<float>(stream);
            using var reader = new StreamReader(fuzzCase.File("probe.csv").Open());
            float[][] rows = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(',').Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();
            var outputs = new float[rows.Length * model.OutputSize];
            model.Predict(rows.SelectMany(r => r).ToArray(), rows.Length, outputs);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            if (allocated > fuzzCase.MemoryBoundBytes)
                return new CaseResult(Outcome.MemoryBlowUp, $"load and predict allocated {allocated >> 20:N0} MiB, above {bound}", null, TimeSpan.Zero, allocated);
            int bad = Array.FindIndex(outputs, v => !float.IsFinite(v));
            return bad >= 0
                ? new CaseResult(Outcome.SilentNonsense, $"prediction {bad} is {outputs[bad]}", null, TimeSpan.Zero, allocated)
                : new CaseResult(Outcome.Accepted, $"loaded and predicted with {allocated >> 20:N0} MiB allocated", null, TimeSpan.Zero, allocated);
        }
        catch (OutOfMemoryException e)
        {
            return new CaseResult(Outcome.MemoryBlowUp, $"OutOfMemoryException under the memory cap (after {(GC.GetTotalAllocatedBytes(precise: true) - before) >> 20:N0} MiB allocated), {bound}",
                CaseRunner.StackTop(e), TimeSpan.Zero, 0);
        }
    }
}
