namespace FastBackprop.Tests.Reference;

/// <summary>
/// Derived tolerances: first-order bounds on the rounding error of a computation done in a type with unit
/// roundoff u, built the way the reference BLAS tests build theirs — from magnitudes, not guesses.
/// <list type="bullet">
/// <item>A sum of k products followed by ·α and +β·c is off by at most (k + 2)·u·(|α|Σ|a||b| + |β||c|),
/// whatever the summation order or FMA use (the blocked K loop adds one rounding per block, fewer than k).</item>
/// <item>An error e in z becomes at most Lip(g)·e in g(z); evaluating g adds a few ulp relative.</item>
/// <item>Errors are propagated through the network with absolute values (|W|·E, |Δ|·E_a, …).</item>
/// <item>Where a reference z lies within the error bound of a kink (ReLU, leaky, step) the computed
/// branch may differ, and the bound takes the whole jump.</item>
/// </list>
/// A test allows 2 × bound + tiny: the factor 2 covers the reference's own error when it runs in the same
/// precision (double vs double), and the bound is far above what rounding really does in practice.
/// </summary>
public static class ErrorBounds
{
    /// <summary>Relative accuracy, in units of u, of the library's exp/sigmoid/tanh (its own FloatExp and the runtime's
    /// vector Exp for double: ≤ a few ulp).</summary>
    public const double TranscendentalUlps = 8;

    public static double UnitRoundoff<T>()
        => typeof(T) == typeof(float) ? Math.ScaleB(1, -24)
        : typeof(T) == typeof(double) ? Math.ScaleB(1, -53)
        : throw new NotSupportedException(typeof(T).Name);

    /// <summary>Absolute slack for underflow (far below anything a test compares).</summary>
    public static double Tiny<T>() => typeof(T) == typeof(float) ? 1e-30 : 1e-290;

    /// <summary>γ of a k-term dot product followed by the α and β operations.</summary>
    public static double Gamma(int k, double u) => (k + 2) * u;

    /// <summary>Whether the branch taken at a kink may differ between library and reference.</summary>
    public static bool NearKink(double z, double zError) => Math.Abs(z) <= 2 * zError + 1e-300;

    /// <summary>Bound on |g(ẑ) − g(z)| + evaluation error, for |ẑ − z| ≤ zError (elementwise kinds).</summary>
    public static double ActivationError(Activation g, double z, double a, double zError, double u) => g.Kind switch
    {
        ActivationKind.Identity => zError,
        ActivationKind.ReLU => zError,
        ActivationKind.LeakyReLU => Math.Max(1, g.Alpha) * zError + 2 * u * Math.Abs(a),
        ActivationKind.Sigmoid => 0.25 * zError + TranscendentalUlps * u * Math.Abs(a),
        // Relative, also near 0: the library's tanh switches to its odd Taylor series for |z| < 1/8, where
        // 1 − e^−2|z| would cancel (an absolute allowance here let that series be switched off unnoticed).
        ActivationKind.Tanh => zError + TranscendentalUlps * u * Math.Abs(a),
        ActivationKind.Step => NearKink(z, zError) ? 1 : 0,
        // |silu'| ≤ 1.1 (its maximum, at z ≈ 2.4), and z / (1 + e^−z) rounds in the exponential, the sum and the division.
        ActivationKind.SiLU => 1.1 * zError + (TranscendentalUlps + 2) * u * Math.Abs(a),
        _ => throw new ArgumentException($"{g} is not elementwise."),
    };

    /// <summary>Softmax of a row whose logits are each off by at most zError[k]: every a_j moves by at most
    /// a_j·2·max(zError) (|∂log a_j/∂z_k| sums to ≤ 2), and the computation (z − max, exp, sum, divide)
    /// adds a relative u·(2·max|z − max| + n + 2·8 ulp).</summary>
    public static double[] SoftmaxError(double[] z, double[] a, double[] zError, double u)
    {
        double spread = z.Max() - z.Min();
        double relative = 2 * zError.Max() + u * (2 * spread + z.Length + 2 * TranscendentalUlps);
        return a.Select(v => v * relative).ToArray();
    }

    /// <summary>Bound on |g'_library − g'(z)| where the library writes g' from its computed â (|â − a| ≤ aError).</summary>
    public static double DerivativeError(Activation g, double z, double a, double zError, double aError, double u) => g.Kind switch
    {
        ActivationKind.Identity => 0,
        ActivationKind.Sigmoid => Math.Abs(1 - 2 * a) * aError + DerivativeEvaluationError(g, a, u),
        ActivationKind.Tanh => 2 * Math.Abs(a) * aError + DerivativeEvaluationError(g, a, u),
        ActivationKind.ReLU => NearKink(z, zError) ? 1 : 0,
        ActivationKind.LeakyReLU => (NearKink(z, zError) ? Math.Abs(1 - g.Alpha) : 0) + DerivativeEvaluationError(g, a, u),
        // Written from the library's ẑ (|ẑ − z| ≤ zError): |silu''| ≤ 0.5, plus the rounding of σ (exponential, sum,
        // division) carried through σ(1 + z(1 − σ)): at most (ulps + 6)·u·(1 + |z|).
        ActivationKind.SiLU => 0.5 * zError + (TranscendentalUlps + 6) * u * (1 + Math.Abs(z)),
        _ => throw new ArgumentException($"{g} has no elementwise derivative."),
    };

    /// <summary>The rounding of g' computed from an exact a: a − a² (sigmoid), 1 − a² (tanh), α rounded to the type (leaky).</summary>
    public static double DerivativeEvaluationError(Activation g, double a, double u) => g.Kind switch
    {
        ActivationKind.Sigmoid => 2 * u * (Math.Abs(a) + a * a),
        ActivationKind.Tanh => u * (1 + 2 * a * a),
        ActivationKind.LeakyReLU => u * g.Alpha,
        _ => 0,
    };

    /// <summary>BP1's error for one sample's output row: the logits are off by ≤ zError, the outputs by ≤ aError.</summary>
    public static double[] OutputDeltaError(Loss loss, Activation g, double[] z, double[] a, double[] y,
        double[] zError, double[] aError, double s, double u)
    {
        var result = new double[z.Length];
        for (int j = 0; j < z.Length; j++)
        {
            result[j] = loss.Kind switch
            {
                // Δ = s·(a − y)·g'(a)
                LossKind.SquaredError => s * (aError[j] * Math.Abs(ReferenceActivation.Derivative(g, z[j]))
                    + Math.Abs(a[j] - y[j]) * DerivativeError(g, z[j], a[j], zError[j], aError[j], u)
                    + 3 * u * Math.Abs((a[j] - y[j]) * ReferenceActivation.Derivative(g, z[j]))),
                // Δ = s·(a − y), fused
                _ => s * (aError[j] + 2 * u * (Math.Abs(a[j]) + Math.Abs(y[j]))),
            };
        }
        return result;
    }

    /// <summary>The error of one sample's loss from its logit/output errors, and the conditioning of the
    /// reference's own formula (log(1 − a) for binary cross-entropy, log of a softmax). The rounding of the
    /// batch sum is added by <see cref="LossRounding"/>.</summary>
    public static double LossError(Loss loss, double[] z, double[] a, double[] y, double[] zError, double[] aError, double s, double u)
    {
        double bound = 0;
        for (int j = 0; j < z.Length; j++)
        {
            bound += loss.Kind switch
            {
                LossKind.SquaredError => s * Math.Abs(a[j] - y[j]) * (aError[j] + u * Math.Abs(a[j] - y[j])),
                // dℓ/dz = σ(z) − y
                LossKind.BinaryCrossEntropy => s * (Math.Abs(a[j] - y[j]) * zError[j]
                    + 4 * u * ((y[j] != 0 ? y[j] / a[j] : 0) + (y[j] != 1 ? (1 - y[j]) / (1 - a[j]) : 0))),
                // dℓ/dz = softmax(z) − y
                _ => s * Math.Abs(a[j] - y[j]) * zError[j],
            };
        }
        if (loss.Kind == LossKind.SoftmaxCrossEntropy)
            bound += s * u * (2 * (z.Max() - z.Min()) + z.Length + 2 * TranscendentalUlps);
        return bound;
    }

    /// <summary>Rounding of the loss accumulation over all <paramref name="terms"/> outputs of the batch,
    /// relative to Σ(|ℓ| + |z| + 1) (which <see cref="LossMagnitude"/> gives per sample).</summary>
    public static double LossRounding(int terms, double s, double magnitude, double u) => (terms + 16) * u * s * magnitude;

    public static double LossMagnitude(Loss loss, double[] z, double[] a, double[] y)
        => Math.Abs(ReferenceLoss.Value(loss, z, a, y)) + z.Sum(Math.Abs) + z.Length;

    /// <summary>Per-sample forward error bounds: ZError[l] for layer l's logits, AError[l] for A[l] (A[0] = x is exact).</summary>
    public sealed class ForwardBounds
    {
        public required double[][] ZError { get; init; }
        public required double[][] AError { get; init; }
    }

    public static ForwardBounds Forward(ReferenceNetwork network, SampleTrace t, double u)
    {
        int count = network.Layers.Count;
        var zError = new double[count][];
        var aError = new double[count + 1][];
        aError[0] = new double[t.A[0].Length];
        for (int l = 0; l < count; l++)
        {
            ReferenceLayer layer = network.Layers[l];
            zError[l] = new double[layer.Units];
            for (int i = 0; i < layer.Units; i++)
            {
                double propagated = 0, magnitude = Math.Abs(layer.B[i]);
                for (int j = 0; j < layer.Inputs; j++)
                {
                    propagated += Math.Abs(layer.Weight(i, j)) * aError[l][j];
                    magnitude += Math.Abs(layer.Weight(i, j)) * Math.Abs(t.A[l][j]);
                }
                zError[l][i] = propagated + Gamma(layer.Inputs, u) * magnitude;
            }
            aError[l + 1] = layer.G.Kind == ActivationKind.Softmax
                ? SoftmaxError(t.Z[l], t.A[l + 1], zError[l], u)
                : zError[l].Select((e, i) => ActivationError(layer.G, t.Z[l][i], t.A[l + 1][i], e, u)).ToArray();
        }
        return new ForwardBounds { ZError = zError, AError = aError };
    }

    /// <summary>Bounds on the loss and every gradient of a batch.</summary>
    public sealed class GradientBounds
    {
        public required double Loss { get; init; }
        public required double[][] Weights { get; init; }
        public required double[][] Biases { get; init; }
    }

    public static GradientBounds Backward(ReferenceNetwork network, ReferenceGradients reference,
        double[][] targets, Loss loss, double u)
    {
        int count = network.Layers.Count;
        int batch = reference.Samples.Length;
        double s = ReferenceLoss.Scale(loss, batch);
        var propagatedW = network.Layers.Select(l => new double[l.Units * l.Inputs]).ToArray();
        var magnitudeW = network.Layers.Select(l => new double[l.Units * l.Inputs]).ToArray();
        var propagatedB = network.Layers.Select(l => new double[l.Units]).ToArray();
        var magnitudeB = network.Layers.Select(l => new double[l.Units]).ToArray();
        double lossBound = 0, lossMagnitude = 0;

        for (int n = 0; n < batch; n++)
        {
            SampleTrace t = reference.Samples[n];
            ForwardBounds f = Forward(network, t, u);
            double[] y = targets[n];
            ReferenceLayer output = network.Layers[count - 1];
            double[] z = t.Z[^1], a = t.A[^1], ez = f.ZError[^1], ea = f.AError[^1];

            lossBound += LossError(loss, z, a, y, ez, ea, s, u);
            lossMagnitude += LossMagnitude(loss, z, a, y);
            var deltaError = new double[count][];
            deltaError[count - 1] = OutputDeltaError(loss, output.G, z, a, y, ez, ea, s, u);

            for (int l = count - 1; l >= 0; l--)
            {
                ReferenceLayer layer = network.Layers[l];
                double[] delta = t.Delta[l], eDelta = deltaError[l], input = t.A[l], eInput = f.AError[l];
                for (int i = 0; i < layer.Units; i++)
                {
                    propagatedB[l][i] += eDelta[i];
                    magnitudeB[l][i] += Math.Abs(delta[i]);
                    for (int j = 0; j < layer.Inputs; j++)
                    {
                        propagatedW[l][i * layer.Inputs + j] += eDelta[i] * Math.Abs(input[j]) + Math.Abs(delta[i]) * eInput[j];
                        magnitudeW[l][i * layer.Inputs + j] += Math.Abs(delta[i]) * Math.Abs(input[j]);
                    }
                }
                if (l == 0)
                    break;
                // Δ_{l−1} = (Δ_l·W_l) ⊙ g'(a_{l−1})
                ReferenceLayer below = network.Layers[l - 1];
                deltaError[l - 1] = new double[layer.Inputs];
                for (int j = 0; j < layer.Inputs; j++)
                {
                    double product = 0, propagated = 0, magnitude = 0;
                    for (int i = 0; i < layer.Units; i++)
                    {
                        product += layer.Weight(i, j) * delta[i];
                        propagated += Math.Abs(layer.Weight(i, j)) * eDelta[i];
                        magnitude += Math.Abs(layer.Weight(i, j)) * Math.Abs(delta[i]);
                    }
                    double productError = propagated + Gamma(layer.Units, u) * magnitude;
                    double zj = t.Z[l - 1][j], aj = t.A[l][j];
                    double derivative = ReferenceActivation.Derivative(below.G, zj);
                    deltaError[l - 1][j] = productError * Math.Abs(derivative)
                        + Math.Abs(product) * DerivativeError(below.G, zj, aj, f.ZError[l - 1][j], f.AError[l][j], u)
                        + u * Math.Abs(product * derivative);
                }
            }
        }

        double batchGamma = Gamma(batch, u);
        return new GradientBounds
        {
            Loss = lossBound + LossRounding(batch * network.Layers[^1].Units, s, lossMagnitude, u),
            Weights = propagatedW.Select((p, l) => p.Select((v, i) => v + batchGamma * magnitudeW[l][i]).ToArray()).ToArray(),
            Biases = propagatedB.Select((p, l) => p.Select((v, i) => v + batchGamma * magnitudeB[l][i]).ToArray()).ToArray(),
        };
    }
}
