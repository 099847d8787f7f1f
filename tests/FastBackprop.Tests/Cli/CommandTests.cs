using System.Globalization;
using System.Text;
using FastBackprop.Cli;

namespace FastBackprop.Tests.Cli;

/// <summary>The commands end to end, in-process, on tiny data (each run well under a second).</summary>
public sealed class CommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fbp-cli-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Output) Run(params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        int code = FastBackprop.Cli.Program.Run(args, output, interactive: false, System.Diagnostics.Stopwatch.GetTimestamp(), CancellationToken.None);
        return (code, output.ToString());
    }

    /// <summary>Two well-separated blobs in 3 features, labelled "left"/"right", with a header.</summary>
    private string WriteBlobs(string name, int rows, bool withLabel = true)
    {
        var rng = new Random(3);
        var text = new StringBuilder(withLabel ? "a,b,c,side\n" : "a,b,c\n");
        for (int i = 0; i < rows; i++)
        {
            bool right = i % 2 == 0;
            double c = right ? 5 : -5;
            text.Append(CultureInfo.InvariantCulture, $"{c + rng.NextDouble():0.###},{c + rng.NextDouble():0.###},{rng.NextDouble() * 100:0.###}");
            text.Append(withLabel ? (right ? ",right\n" : ",left\n") : "\n");
        }
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text.ToString());
        return path;
    }

    [Theory]
    [InlineData(999, 2, 2)]
    [InlineData(2, 2, 2)]
    [InlineData(1, 16, 1)]
    [InlineData(3, 1, 1)]
    public void ThreadsNeverExceedTheProcessors(int requested, int processors, int used)
        => Assert.Equal(used, TrainCommand.EffectiveThreads(requested, processors));

    /// <summary>Calls <paramref name="onRow"/> with the epoch number of every table row the command prints.</summary>
    private sealed class RowWatcher(Action<int> onRow) : StringWriter(CultureInfo.InvariantCulture)
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            string[] cells = (value ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cells.Length >= 6 && int.TryParse(cells[0], CultureInfo.InvariantCulture, out int epoch) && cells[1].Contains('.'))
                onRow(epoch);
        }
    }

    [Theory]
    [InlineData("0.1", "best validation loss")]
    [InlineData("0", "last complete epoch")]
    public void AnInterruptSavesTheKeptWeights(string validationFraction, string which)
    {
        string blobs = WriteBlobs("interrupt.csv", 200), model = Path.Combine(dir, "interrupted.fbpm");
        using var interrupt = new CancellationTokenSource();
        var output = new RowWatcher(epoch => { if (epoch == 2) interrupt.Cancel(); });
        int code = FastBackprop.Cli.Program.Run(["train", "--csv", blobs, "--epochs", "50", "--batch", "8", "--validation-fraction", validationFraction, "--save", model],
            output, interactive: false, System.Diagnostics.Stopwatch.GetTimestamp(), interrupt.Token);
        Assert.Equal(FastBackprop.Cli.Program.ExitInterrupted, code);
        Assert.Matches($"interrupted after [23] complete epoch\\(s\\); saved the weights of epoch [0-9]+ \\({which}\\) to ", output.ToString());
        Assert.Equal(3, ModelFile.Load<float>(model).InputSize);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));
    }

    [Fact]
    public void CheckpointsAreSavedWhileTraining()
    {
        string blobs = WriteBlobs("checkpoint.csv", 100), model = Path.Combine(dir, "checkpoint.fbpm");
        var seen = new List<(int Epoch, bool Exists)>();
        var output = new RowWatcher(epoch => seen.Add((epoch, File.Exists(model))));
        int code = FastBackprop.Cli.Program.Run(["train", "--csv", blobs, "--epochs", "4", "--checkpoint", "2", "--save", model],
            output, interactive: false, System.Diagnostics.Stopwatch.GetTimestamp(), CancellationToken.None);
        Assert.Equal(FastBackprop.Cli.Program.ExitOk, code);
        // Rows are printed before the epoch's checkpoint: none exists at epochs 1-2, the epoch-2 checkpoint by epoch 3.
        Assert.Equal([(1, false), (2, false), (3, true), (4, true)], seen);
        Assert.Equal(FastBackprop.Cli.Program.ExitUsage, Run("train", "--csv", blobs, "--checkpoint", "2").Code);
    }

    [Fact]
    public void TrainingThatWouldNotFitInMemoryFailsBeforeAllocating()
    {
        string blobs = WriteBlobs("memory.csv", 20);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var stderr = new StringWriter();
        TextWriter saved = Console.Error;
        Console.SetError(stderr);
        int code;
        try
        {
            code = Run("train", "--csv", blobs, "--hidden", "65536,65536").Code;
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.Equal(FastBackprop.Cli.Program.ExitUsage, code);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20);
        Assert.Matches("training would need about 64.[0-9] GiB \\(4,295,[0-9,]+ parameters", stderr.ToString());
        Assert.Contains("--limit memory=N", stderr.ToString());
        var plan = MemoryPlan.For([784, 512, 256, 10], 128, optimizerSlots: 2, parameterCopies: 1, dataValues: 1000);
        Assert.Equal(535_818, plan.Parameters);
        Assert.Equal(4L * 535_818 * 3, plan.ParameterBytes);
        Assert.Equal(4L * 535_818 * 2, plan.StateBytes);
        Assert.Equal(4000, plan.DataBytes);
    }

    [Fact]
    public void LimitsComeFromTheCommandLine()
    {
        string blobs = WriteBlobs("limits.csv", 40);
        Assert.Equal(FastBackprop.Cli.Program.ExitFailure, Run("train", "--csv", blobs, "--epochs", "1", "--limit", "line=10").Code);
        Assert.Equal(FastBackprop.Cli.Program.ExitFailure, Run("train", "--csv", blobs, "--epochs", "1", "--limit", "values=50").Code);
        Assert.Equal(FastBackprop.Cli.Program.ExitOk, Run("train", "--csv", blobs, "--epochs", "1", "--limit", "line=1K, cells=4,values=1M,classes=2,bytes=1G").Code);
        Assert.Equal(FastBackprop.Cli.Program.ExitUsage, Run("train", "--csv", blobs, "--limit", "classes=1").Code);
        Assert.Equal(FastBackprop.Cli.Program.ExitUsage, Run("train", "--csv", blobs, "--limit", "rows=5").Code);
        Assert.Equal(FastBackprop.Cli.Program.ExitUsage, Run("train", "--csv", blobs, "--limit", "line=5X").Code);
        Assert.Equal(FastBackprop.Cli.Program.ExitUsage, Run("train", "--csv", blobs, "--limit", "line").Code);
        var (data, memory) = LimitArgs.Parse(ParsedArgs.Parse("train", ["--limit", "line=2K,bytes=3G,memory=5M"], TrainSettings.Specs));
        Assert.Equal(2048, data.MaxRecordCharacters);
        Assert.Equal(3L << 30, data.MaxBytes);
        Assert.Equal(5L << 20, memory);
        Assert.Equal(DataLimits.Default.MaxClasses, data.MaxClasses);
    }

    [Fact]
    public void AnUnwritableSaveFolderFailsBeforeTraining()
    {
        TrainCommand.CheckWritable(Path.Combine(dir, "model.fbpm"), "--save");
        Assert.Empty(Directory.GetFiles(dir, ".fastbackprop-write-check-*"));
        if (!OperatingSystem.IsLinux())
            return;
        var e = Assert.Throws<UsageException>(() => TrainCommand.CheckWritable("/proc/model.fbpm", "--save"));
        Assert.StartsWith("--save /proc/model.fbpm: cannot write in /proc", e.Message);
    }

    [Fact]
    public void ErrorMessagesEscapeControlCharacters()
    {
        Assert.Equal("bad value 'a\\u001B[2Jb\\u0007c\\u009Bd'", FastBackprop.Cli.Program.Printable("bad value 'a\u001B[2Jb\u0007c\u009Bd'"));
        Assert.Equal("plain ünïcode text", FastBackprop.Cli.Program.Printable("plain ünïcode text"));
    }

    [Fact]
    public void InfoDescribesTheCpuAndTheKernels()
    {
        (int code, string output) = Run("info");
        Assert.Equal(0, code);
        Assert.Contains("CPU: ", output);
        Assert.Contains("caches per core: L1d ", output);
        Assert.Contains("GEMM blocks: KC ", output);
        Assert.Contains(CpuInfo.Describe(KernelConfiguration.Current.InstructionSet), output);
        (code, output) = Run("--version");
        Assert.Equal(0, code);
        Assert.Contains("kernels: ", output);
        Assert.Equal(2, Run("info", "--verbose").Code);
    }

    [Fact]
    public void DefaultCommandTrainsDigitsAndPrintsTheCiLine()
    {
        (int code, string output) = Run("--epochs", "2");
        Assert.Equal(0, code);
        Assert.Matches(@"(?m)^final held-out accuracy: \d+\.\d\d% \(\d+/359\)$", output);
    }

    [Fact]
    public void TrainSaveEvaluatePredictRoundTrip()
    {
        string train = WriteBlobs("train.csv", 80), test = WriteBlobs("test.csv", 20), features = WriteBlobs("features.csv", 6, withLabel: false);
        string model = Path.Combine(dir, "blobs.fbpm"), plot = Path.Combine(dir, "loss.svg"), predictions = Path.Combine(dir, "out.csv");

        (int code, string output) = Run("train", "--csv", train, "--target", "side", "--test-csv", test, "--hidden", "8",
            "--epochs", "20", "--lr", "0.01", "--save", model, "--plot", plot);
        Assert.True(code == 0, output);
        Assert.Contains("final held-out accuracy: 100.00% (20/20)", output);
        Assert.True(File.Exists(model));
        System.Xml.Linq.XDocument.Load(plot);

        (code, output) = Run("evaluate", "--model", model, "--csv", test);
        Assert.True(code == 0, output);
        Assert.Contains("accuracy: 100.00% (20/20)", output);
        Assert.Contains("confusion matrix", output);

        (code, output) = Run("predict", "--model", model, "--csv", features, "--output", predictions);
        Assert.True(code == 0, output);
        string[] lines = File.ReadAllLines(predictions);
        Assert.Equal(6, lines.Length);
        for (int i = 0; i < lines.Length; i++)
            Assert.Matches(i % 2 == 0 ? @"^right,\d\.\d{4}$" : @"^left,\d\.\d{4}$", lines[i]);

        (code, output) = Run("predict", "--model", model, "--csv", test, "--target", "side");
        Assert.Equal(0, code);
        Assert.Equal(20, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void RegressionTrainsAndPredictsValues()
    {
        string path = Path.Combine(dir, "line.csv");
        File.WriteAllLines(path, Enumerable.Range(0, 50).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i / 10.0},{2 * i / 10.0 + 1}")));
        string model = Path.Combine(dir, "line.fbpm");
        (int code, string output) = Run("train", "--csv", path, "--regression", "--hidden", "8", "--epochs", "5", "--save", model);
        Assert.True(code == 0, output);
        Assert.Contains("final held-out MSE:", output);
        (code, output) = Run("predict", "--model", model, "--csv", path, "--target", "-1");
        Assert.Equal(0, code);
        Assert.All(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => double.Parse(line, CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData(2, "--bogus")]
    [InlineData(2, "frobnicate")]
    [InlineData(2, "evaluate", "--csv", "x.csv")]
    [InlineData(2, "predict", "--model", "no-such.fbpm", "--csv", "no-such.csv")]
    [InlineData(2, "train", "--epochs", "ten")]
    public void UsageErrorsExitWith2(int expected, params string[] args) => Assert.Equal(expected, Run(args).Code);

    [Fact]
    public void CorruptModelAndMalformedDataExitWith1()
    {
        string model = Path.Combine(dir, "corrupt.fbpm");
        File.WriteAllText(model, "FBPMODEL but not really a model");
        string data = WriteBlobs("ok.csv", 10);
        Assert.Equal(1, Run("evaluate", "--model", model, "--csv", data).Code);

        string bad = Path.Combine(dir, "bad.csv");
        File.WriteAllText(bad, "1,2,x\n3,oops,y\n");
        Assert.Equal(1, Run("train", "--csv", bad, "--epochs", "1").Code);
    }

    [Fact]
    public void HelpAndVersion()
    {
        foreach (string[] args in new[] { ["--help"], ["train", "--help"], ["evaluate", "--help"], ["predict", "-h"], ["help", "train"], new[] { "--version" } })
        {
            (int code, string output) = Run(args);
            Assert.Equal(0, code);
            Assert.Contains("fastbackprop-cli", output);
        }
    }
}
