using System.Diagnostics;
using System.Globalization;
using FastBackprop;

// What a service sees from its first requests: in a fresh process with default runtime settings, the first SGD step of
// 784-512-256-10 at batch 128 (JIT included), calls 2-10 one by one, and the steady state (median of the second half of
// `seconds` of steps). Wall-clock timing is right here (BenchmarkDotNet measures warmed-up code, which is the point of
// the other benchmarks, not of this one). Run it once per processor count:
//   DOTNET_PROCESSOR_COUNT=1 dotnet run -c Release --project tools/FastBackprop.ColdStart -- 5
//   DOTNET_PROCESSOR_COUNT=2 dotnet run -c Release --project tools/FastBackprop.ColdStart -- 5
long processStart = Process.GetCurrentProcess().StartTime.ToUniversalTime().Ticks;
double seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
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
    $"processors {Environment.ProcessorCount}, kernels {CpuInfo.Describe(KernelConfiguration.Current.InstructionSet)}: first step {first:F1} ms " +
    $"(process start to its end {sinceStart:F0} ms); steps 2-10 {string.Join(' ', early.Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))} ms " +
    $"(worst {early.Max() / median:F2}x steady); steady {median:F2} ms (median of the last {secondHalf.Length} of {count} steps in {seconds:0.#} s)"));
