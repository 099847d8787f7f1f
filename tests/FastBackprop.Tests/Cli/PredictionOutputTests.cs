using System.Globalization;
using System.Text;

namespace FastBackprop.Tests.Cli;

/// <summary>
/// What <c>predict</c> and <c>evaluate</c> print for hostile models: a model whose weights overflow on some rows fails
/// with one line naming the file and the data row (exit 1) instead of printing NaN, and class labels holding control
/// characters or CSV syntax reach neither the terminal nor the output file raw.
/// </summary>
public sealed class PredictionOutputTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fbp-predict-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Output, string Errors) Run(params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var errors = new StringWriter(CultureInfo.InvariantCulture);
        TextWriter saved = Console.Error;
        Console.SetError(errors);
        try
        {
            int code = FastBackprop.Cli.Program.Run(args, output, interactive: false, System.Diagnostics.Stopwatch.GetTimestamp(), CancellationToken.None);
            return (code, output.ToString(), errors.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }

    private string Save(string name, Model<float> model)
    {
        string path = Path.Combine(dir, name);
        ModelFile.Save(path, model);
        return path;
    }

    /// <summary>600 rows (more than one 512-row chunk) of two features: row <paramref name="bad"/> (0-based) is (20, 0),
    /// where <see cref="HostileNetworks.Cancelling"/> overflows; every other row (i mod 3, i mod 5) is safe.</summary>
    private string WriteRows(string name, int bad, string? labelColumn = null)
    {
        var text = new StringBuilder(labelColumn is null ? "x0,x1\n" : "x0,x1,label\n");
        for (int i = 0; i < 600; i++)
        {
            text.Append(i == bad ? "20,0" : string.Create(CultureInfo.InvariantCulture, $"{i % 3},{i % 5}"));
            text.Append(labelColumn is null ? "\n" : $",{labelColumn}\n");
        }
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text.ToString());
        return path;
    }

    [Fact]
    public void Predict_fails_naming_the_file_and_data_row_where_the_model_overflows()
    {
        string model = Save("cancelling.fbpm", new Model<float>(HostileNetworks.Cancelling()));
        string rows = WriteRows("rows.csv", bad: 550), predictions = Path.Combine(dir, "out.csv");

        (int code, string output, string errors) = Run("predict", "--model", model, "--csv", rows, "--output", predictions);
        Assert.Equal(1, code);
        Assert.Matches(@"^fastbackprop-cli: error: rows\.csv, data row 551: the model's output 0 is (NaN|-?Infinity)", errors);
        Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(predictions), "nothing is written when a prediction fails");

        (code, output, errors) = Run("predict", "--model", model, "--csv", rows);
        Assert.Equal(1, code);
        Assert.Contains("rows.csv, data row 551:", errors);
        Assert.DoesNotContain("NaN", output);
        Assert.Equal("", output);

        // Every row safe: every prediction is the exact 0 the weights cancel to.
        (code, output, _) = Run("predict", "--model", model, "--csv", WriteRows("safe.csv", bad: -1));
        Assert.Equal(0, code);
        Assert.All(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Equal("0", line));
    }

    [Fact]
    public void Evaluate_fails_naming_the_data_row_instead_of_printing_a_NaN_loss()
    {
        var classifier = new Model<float>(HostileNetworks.Cancelling(classes: 2), classLabels: ["a", "b"], loss: Loss.SoftmaxCrossEntropy);
        string model = Save("classifier.fbpm", classifier);
        (int code, string output, string errors) = Run("evaluate", "--model", model, "--csv", WriteRows("labelled.csv", bad: 7, labelColumn: "a"), "--target", "label");
        Assert.Equal(1, code);
        Assert.Contains("labelled.csv, data row 8: the model's output", errors);
        Assert.DoesNotContain("NaN", output);

        var regression = new Model<float>(HostileNetworks.Cancelling());
        string values = WriteRows("values.csv", bad: 599, labelColumn: "1.5");
        (code, output, errors) = Run("evaluate", "--model", Save("regression.fbpm", regression), "--csv", values, "--target", "label");
        Assert.Equal(1, code);
        Assert.Contains("values.csv, data row 600: the model's output 0 is", errors);
        Assert.DoesNotContain("NaN", output);
    }
}
