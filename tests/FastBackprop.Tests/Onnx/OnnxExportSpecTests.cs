using FastBackprop.Onnx;
using static FastBackprop.Tests.Onnx.OnnxTestModels;

namespace FastBackprop.Tests.Onnx;

/// <summary>
/// The graph the exporter writes, node by node: the operators, their names (what Netron, onnxruntime's profiler and a
/// user's own tooling show) and the attributes that decide the arithmetic — pinned, since a wrong name still imports
/// and predicts (the survivors of the first mutation run of Serialization). Also Export's argument checks.
/// </summary>
public class OnnxExportSpecTests
{
    private static List<string> Nodes(Model<float> model)
    {
        var stream = new MemoryStream();
        OnnxModel.Export(model, stream);
        OnnxModelProto proto = OnnxParser.Parse(stream.ToArray(), null);
        return proto.Graph!.Nodes.Select(n => $"{n.OpType} {n.Name}" + string.Concat(n.Attributes.Select(a => $" {a.Name}={(a.Type == 1 ? a.F.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : a.I.ToString(System.Globalization.CultureInfo.InvariantCulture))}"))).ToList();
    }

    [Fact]
    public void Every_activation_and_the_input_standardisation_have_their_nodes_and_names()
    {
        var model = new Model<float>(Net(1, 4, new(3, Activation.ReLU), new(3, Activation.LeakyReLU(0.25)), new(3, Activation.Sigmoid),
            new(3, Activation.Tanh), new(3, Activation.SiLU), new(3, Activation.Step), new(2, Activation.Softmax)), Scaler(2, 4), ["a", "b"],
            Loss.SoftmaxCrossEntropy);
        Assert.Equal(
        [
            "Sub standardize_sub", "Mul standardize_mul",
            "Gemm layer0_gemm transB=1", "Relu layer0_relu",
            "Gemm layer1_gemm transB=1", "LeakyRelu layer1_leakyrelu alpha=0.25",
            "Gemm layer2_gemm transB=1", "Sigmoid layer2_sigmoid",
            "Gemm layer3_gemm transB=1", "Tanh layer3_tanh",
            "Gemm layer4_gemm transB=1", "Sigmoid layer4_silu_sigmoid", "Mul layer4_silu_mul",
            "Gemm layer5_gemm transB=1", "Relu layer5_step_relu", "Sign layer5_step_sign",
            "Gemm layer6_gemm transB=1", "Softmax layer6_softmax axis=-1",
        ], Nodes(model));
    }

    [Fact]
    public void Export_checks_its_arguments_before_writing()
    {
        var model = new Model<float>(Net(1, 4, new LayerSpec(2, Activation.Identity)));
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => OnnxModel.Export(model, "")).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => OnnxModel.Export((Model<float>)null!, "never-written.onnx")).ParamName);
        Assert.False(File.Exists("never-written.onnx"));
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => OnnxModel.Export((Model<float>)null!, new MemoryStream())).ParamName);
        Assert.Equal("stream", Assert.Throws<ArgumentNullException>(() => OnnxModel.Export(model, (Stream)null!)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => OnnxModel.Import<float>("")).ParamName);
        Assert.Equal("stream", Assert.Throws<ArgumentNullException>(() => OnnxModel.Import<float>((Stream)null!)).ParamName);
    }
}
