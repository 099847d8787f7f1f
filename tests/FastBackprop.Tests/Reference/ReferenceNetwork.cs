using System.Numerics;

namespace FastBackprop.Tests.Reference;

/// <summary>One dense layer: W is units×inputs row-major (row i = unit i's input weights), b has units entries.</summary>
public sealed class ReferenceLayer(int inputs, int units, double[] weights, double[] biases, Activation activation)
{
    public int Inputs { get; } = inputs;
    public int Units { get; } = units;
    public double[] W { get; } = weights;
    public double[] B { get; } = biases;
    public Activation G { get; } = activation;

    /// <summary>w_{i,j}: the weight of input j into unit i.</summary>
    public double Weight(int i, int j) => W[i * Inputs + j];
}

/// <summary>Everything one sample goes through: A[0] = x, then Z[l] and A[l + 1] = g(Z[l]) for layer l,
/// and after the backward pass Delta[l] = ∂C/∂Z[l] (this sample's share).</summary>
public sealed class SampleTrace
{
    public required double[][] A { get; init; }
    public required double[][] Z { get; init; }
    public double[][] Delta { get; set; } = [];
}

/// <summary>The result of the reference backward pass over a batch.</summary>
public sealed class ReferenceGradients
{
    public required double Loss { get; init; }
    public required double[][] Weights { get; init; }
    public required double[][] Biases { get; init; }
    public required SampleTrace[] Samples { get; init; }
}

/// <summary>
/// MATH.md's network in the notes' column-vector form, one sample at a time, in double:
/// z = W a + b, a = g(z) forward; BP1 (Δ_L), BP2 (Δ_l = (W_{l+1}ᵀ Δ_{l+1}) ⊙ g'(z_l)),
/// BP3 (∂C/∂b = Δ) and BP4 (∂C/∂w_{ij} = Δ_i a_j^{l−1}) backward, summed over the samples of the batch.
/// </summary>
public sealed class ReferenceNetwork(IReadOnlyList<ReferenceLayer> layers)
{
    public IReadOnlyList<ReferenceLayer> Layers { get; } = layers;

    /// <summary>Dropout in front of dense layers: InputMasks[l][n] (null for no dropout there) multiplies sample n's input to
    /// layer l (the scaled mask, 0 or 1/(1 − p)). Then z_l = W (a_l ⊙ m) + b, BP4 uses a_l ⊙ m, and BP2 carries the mask:
    /// Δ_{l−1} = ((W_lᵀ Δ_l) ⊙ m) ⊙ g'(z_{l−1}).</summary>
    public double[]?[][]? InputMasks { get; init; }

    /// <summary>Layer l's input for sample n, masked where dropout is.</summary>
    private double[] Input(double[] a, int l, int n)
        => InputMasks?[l]?[n] is double[] m && n >= 0 ? a.Select((v, j) => v * m[j]).ToArray() : a;

    /// <summary>The same network with the library's parameters (converted to double exactly).</summary>
    public static ReferenceNetwork From<T>(Network<T> network) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var layers = new List<ReferenceLayer>();
        for (int l = 0; l < network.LayerCount; l++)
        {
            layers.Add(new ReferenceLayer(network.LayerInputs(l), network.Layer(l).Units,
                ToDouble<T>(network.Weights(l)), ToDouble<T>(network.Biases(l)), network.Layer(l).Activation));
        }
        return new ReferenceNetwork(layers);
    }

    public static double[] ToDouble<T>(ReadOnlySpan<T> values) where T : INumberBase<T>
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
            result[i] = double.CreateChecked(values[i]);
        return result;
    }

    /// <summary>Forward pass of one sample x (sample <paramref name="n"/> of a batch, for its dropout masks).</summary>
    public SampleTrace Forward(double[] x, int n = -1)
    {
        var a = new double[Layers.Count + 1][];
        var z = new double[Layers.Count][];
        a[0] = x;
        for (int l = 0; l < Layers.Count; l++)
        {
            ReferenceLayer layer = Layers[l];
            z[l] = new double[layer.Units];
            double[] input = Input(a[l], l, n);
            for (int i = 0; i < layer.Units; i++)
            {
                // z_i = Σ_j w_ij a_j + b_i
                double sum = 0;
                for (int j = 0; j < layer.Inputs; j++)
                    sum += layer.Weight(i, j) * input[j];
                z[l][i] = sum + layer.B[i];
            }
            a[l + 1] = ReferenceActivation.ApplyLayer(layer.G, z[l]);
        }
        return new SampleTrace { A = a, Z = z };
    }

    /// <summary>The network's outputs for each sample.</summary>
    public double[][] Outputs(double[][] inputs) => inputs.Select(x => Forward(x).A[^1]).ToArray();

    /// <summary>The batch cost C (no gradients).</summary>
    public double Cost(double[][] inputs, double[][] targets, Loss loss)
    {
        double s = ReferenceLoss.Scale(loss, inputs.Length);
        double cost = 0;
        for (int n = 0; n < inputs.Length; n++)
        {
            SampleTrace t = Forward(inputs[n], n);
            cost += s * ReferenceLoss.Value(loss, t.Z[^1], t.A[^1], targets[n]);
        }
        return cost;
    }

    /// <summary>The cost and every gradient, by BP1–BP4 for each sample, summed over the batch.</summary>
    public ReferenceGradients Backpropagate(double[][] inputs, double[][] targets, Loss loss)
    {
        int count = Layers.Count;
        var dW = Layers.Select(l => new double[l.Units * l.Inputs]).ToArray();
        var db = Layers.Select(l => new double[l.Units]).ToArray();
        var samples = new SampleTrace[inputs.Length];
        double s = ReferenceLoss.Scale(loss, inputs.Length);
        double cost = 0;

        for (int n = 0; n < inputs.Length; n++)
        {
            SampleTrace t = Forward(inputs[n], n);
            cost += s * ReferenceLoss.Value(loss, t.Z[^1], t.A[^1], targets[n]);

            var delta = new double[count][];
            // BP1
            delta[count - 1] = ReferenceLoss.OutputDelta(loss, Layers[count - 1].G, t.Z[^1], t.A[^1], targets[n], s);
            for (int l = count - 1; l >= 0; l--)
            {
                ReferenceLayer layer = Layers[l];
                double[] input = Input(t.A[l], l, n);
                for (int i = 0; i < layer.Units; i++)
                {
                    db[l][i] += delta[l][i];                                  // BP3
                    for (int j = 0; j < layer.Inputs; j++)
                        dW[l][i * layer.Inputs + j] += delta[l][i] * input[j]; // BP4
                }
                if (l > 0)
                {
                    // BP2: Δ_{l−1} = (W_lᵀ Δ_l) ⊙ g'_{l−1}(z_{l−1})
                    ReferenceLayer below = Layers[l - 1];
                    delta[l - 1] = new double[layer.Inputs];
                    for (int j = 0; j < layer.Inputs; j++)
                    {
                        double sum = 0;
                        for (int i = 0; i < layer.Units; i++)
                            sum += layer.Weight(i, j) * delta[l][i];
                        if (InputMasks?[l]?[n] is double[] m)
                            sum *= m[j];
                        delta[l - 1][j] = sum * ReferenceActivation.Derivative(below.G, t.Z[l - 1][j]);
                    }
                }
            }
            t.Delta = delta;
            samples[n] = t;
        }
        return new ReferenceGradients { Loss = cost, Weights = dW, Biases = db, Samples = samples };
    }
}
