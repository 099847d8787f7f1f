using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FastBackprop.Hardware;

namespace FastBackprop.Benchmarks;

/// <summary>An optimizer and element type to time, with the bytes one step moves: θ and g read, θ written, and each
/// state slot (velocity, moments) read and written.</summary>
public sealed class OptimizerCase(string name, Func<Optimizer> create, bool isDouble, int stateSlots)
{
    public Func<Optimizer> Create { get; } = create;
    public bool IsDouble { get; } = isDouble;

    public double Bytes => (double)OptimizerBenchmarks.ParameterCount * (3 + 2 * stateSlots) * (IsDouble ? sizeof(double) : sizeof(float));

    public override string ToString() => name;

    public static IEnumerable<OptimizerCase> All =>
        from isDouble in new[] { false, true }
        let type = isDouble ? "double" : "float"
        from c in new (string Name, Func<Optimizer> Create, int Slots)[]
        {
            ("SGD", () => new Sgd(), 0),
            ("Momentum", () => new Momentum(0.9), 1),
            ("Nesterov", () => new Momentum(0.9, nesterov: true), 1),
            ("Adam", () => new Adam(), 2),
            ("AdamW", () => new AdamW(), 2),
        }
        select new OptimizerCase($"{c.Name} {type}", c.Create, isDouble, c.Slots);
}

/// <summary>One optimizer step over the parameters of the 784-512-256-10 network (535,818 values, 2.1 MB in float):
/// a sweep bound by memory bandwidth, since the buffers together are larger than one core's L2.</summary>
[Config(typeof(Columns))]
public class OptimizerBenchmarks
{
    public const int ParameterCount = 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10;

    private const double LearningRate = 1e-3;

    private Optimizer optimizer = null!;
    private float[] floatParameters = [], floatGradients = [];
    private double[] doubleParameters = [], doubleGradients = [];

    public static IEnumerable<OptimizerCase> Cases => OptimizerCase.All;

    [ParamsSource(nameof(Cases))]
    public OptimizerCase Case { get; set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        optimizer = Case.Create();
        if (Case.IsDouble)
        {
            doubleParameters = Enumerable.Range(0, ParameterCount).Select(_ => random.NextDouble() - 0.5).ToArray();
            doubleGradients = Enumerable.Range(0, ParameterCount).Select(_ => random.NextDouble() - 0.5).ToArray();
        }
        else
        {
            floatParameters = Enumerable.Range(0, ParameterCount).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            floatGradients = Enumerable.Range(0, ParameterCount).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        }
        Console.WriteLine($"// {Case}: {ParameterCount:N0} parameters, {Case.Bytes / 1e6:F1} MB per step; path {KernelConfiguration.Active.InstructionSet}");
    }

    [Benchmark]
    public void Step()
    {
        if (Case.IsDouble)
            optimizer.Step(doubleParameters.AsSpan(), doubleGradients, LearningRate);
        else
            optimizer.Step(floatParameters.AsSpan(), floatGradients, LearningRate);
    }

    private sealed class Columns : ManualConfig
    {
        public Columns()
        {
            AddColumn(new PerStepColumn("GB/s (median)", "bytes read and written by one step / median time", (c, median) => c.Bytes / median, "F1"));
            AddColumn(new PerStepColumn("ns/parameter (median)", "median time / 535,818 parameters", (_, median) => median / ParameterCount, "F3"));
        }
    }

    /// <summary>A figure derived from the median time of one step of an <see cref="OptimizerCase"/>.</summary>
    private sealed class PerStepColumn(string name, string legend, Func<OptimizerCase, double, double> value, string format) : IColumn
    {
        public string Id => nameof(PerStepColumn) + name;
        public string ColumnName => name;
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 1;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => legend;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var c = benchmarkCase.Parameters.Items.Select(p => p.Value).OfType<OptimizerCase>().FirstOrDefault();
            var report = summary[benchmarkCase];
            if (c is null || report?.ResultStatistics is null)
                return "-";
            return value(c, report.ResultStatistics.Median).ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        }

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;
    }
}
