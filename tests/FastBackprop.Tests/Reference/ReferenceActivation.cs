namespace FastBackprop.Tests.Reference;

/// <summary>MATH.md's activation table, in double, one value at a time.</summary>
public static class ReferenceActivation
{
    /// <summary>g(z) for every elementwise kind (softmax is per row: <see cref="Softmax"/>).</summary>
    public static double Apply(Activation g, double z) => g.Kind switch
    {
        ActivationKind.Identity => z,
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-z)),
        ActivationKind.Tanh => Math.Tanh(z),
        ActivationKind.ReLU => Math.Max(0, z),
        ActivationKind.LeakyReLU => z >= 0 ? z : g.Alpha * z,
        ActivationKind.Step => z > 0 ? 1 : 0,
        ActivationKind.SiLU => z / (1 + Math.Exp(-z)),
        _ => throw new ArgumentException($"{g} is not elementwise."),
    };

    /// <summary>g'(z), the middle column of the table. At the kink z = 0: ReLU' = 0, leaky' = α (the library's choice).</summary>
    public static double Derivative(Activation g, double z) => g.Kind switch
    {
        ActivationKind.Identity => 1,
        ActivationKind.Sigmoid => Apply(g, z) * (1 - Apply(g, z)),
        ActivationKind.Tanh => 1 - Math.Tanh(z) * Math.Tanh(z),
        ActivationKind.ReLU => z > 0 ? 1 : 0,
        ActivationKind.LeakyReLU => z > 0 ? 1 : g.Alpha,
        // d/dz z·σ(z) = σ(z) + z·σ(z)(1 − σ(z))
        ActivationKind.SiLU => Sigma(z) * (1 + z * (1 - Sigma(z))),
        _ => throw new ArgumentException($"{g} has no elementwise derivative."),
    };

    private static double Sigma(double z) => 1 / (1 + Math.Exp(-z));

    /// <summary>g' written from a = g(z), the right column of the table (what a layer that stores only A uses).</summary>
    public static double DerivativeFromOutput(Activation g, double a) => g.Kind switch
    {
        ActivationKind.Identity => 1,
        ActivationKind.Sigmoid => a * (1 - a),
        ActivationKind.Tanh => 1 - a * a,
        ActivationKind.ReLU => a > 0 ? 1 : 0,
        ActivationKind.LeakyReLU => a > 0 ? 1 : g.Alpha,
        _ => throw new ArgumentException($"{g} has no elementwise derivative."),
    };

    /// <summary>softmax(z)_i = e^{z_i − max} / Σ_k e^{z_k − max}.</summary>
    public static double[] Softmax(double[] z)
    {
        double max = z.Max();
        var e = new double[z.Length];
        double sum = 0;
        for (int i = 0; i < z.Length; i++)
        {
            e[i] = Math.Exp(z[i] - max);
            sum += e[i];
        }
        for (int i = 0; i < z.Length; i++)
            e[i] /= sum;
        return e;
    }

    /// <summary>a = g(z) for one sample's layer: softmax over the row, otherwise elementwise.</summary>
    public static double[] ApplyLayer(Activation g, double[] z)
        => g.Kind == ActivationKind.Softmax ? Softmax(z) : z.Select(v => Apply(g, v)).ToArray();
}
