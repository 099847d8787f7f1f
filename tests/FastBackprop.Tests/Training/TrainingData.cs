namespace FastBackprop.Tests.Training;

/// <summary>Small synthetic data sets for the trainer tests.</summary>
public static class TrainingData
{
    /// <summary><paramref name="classes"/> Gaussian blobs (σ = <paramref name="spread"/>) with centres on a circle of radius 3
    /// in the plane, <paramref name="perClass"/> samples each, interleaved.</summary>
    public static Dataset<float> Blobs(int classes, int perClass, int seed, double spread = 0.7)
    {
        var random = new Random(seed);
        int n = classes * perClass;
        var x = new float[2 * n];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % classes;
            double angle = 2 * Math.PI * c / classes;
            x[2 * i] = (float)(3 * Math.Cos(angle) + spread * Normal(random));
            x[2 * i + 1] = (float)(3 * Math.Sin(angle) + spread * Normal(random));
            y[i] = c;
        }
        return new Dataset<float>(x, 2, y, classes);
    }

    /// <summary>Two classes split by x₀ + x₁ &gt; 0 on the square [−1, 1]², with a fraction <paramref name="noise"/> of the
    /// labels flipped: a large network overfits the flips and its validation loss turns upwards.</summary>
    public static Dataset<float> NoisyBinary(int n, double noise, int seed)
    {
        var random = new Random(seed);
        var x = new float[2 * n];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            x[2 * i] = (float)(2 * random.NextDouble() - 1);
            x[2 * i + 1] = (float)(2 * random.NextDouble() - 1);
            bool positive = x[2 * i] + x[2 * i + 1] > 0;
            if (random.NextDouble() < noise)
                positive = !positive;
            y[i] = positive ? 1 : 0;
        }
        return new Dataset<float>(x, 2, y, 2);
    }

    public static double Normal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}

/// <summary>Reports synchronously on the training thread (<see cref="Progress{T}"/> would post to the thread pool).</summary>
public sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}

/// <summary>SGD that counts its steps and the lengths it saw: a user-written optimizer.</summary>
public sealed class CountingSgd() : Optimizer(0)
{
    public int Steps { get; private set; }

    protected override int StateSlots => 0;

    protected override void Update<T>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state, double learningRate, long step)
    {
        Steps++;
        T eta = T.CreateChecked(learningRate);
        for (int i = 0; i < parameters.Length; i++)
            parameters[i] -= eta * gradients[i];
    }
}
