namespace FastBackprop.Cli;

/// <summary>How a problem's outputs are scored.</summary>
internal enum TaskKind
{
    /// <summary>Softmax output, class indices as targets, scored by arg-max accuracy.</summary>
    MultiClass,
    /// <summary>One sigmoid output, 0/1 targets, scored by accuracy at threshold 0.5.</summary>
    Binary,
    /// <summary>Real-valued outputs, scored by mean squared error and largest absolute error.</summary>
    Regression,
}

/// <summary>Default hyper-parameters of a problem; the command line overrides each.</summary>
internal readonly record struct HyperParameters(int Epochs, int Batch, double LearningRate, int Hidden);

/// <summary>A data set (row-major, one sample per row) with targets as class indices or real values.</summary>
internal sealed class DataSplit(int count, float[] inputs, int[]? labels, float[]? targets)
{
    public int Count { get; } = count;
    public float[] Inputs { get; } = inputs;
    public int[]? Labels { get; } = labels;
    public float[]? Targets { get; } = targets;
}

/// <summary>A training problem: the network's shape, its loss, and its training and evaluation data.</summary>
internal sealed class Problem
{
    public required string Title { get; init; }
    public required TaskKind Task { get; init; }
    public required int InputSize { get; init; }
    public required LayerSpec[] Layers { get; init; }
    public required Loss Loss { get; init; }
    public required DataSplit Train { get; init; }
    public required DataSplit Eval { get; init; }

    /// <summary>What the evaluation set is called in the report ("held-out", "truth table").</summary>
    public required string EvalName { get; init; }

    public int OutputSize => Layers[^1].Units;

    public string Shape => InputSize + "-" + string.Join("-", Layers.Select(l => l.Units.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}

internal static class Problems
{
    public static HyperParameters Defaults(ProblemName name) => name switch
    {
        ProblemName.Digits => new HyperParameters(Epochs: 30, Batch: 32, LearningRate: 0.2, Hidden: 64),
        ProblemName.Xor => new HyperParameters(Epochs: 2000, Batch: 4, LearningRate: 2.0, Hidden: 4),
        ProblemName.Sine => new HyperParameters(Epochs: 1000, Batch: 32, LearningRate: 0.05, Hidden: 32),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public static Problem Create(ProblemName name, int hidden, int seed) => name switch
    {
        ProblemName.Digits => Digits(hidden, seed),
        ProblemName.Xor => Xor(hidden),
        ProblemName.Sine => Sine(hidden, seed),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>The embedded 8×8 digits, pixels / 16, shuffled with <paramref name="seed"/> and split 80/20.</summary>
    private static Problem Digits(int hidden, int seed)
    {
        (float[] pixels, int[] labels) = DigitsData.Load();
        int n = labels.Length;
        const int d = DigitsData.Pixels;

        int[] order = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(order);
        int trainCount = (int)(n * 0.8);

        DataSplit Take(int start, int count)
        {
            var x = new float[count * d];
            var y = new int[count];
            for (int i = 0; i < count; i++)
            {
                int src = order[start + i];
                pixels.AsSpan(src * d, d).CopyTo(x.AsSpan(i * d, d));
                y[i] = labels[src];
            }
            return new DataSplit(count, x, y, null);
        }

        return new Problem
        {
            Title = $"8x8 hand-written digits ({n} images: {trainCount} training, {n - trainCount} held out)",
            Task = TaskKind.MultiClass,
            InputSize = d,
            Layers = [new LayerSpec(hidden, Activation.ReLU), new LayerSpec(DigitsData.Classes, Activation.Softmax)],
            Loss = Loss.SoftmaxCrossEntropy,
            Train = Take(0, trainCount),
            Eval = Take(trainCount, n - trainCount),
            EvalName = "held-out",
        };
    }

    /// <summary>The XOR truth table; the same four rows are trained on and evaluated.</summary>
    private static Problem Xor(int hidden)
    {
        float[] x = [0, 0, 0, 1, 1, 0, 1, 1];
        float[] y = [0, 1, 1, 0];
        var data = new DataSplit(4, x, null, y);
        return new Problem
        {
            Title = "XOR truth table (4 rows, trained and evaluated on the same rows)",
            Task = TaskKind.Binary,
            InputSize = 2,
            Layers = [new LayerSpec(hidden, Activation.Sigmoid), new LayerSpec(1, Activation.Sigmoid)],
            Loss = Loss.BinaryCrossEntropy,
            Train = data,
            Eval = data,
            EvalName = "truth table",
        };
    }

    public const int SineTrainCount = 1024;
    public const int SineEvalCount = 201;

    /// <summary>sin(x): uniform random training points on [-π, π], evaluation on an even grid.</summary>
    private static Problem Sine(int hidden, int seed)
    {
        var rng = new Random(seed);
        var trainX = new float[SineTrainCount];
        var trainY = new float[SineTrainCount];
        for (int i = 0; i < SineTrainCount; i++)
        {
            double x = (rng.NextDouble() * 2 - 1) * Math.PI;
            trainX[i] = (float)x;
            trainY[i] = (float)Math.Sin(x);
        }

        var evalX = new float[SineEvalCount];
        var evalY = new float[SineEvalCount];
        for (int i = 0; i < SineEvalCount; i++)
        {
            double x = -Math.PI + 2 * Math.PI * i / (SineEvalCount - 1);
            evalX[i] = (float)x;
            evalY[i] = (float)Math.Sin(x);
        }

        return new Problem
        {
            Title = $"sin(x) on [-pi, pi] ({SineTrainCount} random training points, {SineEvalCount} evenly spaced held-out points)",
            Task = TaskKind.Regression,
            InputSize = 1,
            Layers = [new LayerSpec(hidden, Activation.Tanh), new LayerSpec(1, Activation.Identity)],
            Loss = Loss.MeanSquaredError,
            Train = new DataSplit(SineTrainCount, trainX, null, trainY),
            Eval = new DataSplit(SineEvalCount, evalX, null, evalY),
            EvalName = "held-out",
        };
    }
}
