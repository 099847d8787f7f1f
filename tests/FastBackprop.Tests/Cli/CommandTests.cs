using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using FastBackprop.Cli;
using FastBackprop.Hardware;

namespace FastBackprop.Tests.Cli;

/// <summary>The commands end to end, in-process, on tiny data (each run well under a second).</summary>
[Collection(nameof(ConsoleStreams))]
public sealed class CommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fbp-cli-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Output) Run(params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        using var noSignal = new Interruption();
        int code = FastBackprop.Cli.Program.Run(args, output, interactive: false, System.Diagnostics.Stopwatch.GetTimestamp(), noSignal);
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
    [InlineData("0.1", "best validation loss", PosixSignal.SIGINT, 130)]
    [InlineData("0", "last complete epoch", PosixSignal.SIGTERM, 143)]
    public void AnInterruptSavesTheKeptWeights(string validationFraction, string which, PosixSignal signal, int exitCode)
    {
        string blobs = WriteBlobs("interrupt.csv", 200), model = Path.Combine(dir, "interrupted.fbpm");
        using var interrupt = new Interruption();
        var output = new RowWatcher(epoch => { if (epoch == 2) interrupt.Request(signal); });
        int code = FastBackprop.Cli.Program.Run(["train", "--csv", blobs, "--epochs", "50", "--batch", "8", "--validation-fraction", validationFraction, "--save", model],
            output, interactive: false, System.Diagnostics.Stopwatch.GetTimestamp(), interrupt);
        Assert.Equal(exitCode, code);
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
        using var noSignal = new Interruption();
        int code = FastBackprop.Cli.Program.Run(["train", "--csv", blobs, "--epochs", "4", "--checkpoint", "2", "--save", model],
            output, interactive: false, System.Diagnostics.Stopwatch.GetTimestamp(), noSignal);
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
        Assert.Matches("training would need about [0-9.]+ GiB \\(4,295,[0-9,]+ parameters", stderr.ToString());
        Assert.Contains("--limit memory=N", stderr.ToString());
        var plan = MemoryPlan.For([784, 512, 256, 10], 128, optimizerSlots: 2, parameterCopies: 1, dataBytes: 4000);
        Assert.Equal(535_818, plan.Parameters);
        Assert.Equal(4L * 535_818 * 3, plan.ParameterBytes);
        Assert.Equal(4L * 535_818 * 2, plan.StateBytes);
        Assert.Equal(4000, plan.DataBytes);
        var withDropout = MemoryPlan.For([784, 512, 256, 10], 128, optimizerSlots: 2, parameterCopies: 1, dataBytes: 4000, dropoutUnits: 768);
        Assert.Equal(4L * 128 * 3 * 768, withDropout.WorkspaceBytes - plan.WorkspaceBytes);
    }

    [Fact]
    public void ClassesApproachingTheRowsAreWarnedAbout()
    {
        float[] features = new float[40];
        var many = new Dataset<float>(features, 1, [.. Enumerable.Range(0, 40).Select(i => i % 10)], 10);
        Assert.Matches("x.csv: 10 classes for 40 rows \\(4 per class on average\\)", TrainData.FewRowsPerClass(many, "x.csv"));
        var enough = new Dataset<float>(new float[50], 1, [.. Enumerable.Range(0, 50).Select(i => i % 10)], 10);
        Assert.Null(TrainData.FewRowsPerClass(enough, "x.csv"));
        Assert.Null(TrainData.FewRowsPerClass(new Dataset<float>(features, 1, features, 1), "x.csv"));
    }

    [Fact]
    public void DropoutGoesAfterEveryHiddenLayerAndIntoTheModel()
    {
        string blobs = WriteBlobs("dropout.csv", 60), model = Path.Combine(dir, "dropout.fbpm");
        var (code, output) = Run("train", "--csv", blobs, "--epochs", "3", "--hidden", "8,6", "--dropout", "0.3", "--save", model);
        Assert.Equal(FastBackprop.Cli.Program.ExitOk, code);
        Assert.Contains("network:  3-8-6-2 (ReLU hidden with dropout 0.3,", output);
        Network<float> network = ModelFile.Load<float>(model).Network;
        Assert.Equal([LayerKind.Dense, LayerKind.Dropout, LayerKind.Dense, LayerKind.Dropout, LayerKind.Dense],
            Enumerable.Range(0, network.LayerCount).Select(l => network.Layer(l).Kind));
        Assert.Equal(0.3, network.Layer(3).Rate);
        Assert.Equal(FastBackprop.Cli.Program.ExitUsage, Run("train", "--csv", blobs, "--dropout", "1").Code);
        Assert.Equal(FastBackprop.Cli.Program.ExitUsage, Run("train", "--csv", blobs, "--dropout", "0").Code);
    }

    [Fact]
    public void LayerNormGoesAfterEveryHiddenActivationBeforeItsDropoutAndIntoTheModel()
    {
        string blobs = WriteBlobs("layernorm.csv", 60), model = Path.Combine(dir, "layernorm.fbpm");
        var (code, output) = Run("train", "--csv", blobs, "--epochs", "3", "--hidden", "8,6", "--layer-norm", "--dropout", "0.2", "--save", model);
        Assert.Equal(FastBackprop.Cli.Program.ExitOk, code);
        Assert.Contains("network:  3-8-6-2 (ReLU hidden with layer norm with dropout 0.2,", output);
        // 3·8 + 8 + 2·8, 8·6 + 6 + 2·6, 6·2 + 2.
        Assert.Contains("network:  3-8-6-2 (ReLU hidden with layer norm with dropout 0.2, Softmax output), 128 parameters", output);
        Network<float> network = ModelFile.Load<float>(model).Network;
        Assert.Equal([LayerKind.Dense, LayerKind.LayerNorm, LayerKind.Dropout, LayerKind.Dense, LayerKind.LayerNorm, LayerKind.Dropout, LayerKind.Dense],
            Enumerable.Range(0, network.LayerCount).Select(l => network.Layer(l).Kind));
        Assert.Equal(1e-5, network.Layer(4).Epsilon);
        Assert.NotEqual(Enumerable.Repeat(1f, 8), network.Weights(1).ToArray());   // γ was trained
        (code, output) = Run("info", "--model", model);
        Assert.Equal(FastBackprop.Cli.Program.ExitOk, code);
        Assert.Contains("layer 1: layer norm, epsilon 1E-05 (8 wide, a learned scale and shift per feature)", output);
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
        var (data, memory) = LimitArgs.Parse(ParsedArgs.Parse(["train", "--limit", "line=2K,bytes=3G,memory=5M"]));
        Assert.Equal(2048, data.MaxRecordCharacters);
        Assert.Equal(3L << 30, data.MaxBytes);
        Assert.Equal(5L << 20, memory);
        Assert.Equal(DataLimits.Default.MaxClasses, data.MaxClasses);
    }

    [Fact]
    public void AnUnwritableSaveFolderFailsBeforeTraining()
    {
        FileArgs.CheckOutput("--save", Path.Combine(dir, "model.fbpm"));
        Assert.Empty(Directory.GetFiles(dir, ".fastbackprop-write-check-*"));
        if (!OperatingSystem.IsLinux())
            return;
        var e = Assert.Throws<UsageException>(() => FileArgs.CheckOutput("--save", "/proc/model.fbpm"));
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

        // --outputs: every class's probability (the model's class order), exactly as Model.Predict gives it.
        (code, output) = Run("predict", "--model", model, "--csv", features, "--outputs");
        Assert.Equal(0, code);
        Model<float> saved = ModelFile.Load<float>(model);
        var probabilities = new float[6 * saved.OutputSize];
        saved.Predict(CsvLoader.LoadFeatures(features).Features, 6, probabilities);
        string[] rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, rows.Length);
        for (int i = 0; i < rows.Length; i++)
            Assert.Equal(probabilities.Skip(i * saved.OutputSize).Take(saved.OutputSize).ToArray(), rows[i].Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray());
    }

    [Fact]
    public void SmallFilesTrainEnoughStepsByDefault()
    {
        string train = WriteBlobs("small.csv", 60);
        (int code, string output) = Run("train", "--csv", train, "--target", "side");
        Assert.True(code == 0, output);
        // 60 rows: 48 training, 43 after validation = 1 batch of 64 -> 1000 epochs, stopped early by patience 20.
        Assert.Contains("batch 64, 1000 epochs (at least 2000 steps for a small training part), early stopping after 20 epochs without improvement", output);
        Assert.Contains("final held-out accuracy: 100.00% (12/12)", output);
        (code, output) = Run("train", "--csv", train, "--target", "side", "--epochs", "3");
        Assert.True(code == 0, output);
        Assert.Contains("batch 64, 3 epochs, seed", output);
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

    /// <summary>y = 200 + 40·a − 25·b + small noise: targets far from 0 with a spread of about 50, as in scikit-learn's diabetes data.</summary>
    private string WriteLinear(string name, int rows, int seed)
    {
        var rng = new Random(seed);
        var text = new StringBuilder("a,b,y\n");
        for (int i = 0; i < rows; i++)
        {
            double a = rng.NextDouble() * 2 - 1, b = rng.NextDouble() * 2 - 1;
            text.Append(CultureInfo.InvariantCulture, $"{a:0.####},{b:0.####},{200 + 40 * a - 25 * b + rng.NextDouble():0.###}\n");
        }
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text.ToString());
        return path;
    }

    [Fact]
    public void RegressionStandardisesTargetsAndReportsErrorsInTheTargetsUnits()
    {
        string train = WriteLinear("lin-train.csv", 300, 1), test = WriteLinear("lin-test.csv", 60, 2), model = Path.Combine(dir, "lin.fbpm");
        (int code, string output) = Run("train", "--csv", train, "--test-csv", test, "--regression", "--hidden", "16", "--epochs", "100", "--lr", "0.01", "--save", model);
        Assert.True(code == 0, output);
        Assert.Contains("features and targets standardised", output);
        Assert.Contains("loss ½·mean squared error of the standardised targets", output);
        // One figure per name: no "loss" line beside the MSE.
        Assert.DoesNotContain("held-out loss", output);
        Match final = Regex.Match(output, @"(?m)^final held-out MSE: (\S+) \(RMSE (\S+), MAE (\S+), R² (\S+), max \|error\| (\S+); in the target's units\) on 60 samples$");
        Assert.True(final.Success, output);
        double mse = double.Parse(final.Groups[1].Value, CultureInfo.InvariantCulture), r2 = double.Parse(final.Groups[4].Value, CultureInfo.InvariantCulture);
        Assert.InRange(r2, 0.97, 1);
        Assert.InRange(mse, 0, 10);

        Model<float> loaded = ModelFile.Load<float>(model);
        Assert.NotNull(loaded.TargetStandardization);
        Assert.InRange(loaded.TargetStandardization!.Mean[0], 190f, 210f);

        (code, string evaluated) = Run("evaluate", "--model", model, "--csv", test);
        Assert.True(code == 0, evaluated);
        Assert.DoesNotContain("loss:", evaluated);
        Assert.Contains("standardised targets", evaluated);
        Assert.Matches(@"(?m)^MSE: +" + Regex.Escape(final.Groups[1].Value) + "$", evaluated);
        Assert.Matches(@"(?m)^MAE: +" + Regex.Escape(final.Groups[3].Value) + "$", evaluated);
        Assert.Matches(@"(?m)^R²: +" + Regex.Escape(final.Groups[4].Value) + "$", evaluated);

        (code, output) = Run("predict", "--model", model, "--csv", test, "--target", "y");
        Assert.Equal(0, code);
        double[] predicted = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        double[] actual = File.ReadAllLines(test).Skip(1).Select(l => double.Parse(l.Split(',')[2], CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(60, predicted.Length);
        Assert.InRange(predicted.Zip(actual, (p, t) => (p - t) * (p - t)).Average(), 0, 10);
    }

    [Fact]
    public void RSquaredAndLossNamesFollowScikitLearnAndMath()
    {
        Assert.Equal(0.75, Evaluation.RSquared([1.0], [4.0]), 12);
        Assert.Equal(0.5, Evaluation.RSquared([1.0, 0.0], [4.0, 0.0]) - 0.375, 12);   // (0.75 + 1)/2 = 0.875
        Assert.Equal(0, Evaluation.RSquared([2.0], [0.0]));                            // constant target, not predicted: 0
        Assert.Equal("½·mean squared error", Evaluation.Describe(Loss.MeanSquaredError));
        var result = new EvaluationResult(1.5, 0, 10, null, 3.0, 4, 1, 0.5);
        Assert.Null(result.LossLine("loss: ", Loss.MeanSquaredError));
        Assert.Equal("loss: 1.500000 (binary cross-entropy)", result.LossLine("loss: ", Loss.BinaryCrossEntropy));
    }

    private string WriteNumericTarget(string name, int rows, Func<int, string> target)
    {
        var text = new StringBuilder("x,y\n");
        for (int i = 0; i < rows; i++)
            text.Append(CultureInfo.InvariantCulture, $"{i % 17},{target(i)}\n");
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, text.ToString());
        return path;
    }

    [Fact]
    public void ANumericTargetWithManyValuesNeedsRegressionOrClassification()
    {
        // 150 distinct whole numbers in 300 rows: a regression target, refused as classes with a usage error (exit 2).
        string many = WriteNumericTarget("many.csv", 300, i => (25 + i / 2).ToString(CultureInfo.InvariantCulture));
        Assert.Equal(2, Run("train", "--csv", many, "--epochs", "1").Code);
        Assert.Equal(0, Run("train", "--csv", many, "--epochs", "1", "--regression").Code);
        Assert.Equal(0, Run("train", "--csv", many, "--epochs", "1", "--classification", "--test-fraction", "0").Code);
        Assert.Equal(2, Run("train", "--csv", many, "--regression", "--classification").Code);

        static Dataset<float> Labels(int rows, params string[] labels)
            => new(new float[rows], 1, Enumerable.Range(0, rows).Select(i => i % labels.Length).ToArray(), labels.Length, labels);
        string[] Numbers(int n, double step) => Enumerable.Range(0, n).Select(i => (i * step).ToString(CultureInfo.InvariantCulture)).ToArray();
        string? why = TrainData.LooksLikeRegression(Labels(442, Numbers(214, 1)));
        Assert.Equal("holds numbers with 214 distinct values in 442 rows, which looks like a regression target rather than 214 classes", why);
        Assert.Contains("not all whole", TrainData.LooksLikeRegression(Labels(10_000, Numbers(12, 0.5))));
        Assert.Null(TrainData.LooksLikeRegression(Labels(150, "0", "1", "2")));              // iris coded 0-2
        Assert.Null(TrainData.LooksLikeRegression(Labels(60_000, Numbers(100, 1))));         // 100 integer classes, 600 rows each
        Assert.Null(TrainData.LooksLikeRegression(Labels(40, Numbers(10, 0.5))));            // at most 10 values: classes
        Assert.Null(TrainData.LooksLikeRegression(Labels(30, [.. Numbers(20, 1), "x"])));    // not all numbers
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
            Assert.Contains("fastbackprop ", output);
            Assert.DoesNotContain("fastbackprop-cli", output);
        }
    }
}
