using System.Globalization;
using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>
/// Request bodies for the serving sample's <c>POST /v1/predict</c>: property names and strings of invalid UTF-8
/// (a lone 0xFF, overlong forms, encoded surrogates, a sequence cut short), lone-surrogate escapes (<c>"\ud800"</c>),
/// finite values whose outputs overflow, values beyond float, valid rows, and byte mutations of valid bodies. Every
/// body must get an answer below 500, and the service's log must show no stack trace.
/// </summary>
public static class ServingCases
{
    /// <summary>The model the service runs, the same for every case of a run: a labelled softmax classifier.</summary>
    public static ModelSeed Model(int runSeed)
    {
        var random = new Random(CaseGenerator.CaseSeed(runSeed, FuzzKind.Serving, -1));
        while (true)
        {
            ModelSeed seed = Seeds.Model(random);
            Network<float> network = ModelFile.Load<float>(new MemoryStream(seed.Bytes)).Network;
            if (seed.Labelled && network.Layer(network.LayerCount - 1).Activation.Kind == ActivationKind.Softmax)
                return seed;
        }
    }

    private static readonly byte[][] BadUtf8 =
    [
        [0xFF], [0xC3], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xF0, 0x9F, 0x98],
    ];

    private static readonly string[] Surrogates = [@"\ud800", @"\udc00", @"\udbff", @"\ud800\ud800", @"\udc00\ud800", @"\uDFFF"];

    public static FuzzCase Create(Random random, int runSeed, int index, ModelSeed model)
    {
        int n = model.InputSize;
        string Row(Func<int, string> cell) => "[" + string.Join(',', Enumerable.Range(0, n).Select(cell)) + "]";
        string Valid() => Row(_ => Math.Round(random.NextDouble() * 4 - 2, 3).ToString(CultureInfo.InvariantCulture));
        byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
        byte[] bad = BadUtf8[random.Next(BadUtf8.Length)];
        string badName = Convert.ToHexString(bad);
        string surrogate = Surrogates[random.Next(Surrogates.Length)];
        (string what, byte[] body) = random.Next(10) switch
        {
            0 => ($"property name of invalid UTF-8 {badName}", [.. Utf8("{\""), .. bad, .. Utf8($"\":{Valid()}}}")]),
            1 => ($"invalid UTF-8 {badName} inside the name \"features\"", [.. Utf8("{\"feat"), .. bad, .. Utf8($"ures\":{Valid()}}}")]),
            2 => ($"property name '{surrogate}'", Utf8($"{{\"{surrogate}\":{(random.Next(2) == 0 ? "1" : Valid())}}}")),
            3 => ($"property name 'features{surrogate}'", Utf8($"{{\"features{surrogate}\":{Valid()}}}")),
            4 => random.Next(2) == 0
                ? ($"a string value of invalid UTF-8 {badName} as a feature", [.. Utf8("{\"features\":[\""), .. bad, .. Utf8("\"]}")])
                : ($"a string value '{surrogate}' as a feature", Utf8($"{{\"features\":[\"{surrogate}\"{string.Concat(Enumerable.Repeat(",0", n - 1))}]}}")),
            5 => Overflowing(random, n, Row),
            6 => ("values beyond float (1e39, -1e309)", Utf8($"{{\"features\":{Row(j => j % 2 == 0 ? "1e39" : "-1e309")}}}")),
            7 => ($"invalid UTF-8 {badName} after a valid body", [.. Utf8($"{{\"features\":{Valid()}}}"), .. bad]),
            8 => ("valid rows", Utf8(random.Next(2) == 0 ? $"{{\"features\":{Valid()}}}" : $"{{\"rows\":[{Valid()},{Valid()}]}}")),
            _ => Mutated(random, Utf8($"{{\"rows\":[{Valid()},{Valid()}]}}")),
        };
        return new FuzzCase(FuzzKind.Serving, runSeed, index, model.Description, what, [("request.json", FuzzFile.FromBytes(body))], ModelInputSize: n);
    }

    /// <summary>Finite floats large enough that the outputs overflow (the README promises 400 for them).</summary>
    private static (string, byte[]) Overflowing(Random random, int n, Func<Func<int, string>, string> row)
    {
        string[] values = ["3.4e38", "-3.4e38", "1e38", "1e30", "3.4028235e38"];
        string value = values[random.Next(values.Length)];
        bool all = random.Next(2) == 0;
        string body = $"{{\"features\":{row(j => all || j == 0 ? value : "0")}}}";
        return ($"finite values {value} {(all ? "in every feature" : "in feature 0")} (outputs overflow)", Encoding.UTF8.GetBytes(body));
    }

    private static (string, byte[]) Mutated(Random random, byte[] body)
    {
        var what = new StringBuilder("byte mutations of a valid body: ");
        byte[] mutated = ByteMutations.Mutate(body, random, what);
        return (what.ToString(), mutated);
    }
}
