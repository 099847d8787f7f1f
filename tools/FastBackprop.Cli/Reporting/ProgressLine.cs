using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>
/// A one-line progress bar rewritten in place with '\r': the share of the whole run done (all epochs), the epoch and
/// batch, the running loss, the speed and, once a second of training gives it a rate, the time left. Redraws are
/// throttled by wall time on <paramref name="clock"/> (at most 10 a second), whatever the epochs' length. Active only when
/// stdout is a terminal; when it is redirected (a pipe, a file, CI) every method does nothing, so logs hold only the
/// per-epoch rows.
/// </summary>
internal sealed class ProgressLine(TextWriter output, bool enabled, TimeProvider clock)
{
    private const int BarWidth = 30;
    private static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100); // at most 10 redraws a second
    /// <summary>The training time before the time left is shown: earlier rates are mostly start-up.</summary>
    private static readonly TimeSpan EtaAfter = TimeSpan.FromSeconds(1);

    private readonly long started = clock.GetTimestamp();
    private long? lastDraw;
    private int lastLength;

    public bool Enabled { get; } = enabled;

    /// <summary>Redraws the line if enough time has passed since the last redraw. Epoch and batch are 1-based.</summary>
    public void Report(int epoch, int epochs, int batch, int batches, double runningLoss, double samplesPerSecond)
    {
        if (!Enabled)
            return;
        long now = clock.GetTimestamp();
        if (lastDraw is long last && clock.GetElapsedTime(last, now) < MinInterval)
            return;
        lastDraw = now;
        Draw(Line(epoch, epochs, batch, batches, runningLoss, samplesPerSecond, clock.GetElapsedTime(started, now)));
    }

    /// <summary>The line for a report <paramref name="elapsed"/> after training started.</summary>
    internal static string Line(int epoch, int epochs, int batch, int batches, double runningLoss, double samplesPerSecond, TimeSpan elapsed)
    {
        double done = ((epoch - 1) + (double)batch / batches) / epochs;
        int filled = Math.Clamp((int)(done * BarWidth), 0, BarWidth);
        string eta = done > 0 && elapsed >= EtaAfter ? "  ETA " + Duration(elapsed.TotalSeconds * (1 - done) / done) : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"  [{new string('#', filled)}{new string('.', BarWidth - filled)}] {done * 100,5:0.0}%  epoch {epoch}/{epochs}  batch {batch}/{batches}  loss {runningLoss:0.0000}  {samplesPerSecond:#,0} samples/s{eta}");
    }

    /// <summary>Seconds as <c>m:ss</c>, <c>h:mm:ss</c> or, beyond a day, <c>Nd hh:mm:ss</c>.</summary>
    internal static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Clamp(Math.Round(seconds), 0, 9_999 * 86_400.0));
        return t.TotalDays >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalDays}d {t:hh\\:mm\\:ss}")
            : t.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t:mm\\:ss}")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}:{t:ss}");
    }

    /// <summary>Erases the line so that an ordinary line can be printed in its place.</summary>
    public void Clear()
    {
        if (!Enabled || lastLength == 0)
            return;
        output.Write('\r');
        output.Write(new string(' ', lastLength));
        output.Write('\r');
        output.Flush();
        lastLength = 0;
        lastDraw = null;
    }

    private void Draw(string line)
    {
        output.Write('\r');
        output.Write(line);
        if (line.Length < lastLength)
            output.Write(new string(' ', lastLength - line.Length));
        output.Flush();
        lastLength = Math.Max(line.Length, lastLength);
    }
}
