using System.Diagnostics;
using System.Globalization;

namespace FastBackprop.Benchmarks;

/// <summary>
/// What a service sees from its first requests: fresh processes with default runtime settings, one and two
/// processors (<c>DOTNET_PROCESSOR_COUNT</c>, what a CPU-limited container looks like to the runtime), three of each. Each
/// child times the first SGD step of 784-512-256-10 at batch 128 (JIT included), steps 2–10 one by one, and the steady
/// state (median of the second half of a few seconds of steps). Wall-clock timing is right here: BenchmarkDotNet measures
/// warmed-up code, which is the point of the other benchmarks, not of this one.
/// <c>dotnet run -c Release --project bench/FastBackprop.Benchmarks -- --cold-start</c>
/// </summary>
public static class ColdStart
{
    public const string ParentOption = "--cold-start", ChildOption = "--cold-start-child";

    public static int RunChildren(double seconds = 3, int repeats = 3)
    {
        string self = typeof(ColdStart).Assembly.Location;
        Console.WriteLine($"| processors | first step (ms) | process start to end of first step (ms) | steps 2-10 (ms) | worst of 2-10 / steady | steady (ms) |");
        Console.WriteLine("|---:|---:|---:|---|---:|---:|");
        foreach (int processors in new[] { 1, 2 })
        {
            for (int repeat = 0; repeat < repeats; repeat++)
            {
                using Process child = StartChild([self, ChildOption, seconds.ToString(CultureInfo.InvariantCulture)], processors);
                string line = child.StandardOutput.ReadToEnd().Trim();
                child.WaitForExit();
                Console.WriteLine(line);
            }
        }
        return 0;
    }

    /// <summary>This program again, as a fresh process with <paramref name="processors"/> processors and default runtime
    /// settings (anything that would change tiering removed), its standard output redirected.</summary>
    internal static Process StartChild(string[] arguments, int processors)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!, arguments)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_PROCESSOR_COUNT"] = processors.ToString(CultureInfo.InvariantCulture);
        foreach (string knob in new[] { "DOTNET_TieredCompilation", "DOTNET_TieredPGO", "DOTNET_TC_QuickJitForLoops", "DOTNET_ReadyToRun" })
            start.Environment.Remove(knob);
        return Process.Start(start)!;
    }

    public static int RunChild(double seconds)
    {
        long processStart = Process.GetCurrentProcess().StartTime.ToUniversalTime().Ticks;
        const int batch = 128;
        var network = new Network<float>(784,
            [new LayerSpec(512, Activation.ReLU), new LayerSpec(256, Activation.ReLU), new LayerSpec(10, Activation.Softmax)], seed: 1);
        var inputs = new float[batch * 784];
        var labels = new int[batch];
        var random = new Random(7);
        for (int i = 0; i < inputs.Length; i++)
            inputs[i] = (float)random.NextDouble();
        for (int i = 0; i < batch; i++)
            labels[i] = random.Next(10);

        long t0 = Stopwatch.GetTimestamp();
        network.TrainStep(inputs, labels, batch, Loss.SoftmaxCrossEntropy, 0.001f);
        double first = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        double sinceStart = (DateTime.UtcNow.Ticks - processStart) / 1e4;

        var early = new double[9];
        for (int i = 0; i < early.Length; i++)
        {
            t0 = Stopwatch.GetTimestamp();
            network.TrainStep(inputs, labels, batch, Loss.SoftmaxCrossEntropy, 0.001f);
            early[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        var steady = new double[1 << 20];
        int count = 0;
        long until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until && count < steady.Length)
        {
            t0 = Stopwatch.GetTimestamp();
            network.TrainStep(inputs, labels, batch, Loss.SoftmaxCrossEntropy, 0.001f);
            steady[count++] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        double[] secondHalf = steady[(count / 2)..count];
        Array.Sort(secondHalf);
        double median = secondHalf[secondHalf.Length / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {Environment.ProcessorCount} | {first:F1} | {sinceStart:F0} | {string.Join(' ', early.Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))} | {early.Max() / median:F2} | {median:F2} |"));
        return 0;
    }
}
