namespace FastBackprop.Tests.Training;

/// <summary>Bad options and data that do not fit the network are rejected with the argument's name and the numbers, before
/// anything is trained: the network's parameters are compared bit for bit before and after.</summary>
public class TrainerBadInputTests
{
    private sealed class Fixture
    {
        public Network<float> Softmax3 { get; } = new(2, [new(4, Activation.Tanh), new(3, Activation.Softmax)], seed: 1);
        public Network<float> Sigmoid1 { get; } = new(2, [new(4, Activation.Tanh), new(1, Activation.Sigmoid)], seed: 2);
        public Network<float> Linear2 { get; } = new(2, [new(4, Activation.Tanh), new(2, Activation.Identity)], seed: 3);
        public Network<float> Stepper { get; } = new(2, [new(4, Activation.Step), new(3, Activation.Softmax)], seed: 4);
        public Dataset<float> Classes3 { get; } = TrainingData.Blobs(3, 4, seed: 1);
        public Dataset<float> Classes2 { get; } = TrainingData.Blobs(2, 4, seed: 2);
        public Dataset<float> ThreeFeatures { get; } = new(new float[12], 3, [0, 1, 2, 0], 3);
        public Dataset<float> Targets2 { get; } = new(new float[8], 2, new float[8], 2);
        public Dataset<float> Targets1 { get; } = new(new float[8], 2, [0, 1, 0.5f, 1.5f], 1);
        public TrainerOptions Options { get; } = new() { Epochs = 2, BatchSize = 4 };

        public Network<float>[] Networks => [Softmax3, Sigmoid1, Linear2, Stepper];
    }

    private sealed record Case(Type Exception, string? Param, string[] Mentions, Action<Fixture> Call);

    private static readonly Dictionary<string, Case> Cases = BuildCases();

    public static IEnumerable<object[]> CaseNames => Cases.Keys.Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Is_rejected_and_changes_nothing(string name)
    {
        Case c = Cases[name];
        var f = new Fixture();
        float[][] before = f.Networks.Select(n => n.Parameters.ToArray()).ToArray();
        Exception ex = Assert.ThrowsAny<Exception>(() => c.Call(f));
        Assert.True(c.Exception.IsInstanceOfType(ex), $"{name}: expected {c.Exception.Name}, got {ex.GetType().Name}: {ex.Message}");
        if (c.Param is not null)
            Assert.Equal(c.Param, Assert.IsAssignableFrom<ArgumentException>(ex).ParamName);
        foreach (string mention in c.Mentions)
            Assert.Contains(mention, ex.Message);
        for (int i = 0; i < before.Length; i++)
            Bits.Equal<float>(before[i], f.Networks[i].Parameters, $"{name}: network {i} after the rejected call");
    }

    private static Dictionary<string, Case> BuildCases()
    {
        var cases = new Dictionary<string, Case>();
        void Add(string name, Type exception, string? param, string[] mentions, Action<Fixture> call) => cases.Add(name, new Case(exception, param, mentions, call));
        Type argument = typeof(ArgumentException), range = typeof(ArgumentOutOfRangeException), nul = typeof(ArgumentNullException);
        static TrainingHistory Fit(TrainerOptions o, Network<float> n, Dataset<float> t, Dataset<float>? v = null) => new Trainer<float>(o).Fit(n, t, v);

        Add("Epochs 0", range, "Epochs", ["0"], f => Fit(f.Options with { Epochs = 0 }, f.Softmax3, f.Classes3));
        Add("Epochs -5", range, "Epochs", ["-5"], f => Fit(new TrainerOptions { Epochs = -5 }, f.Softmax3, f.Classes3));
        Add("BatchSize 0", range, "BatchSize", ["0"], f => Fit(f.Options with { BatchSize = 0 }, f.Softmax3, f.Classes3));
        Add("BatchSize -32", range, "BatchSize", ["-32"], f => Fit(f.Options with { BatchSize = -32 }, f.Softmax3, f.Classes3));
        Add("EarlyStoppingPatience 0", range, "EarlyStoppingPatience", ["0"], f => Fit(f.Options with { EarlyStoppingPatience = 0 }, f.Softmax3, f.Classes3, f.Classes3));
        Add("MinDelta -0.1", range, "MinDelta", ["-0.1"], f => Fit(f.Options with { MinDelta = -0.1 }, f.Softmax3, f.Classes3));
        Add("MinDelta NaN", range, "MinDelta", ["NaN"], f => Fit(f.Options with { MinDelta = double.NaN }, f.Softmax3, f.Classes3));
        Add("ProgressInterval negative", range, "ProgressInterval", [], f => Fit(f.Options with { ProgressInterval = TimeSpan.FromSeconds(-1) }, f.Softmax3, f.Classes3));
        Add("Optimizer null", nul, "Optimizer", [], f => Fit(f.Options with { Optimizer = null! }, f.Softmax3, f.Classes3));
        Add("Schedule null", nul, "Schedule", [], f => Fit(f.Options with { Schedule = null! }, f.Softmax3, f.Classes3));
        Add("options null", nul, "options", [], f => new Trainer<float>(null!));
        Add("schedule reaches 0", argument, "options", ["epoch 5", "0"],
            f => Fit(f.Options with { Epochs = 8, Schedule = LearningRateSchedule.Cosine(0.1, 5) }, f.Softmax3, f.Classes3));
        Add("network null", nul, "network", [], f => Fit(f.Options, null!, f.Classes3));
        Add("training null", nul, "training", [], f => Fit(f.Options, f.Softmax3, null!));
        Add("training features 3 vs inputs 2", argument, "training", ["3", "2"], f => Fit(f.Options, f.Softmax3, f.ThreeFeatures));
        Add("validation features 3 vs inputs 2", argument, "validation", ["3", "2"], f => Fit(f.Options, f.Softmax3, f.Classes3, f.ThreeFeatures));
        Add("2 classes vs 3 softmax outputs", argument, "training", ["2 classes", "3 outputs"], f => Fit(f.Options, f.Softmax3, f.Classes2));
        Add("validation of 2 classes vs 3 outputs", argument, "validation", ["2 classes", "3 outputs"], f => Fit(f.Options, f.Softmax3, f.Classes3, f.Classes2));
        Add("3 classes vs one sigmoid output", argument, "training", ["3 classes", "1 outputs"], f => Fit(f.Options, f.Sigmoid1, f.Classes3));
        Add("classes with squared error", argument, "training", ["squared error"], f => Fit(f.Options, f.Linear2, f.Classes2));
        Add("2 targets vs 1 output", argument, "training", ["2 target", "1 outputs"], f => Fit(f.Options, f.Sigmoid1, f.Targets2));
        Add("BCE target 1.5", argument, "training", ["1.5", "sample 3"], f => Fit(f.Options with { Loss = Loss.BinaryCrossEntropy }, f.Sigmoid1, f.Targets1));
        // The trainer's up-front check is the kernels' rule: a row the kernels would refuse in batch 3 is refused before
        // batch 1 trains, naming the sample of the data set (not the row of the batch).
        Add("softmax CE row 9 sums to 1.0005", argument, "training", ["sample 9", "1.0005"], f => Fit(f.Options with { Shuffle = false },
            f.Softmax3, new Dataset<float>(new float[24], 2, TargetRowsWithOneOff(12, 3, row: 9, [0.5f, 0.5005f, 0f]), 3)));
        Add("BCE on a softmax output", argument, "network", ["BinaryCrossEntropy"], f => Fit(f.Options with { Loss = Loss.BinaryCrossEntropy }, f.Softmax3, f.Classes3));
        Add("softmax CE on a linear output", argument, "network", ["SoftmaxCrossEntropy"], f => Fit(f.Options with { Loss = Loss.SoftmaxCrossEntropy }, f.Linear2, f.Targets2));
        Add("squared error on a softmax output", argument, "network", ["softmax"], f => Fit(f.Options with { Loss = Loss.MeanSquaredError }, f.Softmax3, f.Classes3));
        Add("step layer", argument, "network", ["Layer 0", "Step"], f => Fit(f.Options, f.Stepper, f.Classes3));
        Add("early stopping without validation", argument, "validation", ["EarlyStoppingPatience = 3"], f => Fit(f.Options with { EarlyStoppingPatience = 3 }, f.Softmax3, f.Classes3));
        return cases;
    }

    /// <summary><paramref name="count"/> one-hot rows of <paramref name="classes"/> targets, except row <paramref name="row"/>,
    /// which is <paramref name="odd"/>.</summary>
    private static float[] TargetRowsWithOneOff(int count, int classes, int row, float[] odd)
    {
        var targets = new float[count * classes];
        for (int s = 0; s < count; s++)
            targets[s * classes + s % classes] = 1f;
        odd.CopyTo(targets, row * classes);
        return targets;
    }
}
