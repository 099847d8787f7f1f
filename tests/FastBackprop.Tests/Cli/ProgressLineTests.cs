using System.Globalization;
using FastBackprop.Cli;

namespace FastBackprop.Tests.Cli;

/// <summary>The progress bar: the share of the whole run, the time left once there is a rate, redraws throttled by wall
/// time (a clock set by hand here).</summary>
public class ProgressLineTests
{
    private sealed class ManualClock : TimeProvider
    {
        public TimeSpan Now { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Now.Ticks;
    }

    private static string LastLine(StringWriter output) => output.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries)[^1].TrimEnd();

    [Fact]
    public void ShowsTheShareOfTheWholeRunAndTheTimeLeftOnceItHasARate()
    {
        var clock = new ManualClock();
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var line = new ProgressLine(output, enabled: true, clock);

        clock.Now = TimeSpan.FromMilliseconds(10);
        line.Report(epoch: 1, epochs: 1_000_000, batch: 1, batches: 36, runningLoss: 2.3, samplesPerSecond: 5000);
        Assert.Contains("0.0%  epoch 1/1000000  batch 1/36", LastLine(output));
        Assert.DoesNotContain("ETA", LastLine(output));   // no rate yet

        // A quarter of the run after 30 s: 90 s left.
        clock.Now = TimeSpan.FromSeconds(30);
        line.Report(epoch: 250_001, epochs: 1_000_000, batch: 0, batches: 36, runningLoss: 0.5, samplesPerSecond: 5000);
        Assert.Matches(@"\[#######\.+\]  25\.0%  epoch 250001/1000000 .* ETA 1:30$", LastLine(output));
    }

    [Fact]
    public void RedrawsAtMostTenTimesASecondOfWallTimeWhateverTheEpochs()
    {
        var clock = new ManualClock();
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var line = new ProgressLine(output, enabled: true, clock);
        line.Report(1, 100, 1, 2, 1.0, 100);
        clock.Now = TimeSpan.FromMilliseconds(50);
        line.Report(2, 100, 1, 2, 1.0, 100);
        Assert.Contains("epoch 1/100", LastLine(output));   // 50 ms later: not redrawn
        clock.Now = TimeSpan.FromMilliseconds(100);
        line.Report(3, 100, 1, 2, 1.0, 100);
        Assert.Contains("epoch 3/100", LastLine(output));
    }

    [Theory]
    [InlineData(0, "0:00")]
    [InlineData(59.6, "1:00")]
    [InlineData(3599, "59:59")]
    [InlineData(3600, "1:00:00")]
    [InlineData(90_061, "1d 01:01:01")]
    [InlineData(1e300, "9999d 00:00:00")]
    public void TimeLeftIsWrittenAsClockTime(double seconds, string expected) => Assert.Equal(expected, ProgressLine.Duration(seconds));
}
