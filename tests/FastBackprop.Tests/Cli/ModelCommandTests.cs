using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace FastBackprop.Tests.Cli;

/// <summary>
/// The commands' model files end to end: a target that is not a regular file is refused before any work (exit 2), a
/// model the format cannot hold is refused before training (exit 1) rather than after it, feature columns are matched
/// by name when the CSV has a header, and an imported softmax network is a classifier.
/// </summary>
[Collection(nameof(ConsoleStreams))]
public sealed class ModelCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fbp-model-cli-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Output, string Errors) Run(params string[] args) => ConsoleStreams.RunProgram(args);

    /// <summary>Three features named a, b, c and a label "side" that only a and b decide (c is noise around 50).</summary>
    private string Blobs(string name, int rows, string header = "a,b,c,side", Func<double, double, double, string, string>? row = null)
    {
        var rng = new Random(7);
        var text = new StringBuilder(header.Length > 0 ? header + "\n" : "");
        row ??= (a, b, c, side) => string.Create(CultureInfo.InvariantCulture, $"{a:0.###},{b:0.###},{c:0.###},{side}");
        for (int i = 0; i < rows; i++)
        {
            bool right = i % 2 == 0;
            double center = right ? 3 : -3;
            text.Append(row(center + rng.NextDouble(), -center + rng.NextDouble(), 50 + 10 * rng.NextDouble(), right ? "right" : "left")).Append('\n');
        }
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text.ToString());
        return path;
    }

    private string Fifo(string name)
    {
        string path = Path.Combine(dir, name);
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        return path;
    }

    [Fact]
    public void A_save_export_or_import_target_that_is_not_a_regular_file_is_a_usage_error_before_any_work()
    {
        if (OperatingSystem.IsWindows())
            return;
        string fifo = Fifo("model.fbpm"), data = Blobs("fifo.csv", 40);
        var (code, output, errors) = Run("train", "--csv", data, "--epochs", "1", "--save", fifo);
        Assert.Equal(2, code);
        Assert.Contains($"--save: '{fifo}' is a FIFO (named pipe): only a regular file can be written or replaced", errors);
        Assert.DoesNotContain("epoch", output);

        string model = Path.Combine(dir, "real.fbpm"), onnx = Path.Combine(dir, "real.onnx");
        Assert.Equal(0, Run("train", "--csv", data, "--epochs", "1", "--save", model).Code);
        Assert.Equal(0, Run("export", model, onnx).Code);
        (code, _, errors) = Run("export", model, fifo);
        Assert.Equal(2, code);
        Assert.Contains($"'export' output: '{fifo}' is a FIFO", errors);
        (code, _, errors) = Run("import", onnx, fifo);
        Assert.Equal(2, code);
        Assert.Contains($"'import' output: '{fifo}' is a FIFO", errors);
        Assert.Equal("a FIFO (named pipe)", RegularFile.NotRegular(fifo));
    }

    [Fact]
    public void A_model_the_format_cannot_hold_is_refused_before_training()
    {
        // Features around 1e25: the standardisation scale (1/σ ≈ 1e-25) is outside what a model file holds.
        string huge = Blobs("huge.csv", 40, "a,b,price,side", (a, b, c, side) => string.Create(CultureInfo.InvariantCulture, $"{a},{b},{c * 1e24:R},{side}"));
        string model = Path.Combine(dir, "never.fbpm");
        var (code, output, errors) = Run("train", "--csv", huge, "--epochs", "1", "--save", model);
        Assert.Equal(1, code);
        Assert.Matches(@"--save .*never\.fbpm: The model cannot be saved: feature 2 \('price'\) has a standard deviation of [0-9.]+E\+24", errors);
        Assert.DoesNotContain("epoch", output);
        Assert.False(File.Exists(model));
        // Without --save the same data train.
        Assert.Equal(0, Run("train", "--csv", huge, "--epochs", "1").Code);

        // Regression targets around 1e-25.
        string tiny = Blobs("tiny.csv", 40, "a,b,c,y", (a, b, c, side) => string.Create(CultureInfo.InvariantCulture, $"{a},{b},{c},{c * 1e-26:R}"));
        (code, _, errors) = Run("train", "--csv", tiny, "--regression", "--epochs", "1", "--save", model);
        Assert.Equal(1, code);
        Assert.Contains("target 0 has a standard deviation of", errors);

        // A class label longer than a model file holds.
        string longLabel = Blobs("long.csv", 40, row: (a, b, c, side) => string.Create(CultureInfo.InvariantCulture, $"{a},{b},{c},{(side == "left" ? new string('L', 5000) : side)}"));
        (code, output, errors) = Run("train", "--csv", longLabel, "--epochs", "1", "--save", model);
        Assert.Equal(1, code);
        Assert.Contains("is 5000 bytes in UTF-8, more than the 4096 a model file allows", errors);
        Assert.DoesNotContain("epoch", output);

        // More layers than a model file holds: a command-line mistake.
        string data = Blobs("layers.csv", 20);
        (code, output, errors) = Run("train", "--csv", data, "--epochs", "1", "--hidden", string.Join(',', Enumerable.Repeat(1, 40000)), "--dropout", "0.1", "--save", model);
        Assert.Equal(2, code);
        Assert.Contains("the network has 80001 layers; a model file holds at most 65536", errors);
        Assert.False(File.Exists(model));
    }

    [Fact]
    public void Columns_are_matched_by_name_so_swapped_columns_score_the_same()
    {
        string train = Blobs("train.csv", 200), model = Path.Combine(dir, "named.fbpm");
        Assert.Equal(0, Run("train", "--csv", train, "--epochs", "30", "--save", model).Code);
        Assert.Equal(["a", "b", "c"], ModelFile.Load<float>(model).FeatureNames!);

        string swapped = Blobs("swapped.csv", 200, "b,a,side,c", (a, b, c, side) => string.Create(CultureInfo.InvariantCulture, $"{b:0.###},{a:0.###},{side},{c:0.###}"));
        var (code, output, _) = Run("evaluate", "--model", model, "--csv", swapped, "--target", "side");
        Assert.Equal(0, code);
        Assert.Contains("accuracy: 100.00% (200/200)", output);

        string features = Blobs("features.csv", 6, "c,b,a", (a, b, c, _) => string.Create(CultureInfo.InvariantCulture, $"{c:0.###},{b:0.###},{a:0.###}"));
        string inOrder = Blobs("in-order.csv", 6, "a,b,c", (a, b, c, _) => string.Create(CultureInfo.InvariantCulture, $"{a:0.###},{b:0.###},{c:0.###}"));
        (code, output, _) = Run("predict", "--model", model, "--csv", features);
        Assert.Equal(0, code);
        Assert.Equal(Run("predict", "--model", model, "--csv", inOrder).Output, output);
        Assert.StartsWith("right,", output);

        // A missing column, an unknown column, the target column left in, a repeated header name: errors naming the column.
        string missing = Blobs("missing.csv", 4, "a,b", (a, b, _, _) => $"{a},{b}");
        (code, _, string errors) = Run("predict", "--model", model, "--csv", missing);
        Assert.Equal(1, code);
        Assert.Contains("missing.csv has no column 'c', which the model takes as a feature (its features: 'a', 'b', 'c')", errors);
        string extra = Blobs("extra.csv", 4, "a,b,c,d", (a, b, c, _) => $"{a},{b},{c},1");
        (code, _, errors) = Run("predict", "--model", model, "--csv", extra);
        Assert.Equal(1, code);
        Assert.Contains("extra.csv has a column 'd' that is not one of the model's features ('a', 'b', 'c')", errors);
        string labelled = Blobs("labelled.csv", 4, "a,b,c,side", (a, b, c, _) => $"{a},{b},{c},1");
        (code, _, errors) = Run("predict", "--model", model, "--csv", labelled);
        Assert.Equal(1, code);
        Assert.Contains("a column 'side' that is not one of the model's features ('a', 'b', 'c') (if it is the target column, drop it with --target)", errors);
        Assert.Equal(0, Run("predict", "--model", model, "--csv", swapped, "--target", "side").Code);
        string twice = Blobs("twice.csv", 4, "a,b,a", (a, b, c, _) => $"{a},{b},{c}");
        (code, _, errors) = Run("predict", "--model", model, "--csv", twice);
        Assert.Equal(1, code);
        // The loader refuses a repeated column name before any matching.
        Assert.Contains("twice.csv", errors);
        Assert.Contains("columns 1 and 3 are both named 'a'", errors);
    }

    [Fact]
    public void Without_names_on_one_side_columns_are_matched_by_position_and_a_note_says_so()
    {
        string train = Blobs("train.csv", 100), model = Path.Combine(dir, "named.fbpm");
        Assert.Equal(0, Run("train", "--csv", train, "--epochs", "5", "--save", model).Code);
        string bare = Blobs("bare.csv", 4, "", (a, b, c, _) => string.Create(CultureInfo.InvariantCulture, $"{a:0.###},{b:0.###},{c:0.###}"));
        var (code, _, errors) = Run("predict", "--model", model, "--csv", bare);
        Assert.Equal(0, code);
        Assert.Contains("note: bare.csv: columns matched to the model's inputs by position, as the file has no header row", errors);

        string unnamed = Path.Combine(dir, "unnamed.fbpm");
        Model<float> named = ModelFile.Load<float>(model);
        ModelFile.Save(unnamed, new Model<float>(named.Network, named.InputStandardization, named.ClassLabels, named.Loss));
        string header = Blobs("header.csv", 4, "a,b,c", (a, b, c, _) => string.Create(CultureInfo.InvariantCulture, $"{a:0.###},{b:0.###},{c:0.###}"));
        (code, _, errors) = Run("predict", "--model", unnamed, "--csv", header);
        Assert.Equal(0, code);
        Assert.Contains("note: header.csv: columns matched to the model's inputs by position, as the model holds no feature names", errors);
    }

    [Fact]
    public void An_imported_softmax_network_predicts_classes_and_can_be_given_names()
    {
        var net = new Network<float>(2, [new LayerSpec(4, Activation.ReLU), new LayerSpec(3, Activation.Softmax)], seed: 2);
        string onnx = Path.Combine(dir, "torch.onnx"), imported = Path.Combine(dir, "imported.fbpm"), named = Path.Combine(dir, "named.fbpm");
        OnnxModel.Export(new Model<float>(net), onnx);   // what PyTorch writes: no labels in the metadata
        var (code, output, _) = Run("import", onnx, imported);
        Assert.Equal(0, code);
        Assert.Contains("imported 2-4-3 (", output);
        Assert.Contains(", 3 classes", output);
        string rows = Blobs("rows.csv", 2, "", (a, b, _, _) => string.Create(CultureInfo.InvariantCulture, $"{a:0.###},{b:0.###}"));
        Assert.Matches(@"^[012],[01]\.[0-9]{4}\n[012],[01]\.[0-9]{4}\n$", Run("predict", "--model", imported, "--csv", rows).Output);

        Assert.Equal(0, Run("import", onnx, named, "--labels", "cat,dog,emu").Code);
        Assert.Equal(["cat", "dog", "emu"], ModelFile.Load<float>(named).ClassLabels!);
        string errors;
        (code, _, errors) = Run("import", onnx, named, "--labels", "cat,dog");
        Assert.Equal(2, code);
        Assert.Contains("--labels cat,dog: classLabels has 2 names but the network's 3 output unit(s) give 3 classes.", errors);
        (code, _, errors) = Run("import", onnx, named, "--labels", "cat,cat,emu");
        Assert.Equal(2, code);
        Assert.Contains("class label 1 is 'cat', the same as class label 0", errors);
    }
}
