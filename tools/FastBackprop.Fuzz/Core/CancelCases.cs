using System.Globalization;
using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>
/// Models whose weights cancel on constant rows, so the load-time forward pass (constant standardised rows) is finite,
/// yet real rows overflow: a hidden pair z and −z with z = a·(x_p − x_q), feeding outputs through huge weights
/// (H·z + H·(−z) is ∞ − ∞ = NaN once H·z overflows; H·ReLU(z) is ∞). Run through the CLI: <c>predict</c> or
/// <c>evaluate</c> on rows drawn around the model's own means must not exit 0 printing NaN or ∞.
/// </summary>
public static class CancelCases
{
    private static readonly float[] Huge = [1e20f, 1e30f, 1e35f, 3e38f];
    private static readonly float[] Gains = [1e5f, 1e10f, 1e19f, 1e30f];

    public static FuzzCase Create(Random random, int runSeed, int index)
    {
        int inputs = random.Next(2, 9);
        int p = random.Next(inputs), q = (p + 1 + random.Next(inputs - 1)) % inputs;
        float gain = Gains[random.Next(Gains.Length)], huge = Huge[random.Next(Huge.Length)];
        (ActivationKind hidden, string pairing) = random.Next(3) switch
        {
            0 => (ActivationKind.Identity, "identity pair z, −z summed into every output (∞ − ∞)"),
            1 => (ActivationKind.ReLU, "ReLU pair z, −z, one per output"),
            _ => (ActivationKind.LeakyReLU, "leaky ReLU pair z, −z summed into every output"),
        };
        bool regression = random.Next(3) == 0;
        int outputs = regression ? 1 : random.Next(2, 5);
        var model = new ModelWriter(inputs)
            .Dense(2, hidden, (u, i) => i == p ? (u == 0 ? gain : -gain) : i == q ? (u == 0 ? -gain : gain) : 0f, alpha: hidden == ActivationKind.LeakyReLU ? 0.5 : 0)
            .Dense(outputs, regression ? ActivationKind.Identity : ActivationKind.Softmax,
                (o, u) => hidden == ActivationKind.ReLU ? (u == o % 2 ? huge : 0f) : huge * (o % 2 == 0 ? 1 : -1), o => o * 0.1f);
        bool standardised = random.Next(2) == 0;
        float[] means = Enumerable.Range(0, inputs).Select(_ => (float)Math.Round((random.NextDouble() - 0.5) * 100, 2)).ToArray();
        float[] scales = Enumerable.Range(0, inputs).Select(_ => (float)Math.Round(0.1 + random.NextDouble() * 10, 2)).ToArray();
        string[]? labels = regression ? null : Enumerable.Range(0, outputs).Select(c => $"c{c}").ToArray();
        byte[] bytes = standardised ? model.ToBytes(means, scales, labels) : model.ToBytes(labels: labels);

        // Real rows: each feature around its mean (zero without standardisation), so x_p ≠ x_q almost surely.
        int rows = random.Next(5, 40);
        bool evaluate = random.Next(2) == 0;
        var csv = new StringBuilder();
        for (int r = 0; r < rows; r++)
        {
            csv.AppendJoin(',', Enumerable.Range(0, inputs).Select(j =>
                Math.Round((standardised ? means[j] : 0) + (random.NextDouble() * 2 - 1) * (standardised ? scales[j] : 1), 3).ToString(CultureInfo.InvariantCulture)));
            if (evaluate)
                csv.Append(',').Append(regression ? Math.Round(random.NextDouble(), 3).ToString(CultureInfo.InvariantCulture) : labels![r % outputs]);
            csv.Append('\n');
        }
        string[] command = evaluate
            ? ["evaluate", "--model", "@model.fbpm", "--csv", "@rows.csv", "--header", "no"]
            : ["predict", "--model", "@model.fbpm", "--csv", "@rows.csv", "--header", "no"];
        return new FuzzCase(FuzzKind.Cancel, runSeed, index, $"model float32 {inputs}-2-{outputs}{(standardised ? ", standardised" : "")}{(labels is null ? "" : ", labels")}",
            $"{pairing}, z = {gain:G3}·(x{p} − x{q}), output weights {huge:G3}; {command[0]} on {rows} rows around the means",
            [("model.fbpm", FuzzFile.FromBytes(bytes)), ("rows.csv", FuzzFile.FromBytes(Encoding.UTF8.GetBytes(csv.ToString())))], ModelInputSize: inputs)
        {
            Command = command,
        };
    }
}
