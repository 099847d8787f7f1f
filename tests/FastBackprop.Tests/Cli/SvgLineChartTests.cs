using System.Xml.Linq;
using FastBackprop.Cli;

namespace FastBackprop.Tests.Cli;

public class SvgLineChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static XDocument Parse(string svg)
    {
        XDocument doc = XDocument.Parse(svg);
        Assert.Equal(Svg + "svg", doc.Root!.Name);
        return doc;
    }

    [Fact]
    public void SingleEpochIsWellFormedAndShowsMarkers()
    {
        string svg = SvgLineChart.Render("one epoch", "epoch", "loss",
            [new ChartSeries("training loss", "#1f77b4", [(1, 0.5)]), new ChartSeries("validation loss", "#d62728", [(1, 0.6)], Dashed: true)]);
        XDocument doc = Parse(svg);
        Assert.Equal(2, doc.Descendants(Svg + "circle").Count());
        Assert.Empty(doc.Descendants(Svg + "polyline")); // one point draws no line, only a marker
        Assert.DoesNotContain("NaN", svg);
        Assert.DoesNotContain("Infinity", svg);
    }

    [Fact]
    public void SeveralEpochsDrawOneLinePerSeriesWithLegendTitleAndTicks()
    {
        var train = Enumerable.Range(1, 30).Select(e => ((double)e, 2.0 / e)).ToList();
        var validation = Enumerable.Range(1, 30).Select(e => ((double)e, 2.2 / e + 0.01 * e)).ToList();
        XDocument doc = Parse(SvgLineChart.Render("Loss <per> epoch & \"more\"", "epoch", "loss",
            [new ChartSeries("training loss", "#1f77b4", train), new ChartSeries("validation loss", "#d62728", validation, Dashed: true)]));
        Assert.Equal(2, doc.Descendants(Svg + "polyline").Count());
        string[] texts = doc.Descendants(Svg + "text").Select(t => t.Value).ToArray();
        Assert.Contains("Loss <per> epoch & \"more\"", texts);
        Assert.Contains("training loss", texts);
        Assert.Contains("validation loss", texts);
        Assert.Contains("epoch", texts);
        Assert.True(texts.Count(t => double.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out _)) >= 6, "expected numeric tick labels");
    }

    [Fact]
    public void ConstantSeriesAndGapsStillMakeAValidDrawing()
    {
        List<(double, double)> constant = [(1, 0.25), (2, 0.25), (3, 0.25)];
        List<(double, double)> gaps = [(1, 1), (2, double.NaN), (3, 0.5), (4, 0.4), (5, double.PositiveInfinity)];
        string svg = SvgLineChart.Render("flat", "epoch", "loss", [new ChartSeries("flat", "blue", constant), new ChartSeries("gaps", "red", gaps)]);
        XDocument doc = Parse(svg);
        Assert.Equal(2, doc.Descendants(Svg + "polyline").Count()); // the flat line, and the (3..4) run of the other
        Assert.DoesNotContain("NaN", svg);
        Assert.DoesNotContain("Infinity", svg);
    }

    [Fact]
    public void NoFinitePointsStillRenders()
    {
        string svg = SvgLineChart.Render("empty", "x", "y", [new ChartSeries("nothing", "black", [])]);
        Parse(svg);
        Assert.DoesNotContain("NaN", svg);
    }

    [Fact]
    public void LossChartOfARealRunIsWellFormed()
    {
        var data = new Dataset<float>([0, 0, 0, 1, 1, 0, 1, 1], 2, [0, 1, 1, 0], 2);
        var network = new Network<float>(2, [new LayerSpec(4, Activation.Tanh), new LayerSpec(2, Activation.Softmax)], seed: 1);
        TrainingHistory history = new Trainer<float>(new TrainerOptions { Epochs = 1, BatchSize = 4 }).Fit(network, data, data);
        string path = Path.Combine(Path.GetTempPath(), $"fbp-chart-{Guid.NewGuid():N}.svg");
        try
        {
            SvgLineChart.WriteLossChart(path, "xor", history);
            XDocument doc = XDocument.Load(path);
            Assert.Equal(Svg + "svg", doc.Root!.Name);
            Assert.Equal(2, doc.Descendants(Svg + "circle").Count());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
