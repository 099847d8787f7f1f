using FastBackprop.Tests.Reference;
using FsCheck;
using FsCheck.Fluent;

namespace FastBackprop.Tests;

/// <summary>
/// MATH.md's last worked example: central differences (C(θ + h) − C(θ − h)) / 2h in double, h = 1e-6, on every
/// parameter of small networks, against ComputeGradients — PyTorch gradcheck's |a − e| ≤ atol + rtol·|e|.
/// Truncation error is O(h²) ≈ 1e-12; rounding is (δC₊ + δC₋)/2h with δC ≲ 32u·|C| for a cost summed over the
/// batch in double (u = 2⁻⁵³), so atol = 1e-8 + 32u·|C|/h and rtol = 1e-6.
/// ReLU-family units are kept at least 1e-3 away from their kink (where the derivative is not defined).
/// </summary>
public class GradientCheckTests
{
    private const double H = 1e-6, Rtol = 1e-6, Atol = 1e-8;

    private static readonly Gen<int> Tiny = Gen.Choose(1, 6);

    [Theory]
    [MemberData(nameof(Heads.All), MemberType = typeof(Heads))]
    public void Library_gradients_match_finite_differences(Head head)
        => Properties.Check($"gradcheck-{head}", NetworkCase.Arbitrary(head, Tiny, Tiny), c => Check(c, library: true), 12);

    /// <summary>The reference's own BP1–BP4 pass the same check, so it is right independently of the library.</summary>
    [Theory]
    [MemberData(nameof(Heads.All), MemberType = typeof(Heads))]
    public void Reference_gradients_match_finite_differences(Head head)
        => Properties.Check($"gradcheck-reference-{head}", NetworkCase.Arbitrary(head, Tiny, Tiny), c => Check(c, library: false), 6);

    /// <summary>The general BP1 for binary cross-entropy, ∂C/∂a ⊙ σ'(z), equals the fused s·(a − y) the reference uses.</summary>
    [Fact]
    public void Fused_binary_cross_entropy_delta_is_the_general_one()
    {
        var random = new Random(11);
        for (int trial = 0; trial < 200; trial++)
        {
            double z = 8 * random.NextDouble() - 4, y = random.Next(3) / 2.0;
            double a = ReferenceActivation.Apply(Activation.Sigmoid, z);
            double general = ReferenceLoss.GradientWithRespectToOutput(Loss.BinaryCrossEntropy, [a], [y])[0]
                * ReferenceActivation.Derivative(Activation.Sigmoid, z);
            double fused = ReferenceLoss.OutputDelta(Loss.BinaryCrossEntropy, Activation.Sigmoid, [z], [a], [y], 1)[0];
            Close.Relative(general, fused, 1e-14, 1e-12, $"z = {z}, y = {y}");
        }
    }

    private static void Check(NetworkCase c, bool library)
    {
        var random = new Random(c.Seed ^ 0x5bd1e995);
        Network<double> network = NetworkTests.Build<double>(c, out double[] x, out double[] targets, out int[] classes);
        NetworkTests.RedrawSamplesNearKinks(network, x, c.Batch, random, margin: 1e-3);
        Loss loss = Heads.Loss(c.Head);
        bool indices = Heads.ClassIndices(c.Head);
        double[][] rows = TestData.Rows<double>(x, c.Batch, c.Inputs);
        double[][] y = indices ? ReferenceLoss.OneHot(classes, c.Outputs) : TestData.Rows<double>(targets, c.Batch, c.Outputs);
        Gradients<double> scratch = network.CreateGradients();

        double Cost()
        {
            if (!library)
                return ReferenceNetwork.From(network).Cost(rows, y, loss);
            return indices
                ? network.ComputeGradients(x, classes, c.Batch, loss, scratch)
                : network.ComputeGradients(x, targets, c.Batch, loss, scratch);
        }

        double[] analytic;
        if (library)
        {
            Gradients<double> g = network.CreateGradients();
            _ = indices ? network.ComputeGradients(x, classes, c.Batch, loss, g) : network.ComputeGradients(x, targets, c.Batch, loss, g);
            analytic = g.Values.ToArray();
        }
        else
        {
            ReferenceGradients r = ReferenceNetwork.From(network).Backpropagate(rows, y, loss);
            analytic = Enumerable.Range(0, network.LayerCount).SelectMany(l => r.Weights[l].Concat(r.Biases[l])).ToArray();
        }

        Span<double> theta = network.Parameters;
        for (int p = 0; p < theta.Length; p++)
        {
            double saved = theta[p];
            theta[p] = saved + H;
            double plus = Cost();
            theta[p] = saved - H;
            double minus = Cost();
            theta[p] = saved;
            double numeric = (plus - minus) / (2 * H);
            double atol = Atol + 32 * Math.ScaleB(1, -53) * Math.Max(Math.Abs(plus), Math.Abs(minus)) / H;
            Close.Relative(analytic[p], numeric, atol, Rtol, $"{c} ({(library ? "library" : "reference")}): ∂C/∂θ[{p}]");
        }
    }
}
