using System.Diagnostics;
using System.Globalization;

namespace FastBackprop.Cli;

/// <summary>Training failed in a way the user can act on (e.g. the loss diverged); exit code 1.</summary>
internal sealed class TrainingException(string message) : Exception(message);

/// <summary>Scores of a network on one data set.</summary>
internal readonly record struct Score(int Correct, int Count, double MeanSquaredError, double MaxAbsError)
{
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
}

/// <summary>Mini-batch SGD on a <see cref="Problem"/>, with a per-epoch report.</summary>
internal sealed class Trainer
{
    private const int EvalChunk = 512;
    private const int MaxTableRows = 25;

    private readonly Problem _problem;
    private readonly HyperParameters _hp;
    private readonly int _seed;
    private readonly TextWriter _out;
    private readonly ProgressLine _progress;
    private readonly float[] _evalOutputs;

    private readonly long _startTimestamp;

    /// <summary>
    /// Prepares a run of <paramref name="hp"/> on <paramref name="problem"/>, reporting to <paramref name="output"/>
    /// (with a progress line when <paramref name="interactive"/>); <paramref name="seed"/> drives initialisation and
    /// shuffling, and <paramref name="startTimestamp"/> (from <see cref="Stopwatch.GetTimestamp"/>) is when the
    /// program started, for the total time.
    /// </summary>
    public Trainer(Problem problem, HyperParameters hp, int seed, TextWriter output, bool interactive, long startTimestamp)
    {
        _startTimestamp = startTimestamp;
        _problem = problem;
        _hp = hp;
        _seed = seed;
        _out = output;
        _progress = new ProgressLine(output, interactive);
        _evalOutputs = new float[Math.Min(EvalChunk, Math.Max(problem.Train.Count, problem.Eval.Count)) * problem.OutputSize];
    }

    public int Run()
    {
        Problem p = _problem;
        DataSplit train = p.Train;
        int n = train.Count;
        int inSize = p.InputSize;
        int outSize = p.OutputSize;
        int batch = Math.Min(_hp.Batch, n);
        int batches = (n + batch - 1) / batch;
        int epochs = _hp.Epochs;
        float lr = (float)_hp.LearningRate;
        bool classIndices = train.Labels is not null;

        var network = new Network<float>(inSize, p.Layers, _seed);

        _out.WriteLine($"problem:  {p.Title}");
        _out.WriteLine(Invariant($"network:  {p.Shape} ({string.Join(", ", p.Layers.Select(l => l.Activation.ToString()))}), loss {Describe(p.Loss)}, {CountParameters(p)} parameters"));
        _out.WriteLine(Invariant($"training: SGD, {epochs} epochs, batch {batch}, learning rate {_hp.LearningRate}, seed {_seed}"));
        _out.WriteLine();

        // Reusable mini-batch buffers: nothing is allocated inside the training loop.
        var batchInputs = new float[batch * inSize];
        int[]? batchLabels = classIndices ? new int[batch] : null;
        float[]? batchTargets = classIndices ? null : new float[batch * outSize];
        int[] order = Enumerable.Range(0, n).ToArray();
        var shuffler = new Random(unchecked(_seed * 31 + 17));

        // Every epoch gets a row up to 50 epochs; beyond that about 25 rows, plus the first and the last.
        int rowEvery = epochs <= MaxTableRows * 2 ? 1 : (epochs + MaxTableRows - 1) / MaxTableRows;
        var table = new Table(p.EvalName, regression: p.Task == TaskKind.Regression);
        _out.WriteLine(table.Header);
        _out.WriteLine(table.Rule);

        long trainTicks = 0, firstEpochTicks = 0;
        Score evalScore = default;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            shuffler.Shuffle(order);
            long epochStart = Stopwatch.GetTimestamp();
            double lossSum = 0;
            for (int b = 0, start = 0; start < n; b++, start += batch)
            {
                int bs = Math.Min(batch, n - start);
                for (int j = 0; j < bs; j++)
                {
                    int src = order[start + j];
                    train.Inputs.AsSpan(src * inSize, inSize).CopyTo(batchInputs.AsSpan(j * inSize, inSize));
                    if (batchLabels is not null)
                        batchLabels[j] = train.Labels![src];
                    else
                        train.Targets.AsSpan(src * outSize, outSize).CopyTo(batchTargets.AsSpan(j * outSize, outSize));
                }

                float loss = batchLabels is not null
                    ? network.TrainStep(batchInputs.AsSpan(0, bs * inSize), batchLabels.AsSpan(0, bs), bs, p.Loss, lr)
                    : network.TrainStep(batchInputs.AsSpan(0, bs * inSize), batchTargets.AsSpan(0, bs * outSize), bs, p.Loss, lr);
                lossSum += (double)loss * bs; // the loss is a batch mean
                _progress.Report(epoch, epochs, b + 1, batches);
            }
            long epochTicks = Stopwatch.GetTimestamp() - epochStart;
            trainTicks += epochTicks;
            if (epoch == 1)
                firstEpochTicks = epochTicks;
            double epochLoss = lossSum / n;

            if (!double.IsFinite(epochLoss))
            {
                _progress.Clear();
                throw new TrainingException(Invariant($"training diverged: the loss is {epochLoss} in epoch {epoch}; try a smaller --lr (now {_hp.LearningRate})"));
            }

            if (epoch == 1 || epoch == epochs || epoch % rowEvery == 0)
            {
                Score trainScore = Evaluate(network, train);
                evalScore = Evaluate(network, p.Eval);
                _progress.Clear();
                _out.WriteLine(table.Row(epoch, epochLoss, trainScore, evalScore, Stopwatch.GetElapsedTime(0, epochTicks)));
            }
        }
        _progress.Clear();
        _out.WriteLine();

        double trainSeconds = Stopwatch.GetElapsedTime(0, trainTicks).TotalSeconds;
        double samples = (double)epochs * n;
        if (p.Task == TaskKind.Regression)
        {
            _out.WriteLine(Invariant($"final {p.EvalName} MSE: {evalScore.MeanSquaredError:0.000000} (RMSE {Math.Sqrt(evalScore.MeanSquaredError):0.0000}, max |error| {evalScore.MaxAbsError:0.0000}) on {evalScore.Count} points"));
        }
        else
        {
            _out.WriteLine(Invariant($"final {p.EvalName} accuracy: {evalScore.Accuracy * 100:0.00}% ({evalScore.Correct}/{evalScore.Count})"));
        }
        if (p.Task == TaskKind.Binary)
            PrintTruthTable(network, p.Eval);

        _out.WriteLine(Invariant($"training time: {trainSeconds:0.000} s for {epochs} epochs x {n} samples = {samples / Math.Max(trainSeconds, 1e-9):#,0} samples/s"));
        if (epochs > 1)
        {
            double steadySeconds = Stopwatch.GetElapsedTime(0, trainTicks - firstEpochTicks).TotalSeconds;
            _out.WriteLine(Invariant($"after the first epoch (JIT warm-up): {(epochs - 1) * (double)n / Math.Max(steadySeconds, 1e-9):#,0} samples/s"));
        }
        _out.WriteLine(Invariant($"total time: {Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds:0.000} s (data preparation, training, evaluation)"));
        return 0;
    }

    /// <summary>Forward pass over <paramref name="data"/> in chunks, scored for the problem's task.</summary>
    private Score Evaluate(Network<float> network, DataSplit data)
    {
        int inSize = _problem.InputSize, outSize = _problem.OutputSize;
        int correct = 0;
        double sse = 0, maxAbs = 0;
        for (int start = 0; start < data.Count; start += EvalChunk)
        {
            int count = Math.Min(EvalChunk, data.Count - start);
            Span<float> outputs = _evalOutputs.AsSpan(0, count * outSize);
            network.Forward(data.Inputs.AsSpan(start * inSize, count * inSize), count, outputs);
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<float> row = outputs.Slice(i * outSize, outSize);
                switch (_problem.Task)
                {
                    case TaskKind.MultiClass:
                        if (ArgMax(row) == data.Labels![start + i])
                            correct++;
                        break;
                    case TaskKind.Binary:
                        if ((row[0] >= 0.5f) == (data.Targets![start + i] >= 0.5f))
                            correct++;
                        break;
                    default:
                        for (int k = 0; k < outSize; k++)
                        {
                            double err = row[k] - (double)data.Targets![(start + i) * outSize + k];
                            sse += err * err;
                            maxAbs = Math.Max(maxAbs, Math.Abs(err));
                        }
                        break;
                }
            }
        }
        return new Score(correct, data.Count, sse / Math.Max(1, (long)data.Count * outSize), maxAbs);
    }

    private void PrintTruthTable(Network<float> network, DataSplit data)
    {
        Span<float> output = stackalloc float[1];
        for (int i = 0; i < data.Count; i++)
        {
            ReadOnlySpan<float> x = data.Inputs.AsSpan(i * 2, 2);
            network.Forward(x, 1, output);
            _out.WriteLine(Invariant($"  xor({x[0]:0}, {x[1]:0}) = {output[0]:0.0000}  (target {data.Targets![i]:0})"));
        }
    }

    private static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int k = 1; k < row.Length; k++)
        {
            if (row[k] > row[best])
                best = k;
        }
        return best;
    }

    private static long CountParameters(Problem p)
    {
        long total = 0;
        int inputs = p.InputSize;
        foreach (LayerSpec layer in p.Layers)
        {
            total += (long)layer.Units * inputs + layer.Units;
            inputs = layer.Units;
        }
        return total;
    }

    private static string Describe(Loss loss) => loss.Kind switch
    {
        LossKind.SquaredError => loss.Reduction == Reduction.Mean ? "mean squared error (1/2n sum)" : "sum squared error",
        LossKind.BinaryCrossEntropy => "binary cross-entropy",
        LossKind.SoftmaxCrossEntropy => "softmax cross-entropy",
        _ => loss.ToString(),
    };

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Fixed-width columns for the per-epoch report.</summary>
    private sealed class Table(string evalName, bool regression)
    {
        private readonly int _evalWidth = Math.Max(12, evalName.Length + 5);

        public string Header => regression
            ? $"{"epoch",7}  {"train loss",11}  {"train MSE",11}  {(evalName + " MSE").PadLeft(_evalWidth)}  {"max |err|",9}  {"time",10}"
            : $"{"epoch",7}  {"train loss",11}  {"train acc",9}  {(evalName + " acc").PadLeft(_evalWidth)}  {"time",10}";

        public string Rule => new('-', Header.Length);

        public string Row(int epoch, double loss, Score train, Score eval, TimeSpan time)
        {
            string ms = Invariant($"{time.TotalMilliseconds:0.00} ms").PadLeft(10);
            return regression
                ? Invariant($"{epoch,7}  {loss,11:0.000000}  {train.MeanSquaredError,11:0.000000}  {eval.MeanSquaredError.ToString("0.000000", CultureInfo.InvariantCulture).PadLeft(_evalWidth)}  {eval.MaxAbsError,9:0.0000}  {ms}")
                : Invariant($"{epoch,7}  {loss,11:0.000000}  {train.Accuracy * 100,8:0.00}%  {(eval.Accuracy * 100).ToString("0.00", CultureInfo.InvariantCulture).PadLeft(_evalWidth - 1)}%  {ms}");
        }
    }
}
