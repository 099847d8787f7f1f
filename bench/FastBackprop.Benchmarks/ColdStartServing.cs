using System.Diagnostics;
using System.Globalization;

namespace FastBackprop.Benchmarks;

/// <summary>
/// What a service serving one request at a time sees from a fresh process: fp32 <see cref="FrozenNetwork{T}"/> and int8
/// <see cref="QuantizedNetwork"/> of 784-512-256-10 ReLU/softmax loaded from model files, default runtime settings, one and
/// two processors (<c>DOTNET_PROCESSOR_COUNT</c>), three processes of each. Each child times the first
/// <c>Predict</c> of one sample after load (JIT included), calls 2–10, and the steady state (median of calls 2,001–3,000),
/// for the fp32 model first and then the int8 one, in the same process (so the int8 figures do not pay for the JIT of
/// what both share). Wall-clock timing on purpose: this is the cold path BenchmarkDotNet's warm-up hides.
/// <c>dotnet run -c Release --project bench/FastBackprop.Benchmarks -- --cold-start-serving</c>
/// </summary>
public static class ColdStartServing
{
    public const string ParentOption = "--cold-start-serving", ChildOption = "--cold-start-serving-child";

    public static int RunChildren(int repeats = 3)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"fbp-cold-serving-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            var network = new Network<float>(784,
                [new LayerSpec(512, Activation.ReLU), new LayerSpec(256, Activation.ReLU), new LayerSpec(10, Activation.Softmax)], seed: 1);
            var model = new Model<float>(network);
            ModelFile.Save(Path.Combine(folder, "fp32.fbpm"), model);
            ModelFile.Save(Path.Combine(folder, "int8.fbpm"), model.Quantize());
            string self = typeof(ColdStartServing).Assembly.Location;
            Console.WriteLine("| processors | model | load (ms) | first Predict (ms) | calls 2-10 (µs) | steady (µs) |");
            Console.WriteLine("|---:|---|---:|---:|---|---:|");
            foreach (int processors in new[] { 1, 2 })
            {
                for (int repeat = 0; repeat < repeats; repeat++)
                {
                    using Process child = ColdStart.StartChild([self, ChildOption, folder], processors);
                    Console.Write(child.StandardOutput.ReadToEnd());
                    child.WaitForExit();
                }
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        return 0;
    }

    public static int RunChild(string folder)
    {
        var input = new float[784];
        var random = new Random(7);
        for (int i = 0; i < input.Length; i++)
            input[i] = (float)random.NextDouble();
        var output = new float[10];

        long t0 = Stopwatch.GetTimestamp();
        FrozenNetwork<float> fp32 = ModelFile.Load<float>(Path.Combine(folder, "fp32.fbpm")).Network.Freeze();
        InferenceWorkspace<float> fp32Workspace = fp32.CreateInferenceWorkspace(1);
        double fp32Load = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        Report("fp32 FrozenNetwork", fp32Load, () => fp32.Predict(input, 1, output, fp32Workspace));

        t0 = Stopwatch.GetTimestamp();
        QuantizedNetwork int8 = ModelFile.Load<float>(Path.Combine(folder, "int8.fbpm")).Quantized!;
        QuantizedInferenceWorkspace int8Workspace = int8.CreateInferenceWorkspace(1);
        double int8Load = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        Report("int8 QuantizedNetwork", int8Load, () => int8.Predict(input, 1, output, int8Workspace));
        return 0;
    }

    private static void Report(string model, double loadMs, Action predict)
    {
        long t0 = Stopwatch.GetTimestamp();
        predict();
        double first = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var calls = new double[3000];
        for (int i = 0; i < calls.Length; i++)
        {
            t0 = Stopwatch.GetTimestamp();
            predict();
            calls[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        double[] early = calls[..9];
        double[] steady = calls[2000..];
        Array.Sort(steady);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {Environment.ProcessorCount} | {model} | {loadMs:F1} | {first:F2} | {string.Join(' ', early.Select(t => t.ToString("F0", CultureInfo.InvariantCulture)))} | {steady[steady.Length / 2]:F1} |"));
    }
}
