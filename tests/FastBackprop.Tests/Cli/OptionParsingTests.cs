using FastBackprop.Cli;

namespace FastBackprop.Tests.Cli;

public class OptionParsingTests
{
    private static TrainSettings Train(params string[] args) => TrainSettings.From(ParsedArgs.Parse(["train", .. args]));

    private static string UsageError(params string[] args)
    {
        string message = Assert.Throws<UsageException>(() => Train(args)).Message;
        Assert.DoesNotContain('\n', message);
        return message;
    }

    [Fact]
    public void NoOptionsMeansDigitsWithItsDefaults()
    {
        TrainSettings s = Train();
        Assert.Equal(ProblemName.Digits, s.Problem);
        Assert.Equal([64], s.Hidden);
        Assert.Equal(30, s.Epochs);
        Assert.Equal(0.2, s.TestFraction);
        Assert.Equal(0.1, s.ValidationFraction);
        Assert.Null(s.Patience);
        Assert.Equal(TrainSettings.DefaultSeed, s.Seed);
    }

    [Fact]
    public void SmallTrainingPartsGetEpochsByStepsAndEarlyStopping()
    {
        string csv = Path.GetTempFileName();
        try
        {
            TrainSettings s = Train("--csv", csv);
            Assert.Equal(20, s.Epochs);
            Assert.False(s.EpochsGiven);
            // iris: 108 training rows = 2 batches of 64 -> 1000 epochs (2000 steps), patience 20.
            TrainSettings iris = s.ForTrainingSize(108, hasValidation: true);
            Assert.Equal((1000, 20, true), (iris.Epochs, iris.Patience, iris.EpochsChosenBySteps));
            // breast_cancer: 409 rows = 7 batches -> 286 epochs; without a validation set no early stopping.
            TrainSettings cancer = s.ForTrainingSize(409, hasValidation: false);
            Assert.Equal((286, (int?)null), (cancer.Epochs, cancer.Patience));
            // A handful of rows: capped at 1000 epochs.
            Assert.Equal(TrainSettings.MaxDefaultEpochs, s.ForTrainingSize(3, true).Epochs);
            // Large sets are unchanged: Fashion-MNIST's 54,000 rows are 844 batches, 20 epochs = 16,880 steps.
            Assert.Same(s, s.ForTrainingSize(54_000, true));
            Assert.Same(s, s.ForTrainingSize(6_400, true));   // exactly 100 batches x 20 epochs = 2000 steps
            Assert.Equal(21, s.ForTrainingSize(6_336, true).Epochs);   // 99 batches
            // Explicit flags win: --epochs is never changed, --patience is kept.
            TrainSettings given = Train("--csv", csv, "--epochs", "20");
            Assert.Same(given, given.ForTrainingSize(108, true));
            Assert.Equal(5, Train("--csv", csv, "--patience", "5").ForTrainingSize(108, true).Patience);
            Assert.Equal(143, Train("--csv", csv, "--batch", "8").ForTrainingSize(108, true).Epochs);   // 14 batches
            // The built-in problems keep their own defaults.
            TrainSettings digits = Train();
            Assert.Same(digits, digits.ForTrainingSize(1294, true));
        }
        finally
        {
            File.Delete(csv);
        }
    }

    [Fact]
    public void GoodOptionsAreRead()
    {
        TrainSettings s = Train("--epochs", "5", "--hidden", "256,128", "--activation", "Leaky-ReLU", "--optimizer", "adamw",
            "--lr=0.01", "--weight-decay", "0.001", "--schedule", "cosine", "--batch", "128", "--seed", "7", "--patience", "3",
            "--threads", "1", "--no-standardize", "--plot", Path.Combine(Path.GetTempPath(), "x.svg"), "--loss", "softmax-ce");
        Assert.Equal(5, s.Epochs);
        Assert.Equal([256, 128], s.Hidden);
        Assert.Equal(ActivationKind.LeakyReLU, s.Activation);
        Assert.Equal(OptimizerName.AdamW, s.Optimizer);
        Assert.Equal(0.01, s.LearningRate);
        Assert.Equal(0.001, s.WeightDecay);
        Assert.Equal(ScheduleName.Cosine, s.Schedule);
        Assert.Equal(128, s.Batch);
        Assert.Equal(7, s.Seed);
        Assert.Equal(3, s.Patience);
        Assert.Equal(1, s.Threads);
        Assert.False(s.Standardize);
        Assert.Equal(LossName.SoftmaxCrossEntropy, s.Loss);
    }

    [Fact]
    public void TwoValueAndCsvOptionsAreRead()
    {
        string a = Path.GetTempFileName(), b = Path.GetTempFileName();
        try
        {
            TrainSettings idx = Train("--idx", a, b, "--test-idx", b, a);
            Assert.Equal([a, b], idx.Idx!);
            Assert.Equal([b, a], idx.TestIdx!);
            Assert.Equal(0, idx.TestFraction);

            TrainSettings csv = Train("--csv", a, "--target", "species", "--separator", "tab", "--header", "yes", "--regression");
            Assert.Equal(a, csv.Csv);
            Assert.Equal("species", csv.CsvOptions!.TargetColumnName);
            Assert.Equal('\t', csv.CsvOptions.Separator);
            Assert.Equal(CsvHeader.Yes, csv.CsvOptions.Header);
            Assert.Equal(CsvTask.Regression, csv.CsvOptions.Task);
            Assert.Equal(-2, Train("--csv", a, "--target", "-2").CsvOptions!.TargetColumn);
        }
        finally
        {
            File.Delete(a);
            File.Delete(b);
        }
    }

    [Theory]
    [InlineData("Unrecognized command or argument '--epoch' for 'train'", "--epoch", "5")]
    [InlineData("did you mean --epochs?", "--epoch", "5")]
    [InlineData("invalid value for --epochs: 'abc'", "--epochs", "abc")]
    [InlineData("--epochs must be between 1", "--epochs", "0")]
    [InlineData("--lr must be greater than 0", "--lr", "-1")]
    [InlineData("invalid value for --lr: 'NaN'", "--lr", "NaN")]
    [InlineData("invalid value for --hidden", "--hidden", "12,,3")]
    [InlineData("invalid value for --optimizer: 'rmsprop'", "--optimizer", "rmsprop")]
    [InlineData("option --epochs needs a value", "--epochs")]
    [InlineData("option --epochs needs a value", "--epochs", "--lr", "0.1")]
    [InlineData("option --idx needs 2 values, got 1", "--idx", "only-one")]
    [InlineData("option --epochs is given more than once", "--epochs", "1", "--epochs", "2")]
    [InlineData("Unrecognized command or argument 'stray' for 'train'", "stray")]
    [InlineData("file not found: 'no-such-file.csv'", "--csv", "no-such-file.csv")]
    [InlineData("cannot be used together", "--problem", "xor", "--idx", "a", "b")]
    [InlineData("--patience (early stopping) needs a validation set", "--patience", "3", "--validation-fraction", "0")]
    [InlineData("must end in .svg", "--plot", "loss.png")]
    [InlineData("option --target needs --csv", "--target", "label")]
    [InlineData("option --test-idx needs --idx", "--test-idx", "a", "b")]
    [InlineData("option --no-standardize takes no value", "--no-standardize=yes")]
    public void BadOptionsAreUsageErrorsNamingTheProblem(string expected, params string[] args)
        => Assert.Contains(expected, UsageError(args));

    [Fact]
    public void SeparatorNamesAndCharacters()
    {
        Assert.Equal(';', CsvArgs.ParseSeparator("semicolon"));
        Assert.Equal('|', CsvArgs.ParseSeparator("|"));
        Assert.Equal(',', CsvArgs.ParseSeparator(null));
        Assert.Throws<UsageException>(() => CsvArgs.ParseSeparator("ab"));
        Assert.Throws<UsageException>(() => CsvArgs.ParseSeparator(" "));
    }
}
