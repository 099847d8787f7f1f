using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace FastBackprop.Benchmarks;

/// <summary>GFLOP/s from the median time and the flop count of the case's <see cref="GemmShape"/>
/// (or of any parameter exposing <c>Flops</c>), and the same as a percentage of a stated peak.</summary>
public sealed class GflopsColumn(double peakGflops) : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s (median)";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"2·m·n·k / median time; in brackets the share of {peakGflops} GFLOP/s peak";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        double? flops = benchmarkCase.Parameters.Items
            .Select(p => p.Value switch { GemmShape s => s.Flops, IFlopCount f => f.Flops, _ => (double?)null })
            .FirstOrDefault(f => f is not null);
        var report = summary[benchmarkCase];
        if (flops is null || report?.ResultStatistics is null)
            return "-";
        double gflops = flops.Value / report.ResultStatistics.Median;
        return $"{gflops:F1} ({100 * gflops / peakGflops:F0}%)";
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}

/// <summary>A benchmark parameter that knows its floating-point operation count.</summary>
public interface IFlopCount
{
    double Flops { get; }
}
