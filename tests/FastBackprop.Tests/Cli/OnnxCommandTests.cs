using System.Globalization;
using FastBackprop.Cli;

namespace FastBackprop.Tests.Cli;

/// <summary><c>export</c> and <c>import</c> end to end, in-process: a model goes to ONNX and back to a model file that
/// predicts bit-identically; bad arguments are usage errors (2), bad ONNX files data errors (1).</summary>
public sealed class OnnxCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fbp-onnx-cli-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Output) Run(params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        using var noSignal = new Interruption();
        int code = FastBackprop.Cli.Program.Run(args, output, interactive: false, System.Diagnostics.Stopwatch.GetTimestamp(), noSignal);
        return (code, output.ToString());
    }

    [Fact]
    public void ExportThenImportGivesAModelThatPredictsTheSame()
    {
        var net = new Network<float>(3, [new(5, Activation.ReLU), new(2, Activation.Softmax)], seed: 4);
        var model = new Model<float>(net, Standardizer<float>.Fit([1, 2, 3, 4, 5, 7, -1, 0, 9], 3), ["left", "right"], Loss.SoftmaxCrossEntropy);
        string fbpm = Path.Combine(dir, "m.fbpm"), onnx = Path.Combine(dir, "m.onnx"), back = Path.Combine(dir, "back.fbpm");
        ModelFile.Save(fbpm, model);

        var (code, output) = Run("export", fbpm, onnx);
        Assert.Equal(0, code);
        Assert.Contains("exported 3-5-2", output);
        (code, output) = Run("import", onnx, back);
        Assert.Equal(0, code);
        Assert.Contains("imported 3-5-2", output);

        Model<float> reloaded = ModelFile.Load<float>(back);
        float[] x = [0.3f, 8, -2], want = new float[2], got = new float[2];
        model.Predict(x, 1, want);
        reloaded.Predict(x, 1, got);
        Assert.Equal(want, got);
        Assert.Equal(["left", "right"], reloaded.ClassLabels!);
    }

    [Fact]
    public void BadArgumentsAndFilesAreReported()
    {
        Assert.Equal(2, Run("export", "only-one.fbpm").Code);
        Assert.Equal(2, Run("import", Path.Combine(dir, "missing.onnx"), Path.Combine(dir, "x.fbpm")).Code);
        string junk = Path.Combine(dir, "junk.onnx");
        File.WriteAllBytes(junk, [0x0B, 1, 2, 3]);
        Assert.Equal(1, Run("import", junk, Path.Combine(dir, "x.fbpm")).Code);
        Assert.False(File.Exists(Path.Combine(dir, "x.fbpm")));
        Assert.Contains("fastbackprop import", Run("help", "import").Output);
    }
}
