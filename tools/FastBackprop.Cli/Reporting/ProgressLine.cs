using System.Diagnostics;
using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>
/// A one-line progress bar rewritten in place with '\r'. Active only when stdout is a terminal; when it is redirected
/// (a pipe, a file, CI) every method does nothing, so logs hold only the per-epoch rows.
/// </summary>
internal sealed class ProgressLine(TextWriter output, bool enabled)
{
    private const int BarWidth = 30;
    private static readonly long MinInterval = Stopwatch.Frequency / 10; // at most 10 redraws a second

    private long _lastDraw = long.MinValue / 2;
    private int _lastLength;

    public bool Enabled { get; } = enabled;

    /// <summary>Redraws the line if enough time has passed since the last redraw. Epoch and batch are 1-based.</summary>
    public void Report(int epoch, int epochs, int batch, int batches, double runningLoss, double samplesPerSecond)
    {
        if (!Enabled)
            return;
        long now = Stopwatch.GetTimestamp();
        if (now - _lastDraw < MinInterval)
            return;
        _lastDraw = now;

        double done = ((epoch - 1) + (double)batch / batches) / epochs;
        int filled = Math.Clamp((int)(done * BarWidth), 0, BarWidth);
        string line = string.Create(CultureInfo.InvariantCulture,
            $"  [{new string('#', filled)}{new string('.', BarWidth - filled)}] {done * 100,5:0.0}%  epoch {epoch}/{epochs}  batch {batch}/{batches}  loss {runningLoss:0.0000}  {samplesPerSecond:#,0} samples/s");
        Draw(line);
    }

    /// <summary>Erases the line so that an ordinary line can be printed in its place.</summary>
    public void Clear()
    {
        if (!Enabled || _lastLength == 0)
            return;
        output.Write('\r');
        output.Write(new string(' ', _lastLength));
        output.Write('\r');
        output.Flush();
        _lastLength = 0;
        _lastDraw = long.MinValue / 2;
    }

    private void Draw(string line)
    {
        output.Write('\r');
        output.Write(line);
        if (line.Length < _lastLength)
            output.Write(new string(' ', _lastLength - line.Length));
        output.Flush();
        _lastLength = Math.Max(line.Length, _lastLength);
    }
}
