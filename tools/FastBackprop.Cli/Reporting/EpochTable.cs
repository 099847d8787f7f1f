using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>The per-epoch table of the train command: epoch, train loss, train acc, val loss, val acc, lr, time, samples/s.</summary>
internal sealed class EpochTable(bool classification, bool validation)
{
    public string Header { get; } =
        $"{"epoch",7}  {"train loss",11}  {"train acc",9}  {"val loss",11}  {"val acc",8}  {"lr",9}  {"time",9}  {"samples/s",11}";

    public string Rule => new('-', Header.Length);

    public string Row(EpochMetrics m, bool best)
    {
        string trainAcc = classification && m.TrainingAccuracy is double ta ? Percent(ta) : "-";
        string valLoss = validation && m.ValidationLoss is double vl ? Num(vl) : "-";
        string valAcc = validation && classification && m.ValidationAccuracy is double va ? Percent(va) : "-";
        return string.Create(CultureInfo.InvariantCulture,
            $"{m.EpochNumber,7}  {Num(m.TrainingLoss),11}  {trainAcc,9}  {valLoss,11}  {valAcc,8}  {m.LearningRate,9:0.#####}  {Seconds(m.Duration),9}  {m.SamplesPerSecond,11:#,0}{(best ? "  *" : "")}");
    }

    private static string Num(double x) => double.IsFinite(x) && Math.Abs(x) < 1e5
        ? x.ToString("0.000000", CultureInfo.InvariantCulture)
        : x.ToString("0.###e+0", CultureInfo.InvariantCulture);

    private static string Percent(double x) => (x * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%";

    private static string Seconds(TimeSpan t) => t.TotalSeconds < 10
        ? t.TotalMilliseconds.ToString(t.TotalMilliseconds < 100 ? "0.0" : "0", CultureInfo.InvariantCulture) + " ms"
        : t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
