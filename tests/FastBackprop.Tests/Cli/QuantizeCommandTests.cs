using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace FastBackprop.Tests.Cli;

/// <summary>
/// <c>quantize MODEL OUT</c> writes an int8 model file that <c>predict</c>, <c>evaluate</c> and <c>info</c> read; with
/// labelled data it compares both models (accuracy or R², sizes, time per sample). Usage mistakes exit 2 naming the
/// argument; an already quantized input is refused.
/// </summary>
[Collection(nameof(ConsoleStreams))]
public sealed partial class QuantizeCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fbp-quantize-cli-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Output, string Errors) Run(params string[] args) => ConsoleStreams.RunProgram(args);

    private string Path(string name) => System.IO.Path.Combine(dir, name);

    /// <summary>Two features that decide the class "left"/"right", with a header; or, for regression, y = 3a − 2b + 1.</summary>
    private string Data(string name, int rows, bool regression = false)
    {
        var rng = new Random(5);
        var text = new StringBuilder(regression ? "a,b,y\n" : "a,b,side\n");
        for (int i = 0; i < rows; i++)
        {
            double a = 4 * rng.NextDouble() - 2, b = 4 * rng.NextDouble() - 2;
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{a:0.####},{b:0.####},{(regression ? (3 * a - 2 * b + 1).ToString("0.####", CultureInfo.InvariantCulture) : a + b > 0 ? "right" : "left")}\n"));
        }
        File.WriteAllText(Path(name), text.ToString());
        return Path(name);
    }

    private string Trained(string name, string data, params string[] extra)
    {
        string model = Path(name);
        var (code, _, errors) = Run(["train", "--csv", data, "--target", extra.Length > 0 ? "y" : "side", "--hidden", "16", "--epochs", "20", "--save", model, .. extra]);
        Assert.True(code == 0, errors);
        return model;
    }

    [GeneratedRegex(@"^predict:  fp32 [0-9.]+ µs/sample, int8 [0-9.]+ µs/sample \([0-9.]+× faster; one sample at a time, [0-9]+ thread\(s\)\)$", RegexOptions.Multiline)]
    private static partial Regex TimingLine();

    [Fact]
    public void Quantize_with_data_prints_both_accuracies_sizes_and_times_and_the_file_works_with_every_command()
    {
        string data = Data("blobs.csv", 200), model = Trained("fp32.fbpm", data), int8 = Path("int8.fbpm");
        var (code, output, errors) = Run("quantize", model, int8, "--csv", data, "--target", "side");
        Assert.True(code == 0, errors);
        long fp32Bytes = new FileInfo(model).Length, int8Bytes = new FileInfo(int8).Length;
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"quantized 2-16-2 (ReLU hidden, Softmax output), 2 classes, standardised inputs, int8 layers 0, 1 to {int8}", lines[0]);
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"size:     fp32 {fp32Bytes:N0} bytes, int8 {int8Bytes:N0} bytes ({100.0 * int8Bytes / fp32Bytes:0.0}%)"), lines[1]);
        Assert.Equal("data:     blobs.csv: 200 samples", lines[2]);
        Assert.Matches(@"^accuracy: fp32 [0-9.]+% \([0-9]+/200\), int8 [0-9.]+% \([0-9]+/200\)$", lines[3]);
        Assert.Matches(TimingLine(), lines[4]);
        Assert.Equal(5, lines.Length);

        Model<float> loaded = ModelFile.Load<float>(int8);
        Assert.True(loaded.Quantized!.IsQuantized(0) && loaded.Quantized.IsQuantized(1));
        Assert.Equal(["a", "b"], loaded.FeatureNames!);

        // evaluate: the int8 model's accuracy as quantize printed it, and no loss line (an int8 network keeps no logits).
        (code, output, errors) = Run("evaluate", "--model", int8, "--csv", data, "--target", "side");
        Assert.True(code == 0, errors);
        string int8Accuracy = Regex.Match(lines[3], @"int8 ([0-9.]+% \([0-9]+/200\))").Groups[1].Value;
        Assert.Contains($"accuracy: {int8Accuracy}", output);
        Assert.DoesNotContain("loss:", output);
        Assert.Contains("int8 layers 0, 1", output);

        // predict: the int8 model's own predictions, class and probability per row.
        (code, output, errors) = Run("predict", "--model", int8, "--csv", data, "--target", "side");
        Assert.True(code == 0, errors);
        string[] predictions = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(200, predictions.Length);
        Assert.Matches(@"^(left|right),[01]\.[0-9]{4}$", predictions[0]);

        // export and import: the int8 layers as quantize_dynamic writes them, and back.
        (code, _, errors) = Run("export", int8, Path("int8.onnx"));
        Assert.True(code == 0, errors);
        (code, _, errors) = Run("import", Path("int8.onnx"), Path("back.fbpm"));
        Assert.True(code == 0, errors);
        Assert.True(ModelFile.Load<float>(Path("back.fbpm")).Quantized!.IsQuantized(1));

        // info: which layers are int8.
        (code, output, errors) = Run("info", "--model", int8);
        Assert.True(code == 0, errors);
        Assert.Equal(
            "int8.fbpm: 2-16-2 (ReLU hidden, Softmax output), 2 classes, standardised inputs, int8 layers 0, 1\n"
            + "layer 0: dense, 16 units, ReLU, 2 inputs, int8\n"
            + "layer 1: dense, 2 units, Softmax, 16 inputs, int8\n", output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Keep_output_float_keeps_the_last_layer_in_fp32_and_regression_reports_R2()
    {
        string data = Data("line.csv", 150, regression: true), model = Trained("reg.fbpm", data, "--regression"), int8 = Path("reg8.fbpm");
        var (code, output, errors) = Run("quantize", model, int8, "--keep-output-float", "--csv", data, "--target", "y");
        Assert.True(code == 0, errors);
        Assert.Contains("int8 layer 0, fp32 layer 1 to", output);
        Assert.Matches(@"\nR²:       fp32 -?[0-9]+\.[0-9]{4}, int8 -?[0-9]+\.[0-9]{4}\n", output.ReplaceLineEndings("\n"));
        Assert.False(ModelFile.Load<float>(int8).Quantized!.IsQuantized(1));
        (code, output, _) = Run("info", "--model", int8);
        Assert.Equal(0, code);
        Assert.Contains("layer 1: dense, 1 units, Identity, 16 inputs, fp32", output);
    }

    [Fact]
    public void Without_data_quantize_prints_the_sizes_only()
    {
        string model = Trained("plain.fbpm", Data("plain.csv", 60)), int8 = Path("plain8.fbpm");
        var (code, output, errors) = Run("quantize", model, int8);
        Assert.True(code == 0, errors);
        Assert.Equal(2, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("size:     fp32 ", output);
    }

    [Theory]
    [InlineData("one", "'quantize' takes two file names first: MODEL.fbpm OUT.fbpm (got 1: ")]
    [InlineData("none", "'quantize' takes two file names first: MODEL.fbpm OUT.fbpm (got 0)")]
    [InlineData("unknown", "'--bits' for 'quantize'")]
    [InlineData("both", "--csv")]
    [InlineData("csv option alone", "--target")]
    [InlineData("missing", "'quantize': file not found: '")]
    public void Usage_mistakes_exit_2_naming_the_argument(string mistake, string message)
    {
        string model = Trained("u.fbpm", Data("u.csv", 40)), data = Path("u.csv"), out8 = Path("u8.fbpm");
        string[] args = mistake switch
        {
            "one" => ["quantize", model],
            "none" => ["quantize", "--keep-output-float"],
            "unknown" => ["quantize", model, out8, "--bits", "4"],
            "both" => ["quantize", model, out8, "--csv", data, "--idx", data, data],
            "csv option alone" => ["quantize", model, out8, "--target", "side"],
            _ => ["quantize", Path("absent.fbpm"), out8],
        };
        var (code, _, errors) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(message, errors);
        Assert.False(File.Exists(out8));
    }

    [Fact]
    public void An_already_quantized_model_is_refused()
    {
        string model = Trained("q.fbpm", Data("q.csv", 40)), once = Path("once.fbpm");
        Assert.Equal(0, Run("quantize", model, once).Code);
        var (code, _, errors) = Run("quantize", once, Path("twice.fbpm"));
        Assert.Equal(2, code);
        Assert.Contains("'quantize': once.fbpm is already quantized (2-16-2", errors);
        Assert.False(File.Exists(Path("twice.fbpm")));
    }
}
