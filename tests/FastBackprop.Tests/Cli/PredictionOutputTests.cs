using System.Globalization;
using System.Text;

namespace FastBackprop.Tests.Cli;

/// <summary>
/// What <c>predict</c> and <c>evaluate</c> print for hostile models: a model whose weights overflow on some rows fails
/// with one line naming the file and the data row (exit 1) instead of printing NaN, and class labels holding control
/// characters or CSV syntax reach neither the terminal nor the output file raw.
/// </summary>
[Collection(nameof(ConsoleStreams))]
public sealed class PredictionOutputTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fbp-predict-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Output, string Errors) Run(params string[] args) => ConsoleStreams.RunProgram(args);

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
        // The model holds no feature names: one note that columns are matched by position, then the one error line.
        string[] lines = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("fastbackprop: note: rows.csv: columns matched to the model's inputs by position", lines[0]);
        Assert.Matches(@"^fastbackprop: error: rows\.csv, data row 551: the model's output 0 is (NaN|-?Infinity)", lines[1]);
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
    public void Predict_and_evaluate_fail_naming_the_row_and_feature_that_the_standardisation_overflows()
    {
        // Feature 'y' is multiplied by 4: 1e38 in it has no standardised value in float.
        string model = Save("standardised.fbpm", new Model<float>(new Network<float>(2, [new(2, Activation.Softmax)], seed: 3),
            new Standardizer<float>([0f, 0f], [1f, 4f]), ["a", "b"]) { FeatureNames = ["x", "y"] });
        string rows = Path.Combine(dir, "far.csv");
        File.WriteAllText(rows, "x,y,label\n1,2,a\n3,4,b\n0.5,1e38,a\n");
        (int code, string output, string errors) = Run("predict", "--model", model, "--csv", rows, "--target", "label");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("far.csv, data row 3, feature 1 ('y'): 1E+38 is too far outside the training data for the model's standardisation", errors);
        (code, output, errors) = Run("evaluate", "--model", model, "--csv", rows, "--target", "label");
        Assert.Equal(1, code);
        Assert.Contains("far.csv, data row 3, feature 1 ('y'): 1E+38 is too far outside the training data", errors);
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

    /// <summary>A two-class model whose labels hold an escape sequence, a bell, a line break, a comma and a quote: class 0
    /// for x0 &gt; x1.</summary>
    private Model<float> HostileLabels(params string[] labels)
    {
        var network = new Network<float>(2, [new(2, Activation.Softmax)]);
        network.SetWeights(0, [1, -1, -1, 1]);
        return new Model<float>(network, classLabels: labels, loss: Loss.SoftmaxCrossEntropy);
    }

    private const string Evil = "\u001b]0;pwned\u0007\u001b[2J", Tricky = "line\nbreak, \"quoted\"\u0085";

    [Fact]
    public void Predict_escapes_control_characters_in_labels_and_quotes_them_as_CSV()
    {
        string model = Save("labels.fbpm", HostileLabels(Evil, Tricky));
        string rows = Path.Combine(dir, "two.csv");
        File.WriteAllText(rows, "x0,x1\n5,0\n0,5\n");
        (int code, string output, _) = Run("predict", "--model", model, "--csv", rows);
        Assert.Equal(0, code);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(@"\u001B]0;pwned\u0007\u001B[2J,1.0000", lines[0]);
        Assert.Equal(@"""line\u000Abreak, """"quoted""""\u0085"",1.0000", lines[1]);
        Assert.DoesNotContain(output, c => char.IsControl(c) && c != '\n');

        string file = Path.Combine(dir, "predictions.csv");
        Assert.Equal(0, Run("predict", "--model", model, "--csv", rows, "--output", file).Code);
        Assert.Equal(output, File.ReadAllText(file));
    }

    [Fact]
    public void Evaluate_escapes_control_characters_in_the_confusion_matrix()
    {
        string model = Save("labels.fbpm", HostileLabels(Evil, "ok"));
        string rows = Path.Combine(dir, "labelled.csv");
        File.WriteAllText(rows, "x0,x1,label\n5,0,ok\n0,5,ok\n");
        (int code, string output, _) = Run("evaluate", "--model", model, "--csv", rows, "--target", "label");
        Assert.Equal(0, code);
        Assert.Contains("confusion matrix", output);
        Assert.DoesNotContain(output, c => char.IsControl(c) && c is not '\n' and not '\r');
        Assert.Contains(@"\u001B]0;pw~", output);
    }
}
