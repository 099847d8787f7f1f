using FastBackprop.Tests.Onnx;
using static FastBackprop.Tests.Onnx.OnnxTestModels;

namespace FastBackprop.Tests.Serialization;

/// <summary>
/// ONNX's Gemm as the importer reads it (Y = alpha·op(A)·op(B) + beta·C): attributes left out take ONNX's defaults
/// (alpha = beta = 1, transA = transB = 0, so B is stored inputs × units), the bias C is optional and broadcasts from
/// [units], [1, units] or one value, and only what a dense layer can be is accepted.
/// </summary>
public class OnnxGemmSpecTests
{
    private const int Inputs = 4, Units = 3;
    private static readonly float[] W = RandomValues(new Random(31), Units * Inputs);   // units × inputs, as the library stores it
    private static readonly float[] B = RandomValues(new Random(32), Units);

    private static float[] InputsByUnits()
    {
        var t = new float[W.Length];
        for (int u = 0; u < Units; u++)
            for (int i = 0; i < Inputs; i++)
                t[i * Units + u] = W[u * Inputs + i];
        return t;
    }

    private static Model<float> Reference(float[] bias)
    {
        var net = new Network<float>(Inputs, [new LayerSpec(Units, Activation.Identity)]);
        net.SetWeights(0, W);
        net.SetBiases(0, bias);
        return new Model<float>(net);
    }

    private static Model<float> Import(byte[] onnx) => OnnxModel.Import<float>(new MemoryStream(onnx));

    private static void AssertSamePredictions(Model<float> expected, Model<float> actual)
    {
        const int batch = 5;
        float[] x = RandomValues(new Random(33), batch * Inputs, 10);
        float[] want = new float[batch * Units], got = new float[batch * Units];
        expected.Predict(x, batch, want);
        actual.Predict(x, batch, got);
        Assert.Equal(want, got);
    }

    private static OnnxGraphBuilder Graph(bool transposed, long[]? biasDims = null, float[]? bias = null)
    {
        var g = new OnnxGraphBuilder().Input("x", null, Inputs).Output("y", null, Units)
            .Initializer("w", transposed ? [Units, Inputs] : [Inputs, Units], transposed ? W : InputsByUnits());
        return bias is null ? g : g.Initializer("b", biasDims ?? [Units], bias);
    }

    [Fact]
    public void A_gemm_without_attributes_takes_onnxs_defaults()
    {
        byte[] onnx = Graph(transposed: false, bias: B).Node("Gemm", "fc", ["x", "w", "b"], "y").Build();
        AssertSamePredictions(Reference(B), Import(onnx));
    }

    [Fact]
    public void Explicit_default_attributes_mean_the_same()
    {
        byte[] onnx = Graph(transposed: false, bias: B)
            .Node("Gemm", "fc", ["x", "w", "b"], "y", ("alpha", 1f), ("beta", 1f), ("transA", 0), ("transB", 0)).Build();
        AssertSamePredictions(Reference(B), Import(onnx));
        byte[] transposed = Graph(transposed: true, bias: B)
            .Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1), ("alpha", 1f)).Build();
        AssertSamePredictions(Reference(B), Import(transposed));
    }

    /// <summary>C is optional: two inputs, or an empty name in its place, give a zero bias (and beta then does not matter).</summary>
    [Fact]
    public void Without_c_the_bias_is_zero_whatever_beta()
    {
        AssertSamePredictions(Reference(new float[Units]), Import(Graph(transposed: true).Node("Gemm", "fc", ["x", "w"], "y", ("transB", 1), ("beta", 0.5f)).Build()));
        AssertSamePredictions(Reference(new float[Units]), Import(Graph(transposed: true).Node("Gemm", "fc", ["x", "w", ""], "y", ("transB", 1)).Build()));
    }

    [Fact]
    public void The_bias_broadcasts_from_one_row_or_one_value()
    {
        AssertSamePredictions(Reference(B), Import(Graph(true, [1, Units], B).Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build()));
        AssertSamePredictions(Reference([0.25f, 0.25f, 0.25f]), Import(Graph(true, [1], [0.25f]).Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build()));
        AssertSamePredictions(Reference([0.25f, 0.25f, 0.25f]), Import(Graph(true, [1, 1], [0.25f]).Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build()));
    }

    [Theory]
    [InlineData(new long[] { Units + 1 })]
    [InlineData(new long[] { 2, Units })]
    [InlineData(new long[] { 1, 1, Units })]
    [InlineData(new long[] { Units, 1 })]
    public void A_bias_of_another_shape_is_refused(long[] dims)
    {
        float[] values = new float[dims.Aggregate(1L, (a, d) => a * d)];
        byte[] onnx = Graph(true, dims, values).Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build();
        var e = Assert.Throws<InvalidDataException>(() => Import(onnx));
        Assert.Contains("'b'", e.Message, StringComparison.Ordinal);
    }

    /// <summary>What a dense layer cannot be: a scaled product or bias, a transposed input, a transB other than 0 or 1.</summary>
    [Theory]
    [InlineData("alpha", 2f)]
    [InlineData("alpha", 0.999f)]
    [InlineData("beta", 0.5f)]
    [InlineData("transA", 1)]
    [InlineData("transB", 2)]
    [InlineData("transB", -1)]
    public void Attributes_a_dense_layer_cannot_have_are_refused(string attribute, object value)
    {
        byte[] onnx = Graph(transposed: false, bias: B).Node("Gemm", "fc", ["x", "w", "b"], "y", (attribute, value)).Build();
        var e = Assert.Throws<InvalidDataException>(() => Import(onnx));
        Assert.Contains(attribute, e.Message, StringComparison.Ordinal);
    }

    /// <summary>The weight's inner dimension must match the layer before: with transB = 0 that is its rows.</summary>
    [Fact]
    public void The_weight_must_take_the_previous_layers_units()
    {
        byte[] onnx = new OnnxGraphBuilder().Input("x", null, Inputs).Output("y", null, 2)
            .Initializer("w0", [Inputs, Units], InputsByUnits())
            .Initializer("w1", [Units + 1, 2], new float[(Units + 1) * 2])
            .Node("Gemm", "fc0", ["x", "w0"], "h").Node("Gemm", "fc1", ["h", "w1"], "y").Build();
        Assert.Throws<InvalidDataException>(() => Import(onnx));
        byte[] fits = new OnnxGraphBuilder().Input("x", null, Inputs).Output("y", null, 2)
            .Initializer("w0", [Inputs, Units], InputsByUnits())
            .Initializer("w1", [Units, 2], new float[Units * 2])
            .Node("Gemm", "fc0", ["x", "w0"], "h").Node("Gemm", "fc1", ["h", "w1"], "y").Build();
        Model<float> model = Import(fits);
        Assert.Equal((Inputs, 2), (model.InputSize, model.OutputSize));
    }
}
