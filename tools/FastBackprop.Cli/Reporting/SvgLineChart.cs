using System.Globalization;
using System.Text;

namespace FastBackprop.Cli;

/// <summary>One line of a chart: a name for the legend, a CSS colour and points (non-finite y values leave a gap).</summary>
internal sealed record ChartSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);

/// <summary>
/// A self-contained SVG line chart (no plotting package needed): title, axes with "nice" ticks and grid lines, axis
/// labels, one polyline per series (markers too when there are few points, so a single epoch still shows) and a legend.
/// Degenerate ranges (one point, a constant series) are widened so that the output is always a valid drawing.
/// </summary>
internal static class SvgLineChart
{
    private const double Left = 80, Right = 30, Top = 50, Bottom = 60;

    public static string Render(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, int width = 800, int height = 480)
    {
        ArgumentNullException.ThrowIfNull(series);
        var finite = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        (double xMin, double xMax) = Range(finite.Select(p => p.X), includeZero: false);
        (double yMin, double yMax) = Range(finite.Select(p => p.Y), includeZero: false);
        double[] xTicks = Ticks(ref xMin, ref xMax, integer: true);
        double[] yTicks = Ticks(ref yMin, ref yMax, integer: false);

        double plotW = width - Left - Right, plotH = height - Top - Bottom;
        double Px(double x) => Left + (x - xMin) / (xMax - xMin) * plotW;
        double Py(double y) => Top + (1 - (y - yMin) / (yMax - yMin)) * plotH;

        var svg = new StringBuilder();
        svg.AppendLine("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        svg.AppendLine(F($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        svg.AppendLine(F($"  <rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"white\"/>"));
        svg.AppendLine(F($"  <text x=\"{width / 2.0:0.#}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{Escape(title)}</text>"));

        // Grid and ticks.
        int xDecimals = Decimals(xTicks), yDecimals = Decimals(yTicks);
        svg.AppendLine("  <g stroke=\"#dddddd\" stroke-width=\"1\">");
        foreach (double t in xTicks)
            svg.AppendLine(F($"    <line x1=\"{Px(t):0.##}\" y1=\"{Top:0.##}\" x2=\"{Px(t):0.##}\" y2=\"{Top + plotH:0.##}\"/>"));
        foreach (double t in yTicks)
            svg.AppendLine(F($"    <line x1=\"{Left:0.##}\" y1=\"{Py(t):0.##}\" x2=\"{Left + plotW:0.##}\" y2=\"{Py(t):0.##}\"/>"));
        svg.AppendLine("  </g>");
        svg.AppendLine("  <g fill=\"#333333\">");
        foreach (double t in xTicks)
            svg.AppendLine(F($"    <text x=\"{Px(t):0.##}\" y=\"{Top + plotH + 18:0.##}\" text-anchor=\"middle\">{Escape(t.ToString("F" + xDecimals, CultureInfo.InvariantCulture))}</text>"));
        foreach (double t in yTicks)
            svg.AppendLine(F($"    <text x=\"{Left - 8:0.##}\" y=\"{Py(t) + 4:0.##}\" text-anchor=\"end\">{Escape(t.ToString("F" + yDecimals, CultureInfo.InvariantCulture))}</text>"));
        svg.AppendLine("  </g>");

        // Axes and their labels.
        svg.AppendLine(F($"  <rect x=\"{Left:0.##}\" y=\"{Top:0.##}\" width=\"{plotW:0.##}\" height=\"{plotH:0.##}\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>"));
        svg.AppendLine(F($"  <text x=\"{Left + plotW / 2:0.##}\" y=\"{height - 15:0.##}\" text-anchor=\"middle\" font-size=\"13\">{Escape(xLabel)}</text>"));
        svg.AppendLine(F($"  <text x=\"20\" y=\"{Top + plotH / 2:0.##}\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 20 {Top + plotH / 2:0.##})\">{Escape(yLabel)}</text>"));

        // The series: polylines broken at non-finite values, markers when there are few points.
        foreach (ChartSeries s in series)
        {
            string dash = s.Dashed ? " stroke-dasharray=\"6 4\"" : "";
            var run = new List<string>();
            void Flush()
            {
                if (run.Count > 1)
                    svg.AppendLine($"  <polyline fill=\"none\" stroke=\"{Escape(s.Color)}\" stroke-width=\"2\"{dash} points=\"{string.Join(' ', run)}\"/>");
                run.Clear();
            }
            foreach ((double x, double y) in s.Points)
            {
                if (double.IsFinite(x) && double.IsFinite(y))
                    run.Add(F($"{Px(x):0.##},{Py(y):0.##}"));
                else
                    Flush();
            }
            Flush();
            if (s.Points.Count <= 60)
            {
                foreach ((double x, double y) in s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)))
                    svg.AppendLine(F($"  <circle cx=\"{Px(x):0.##}\" cy=\"{Py(y):0.##}\" r=\"3\" fill=\"{Escape(s.Color)}\"/>"));
            }
        }

        // Legend, top right inside the plot.
        if (series.Count > 0)
        {
            double legendW = 40 + 7.5 * series.Max(s => s.Name.Length), legendH = 10 + 20 * series.Count;
            double lx = Left + plotW - legendW - 10, ly = Top + 10;
            svg.AppendLine(F($"  <rect x=\"{lx:0.##}\" y=\"{ly:0.##}\" width=\"{legendW:0.##}\" height=\"{legendH:0.##}\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999999\"/>"));
            for (int i = 0; i < series.Count; i++)
            {
                double y = ly + 15 + 20 * i;
                string dash = series[i].Dashed ? " stroke-dasharray=\"6 4\"" : "";
                svg.AppendLine(F($"  <line x1=\"{lx + 8:0.##}\" y1=\"{y:0.##}\" x2=\"{lx + 30:0.##}\" y2=\"{y:0.##}\" stroke=\"{Escape(series[i].Color)}\" stroke-width=\"2\"{dash}/>"));
                svg.AppendLine(F($"  <text x=\"{lx + 36:0.##}\" y=\"{y + 4:0.##}\">{Escape(series[i].Name)}</text>"));
            }
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    /// <summary>Writes the chart of training (and validation, where measured) loss per epoch to <paramref name="path"/>.</summary>
    public static void WriteLossChart(string path, string title, TrainingHistory history)
    {
        var train = history.Epochs.Select(e => ((double)e.EpochNumber, e.TrainingLoss)).ToList();
        var series = new List<ChartSeries> { new("training loss", "#1f77b4", train) };
        if (history.Epochs.Any(e => e.ValidationLoss is not null))
            series.Add(new ChartSeries("validation loss", "#d62728", history.Epochs.Select(e => ((double)e.EpochNumber, e.ValidationLoss ?? double.NaN)).ToList(), Dashed: true));
        File.WriteAllText(path, Render(title, "epoch", "loss (mean per sample)", series));
    }

    private static (double Min, double Max) Range(IEnumerable<double> values, bool includeZero)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (double v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        if (includeZero)
        {
            min = Math.Min(min, 0);
            max = Math.Max(max, 0);
        }
        if (!double.IsFinite(min) || !double.IsFinite(max))
            return (0, 1);
        if (max - min <= Math.Abs(max) * 1e-9)
        {
            double pad = Math.Abs(max) > 0 ? Math.Abs(max) * 0.1 : 1;
            return (min - pad, max + pad);
        }
        return (min, max);
    }

    /// <summary>About five ticks at 1, 2 or 5 × 10^k; widens [min, max] to whole ticks.</summary>
    private static double[] Ticks(ref double min, ref double max, bool integer)
    {
        double raw = (max - min) / 5;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = magnitude * (raw / magnitude >= 5 ? 10 : raw / magnitude >= 2 ? 5 : raw / magnitude >= 1 ? 2 : 1);
        if (integer)
            step = Math.Max(1, Math.Round(step));
        min = Math.Floor(min / step) * step;
        max = Math.Ceiling(max / step) * step;
        if (max <= min)
            max = min + step;
        var ticks = new List<double>();
        for (int i = 0; ; i++)
        {
            double t = min + i * step;
            if (t > max + step * 1e-9)
                break;
            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        }
        return ticks.ToArray();
    }

    private static int Decimals(double[] ticks)
    {
        if (ticks.Length < 2)
            return 0;
        double step = ticks[1] - ticks[0];
        return Math.Clamp((int)-Math.Floor(Math.Log10(step) + 1e-9), 0, 10);
    }

    private static string Escape(string s) => new string(s.Where(c => c >= ' ' || c == '\t').ToArray()).Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
