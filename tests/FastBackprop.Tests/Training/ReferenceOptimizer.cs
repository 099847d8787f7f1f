namespace FastBackprop.Tests.Training;

/// <summary>Which update a <see cref="ReferenceOptimizer"/> runs, with its hyper-parameters.</summary>
public sealed record OptimizerCase(string Name, string Kind, double WeightDecay = 0, double Momentum = 0, bool Nesterov = false,
    double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8)
{
    public Optimizer Create() => Kind switch
    {
        "sgd" => new Sgd(WeightDecay),
        "momentum" => new Momentum(Momentum, Nesterov, WeightDecay),
        "adam" => new Adam(Beta1, Beta2, Epsilon, WeightDecay),
        "adamw" => new AdamW(Beta1, Beta2, Epsilon, WeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, null),
    };

    public override string ToString() => Name;
}

/// <summary>
/// The torch.optim definitions written out plainly, one element at a time in double, as the documentation states them
/// (m̂ and v̂ formed explicitly, ε outside the square root). Alongside each value it keeps the same recurrence run on
/// absolute values (|g| + λ|θ|, Σ|terms| of the momentum and first moment), the scale against which rounding errors are
/// measured: an error bound relative to |value| would be meaningless where terms cancel.
/// </summary>
public sealed class ReferenceOptimizer
{
    private readonly OptimizerCase c;
    private readonly double[] m, v, mAbs;
    private long t;

    public ReferenceOptimizer(OptimizerCase optimizerCase, double[] initial)
    {
        c = optimizerCase;
        Theta = (double[])initial.Clone();
        m = new double[initial.Length];
        v = new double[initial.Length];
        mAbs = new double[initial.Length];
        Scale = new double[initial.Length];
    }

    public double[] Theta { get; }

    /// <summary>Σ over steps of |θ before| + |θ after| + |update| computed on absolute values: rounding errors of a
    /// correct implementation stay within a few units in the last place of this, per step.</summary>
    public double[] Scale { get; }

    public void Step(double[] g, double lr)
    {
        t++;
        double lambda = c.WeightDecay;
        for (int i = 0; i < Theta.Length; i++)
        {
            double theta = Theta[i], next, updateAbs;
            switch (c.Kind)
            {
                case "sgd":
                    {
                        double grad = g[i] + lambda * theta;
                        next = theta - lr * grad;
                        updateAbs = lr * (Math.Abs(g[i]) + lambda * Math.Abs(theta));
                        break;
                    }
                case "momentum":
                    {
                        double grad = g[i] + lambda * theta, gradAbs = Math.Abs(g[i]) + lambda * Math.Abs(theta);
                        m[i] = t == 1 ? grad : c.Momentum * m[i] + grad;      // PyTorch: buf = g′ on the first step
                        mAbs[i] = c.Momentum * mAbs[i] + gradAbs;
                        double update = c.Nesterov ? grad + c.Momentum * m[i] : m[i];
                        next = theta - lr * update;
                        updateAbs = lr * (c.Nesterov ? gradAbs + c.Momentum * mAbs[i] : mAbs[i]);
                        break;
                    }
                default:
                    {
                        bool decoupled = c.Kind == "adamw";
                        double grad = decoupled ? g[i] : g[i] + lambda * theta;
                        double gradAbs = decoupled ? Math.Abs(g[i]) : Math.Abs(g[i]) + lambda * Math.Abs(theta);
                        double decayed = decoupled ? theta - lr * lambda * theta : theta;
                        m[i] = c.Beta1 * m[i] + (1 - c.Beta1) * grad;
                        v[i] = c.Beta2 * v[i] + (1 - c.Beta2) * grad * grad;
                        mAbs[i] = c.Beta1 * mAbs[i] + (1 - c.Beta1) * gradAbs;
                        double mHat = m[i] / (1 - Math.Pow(c.Beta1, t));
                        double vHat = v[i] / (1 - Math.Pow(c.Beta2, t));
                        double denominator = Math.Sqrt(vHat) + c.Epsilon;
                        next = decayed - lr * mHat / denominator;
                        updateAbs = lr * mAbs[i] / (1 - Math.Pow(c.Beta1, t)) / denominator + (decoupled ? lr * lambda * Math.Abs(theta) : 0);
                        break;
                    }
            }
            Scale[i] += Math.Abs(theta) + Math.Abs(next) + updateAbs;
            Theta[i] = next;
        }
    }
}
