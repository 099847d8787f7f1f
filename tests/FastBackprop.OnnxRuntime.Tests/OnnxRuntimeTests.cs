using Microsoft.ML.OnnxRuntime;
using static FastBackprop.Tests.Onnx.OnnxTestModels;

namespace FastBackprop.OnnxRuntime.Tests;

/// <summary>
/// FastBackprop → ONNX → ONNX Runtime: every activation, every head (softmax classes, one sigmoid unit, regression with
/// standardised targets), dropout, layer normalisation and the input standardisation; ONNX Runtime's outputs must match
/// <see cref="Model{T}.Predict"/> within 1e-5 relative (1e-5 absolute below 1: the kernels' exp and tanh differ in the
/// last bits, ONNX Runtime fuses Gemm and activation differently, and sums run in another order).
/// </summary>
public sealed class OnnxRuntimeTests
{
    private const double Tolerance = 1e-5;

    private static void AssertOnnxRuntimeAgrees(Model<float> model, int batch = 33)
    {
        using var stream = new MemoryStream();
        OnnxModel.Export(model, stream);
        float[] x = RandomValues(new Random(batch), batch * model.InputSize, 40);
        var want = new float[batch * model.OutputSize];
        model.Predict(x, batch, want);

        using var session = new InferenceSession(stream.ToArray());
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(x, [batch, model.InputSize]);
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(runOptions, [OnnxModel.InputName], [input], [OnnxModel.OutputName]);
        ReadOnlySpan<float> got = results[0].GetTensorDataAsSpan<float>();
        Assert.Equal(want.Length, got.Length);
        Assert.Equal([batch, model.OutputSize], results[0].GetTensorTypeAndShape().Shape);
        for (int i = 0; i < want.Length; i++)
        {
            double limit = Tolerance * Math.Max(1, Math.Abs(want[i]));
            Assert.True(Math.Abs(want[i] - got[i]) <= limit, $"output {i}: Predict {want[i]:R}, ONNX Runtime {got[i]:R}, difference {Math.Abs(want[i] - got[i]):E2} > {limit:E2}");
        }
        // The labels travel as metadata: ONNX Runtime sees them too.
        if (model.ClassLabels is not null)
            Assert.Contains(OnnxModel.ClassLabelsKey, session.ModelMetadata.CustomMetadataMap.Keys);
    }

    public static TheoryData<string> Activations => ["Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Step", "SiLU"];

    private static Activation Parse(string name) => name == "LeakyReLU" ? Activation.LeakyReLU(0.173) : Activation.FromKind(Enum.Parse<ActivationKind>(name));

    [Theory]
    [MemberData(nameof(Activations))]
    public void SoftmaxClassifierWithEveryHiddenActivation(string activation)
    {
        Activation a = Parse(activation);
        AssertOnnxRuntimeAgrees(new Model<float>(Net(1, 6, new(16, a), new(12, a), new(4, Activation.Softmax)), Scaler(2, 6),
            ["a", "b", "c", "d"], Loss.SoftmaxCrossEntropy));
    }

    [Theory]
    [MemberData(nameof(Activations))]
    public void EveryOutputActivationWithoutStandardisation(string activation)
        => AssertOnnxRuntimeAgrees(new Model<float>(Net(3, 5, new(9, Activation.Tanh), new(3, Parse(activation)))));

    [Fact]
    public void BinaryClassifier()
        => AssertOnnxRuntimeAgrees(new Model<float>(Net(4, 3, new(8, Activation.ReLU), new(1, Activation.Sigmoid)), Scaler(5, 3),
            ["no", "yes"], Loss.BinaryCrossEntropy));

    [Fact]
    public void RegressionWithStandardisedTargets()
        => AssertOnnxRuntimeAgrees(new Model<float>(Net(6, 4, new(10, Activation.SiLU), new(2, Activation.Identity)), Scaler(7, 4),
            null, Loss.MeanSquaredError, Scaler(8, 2, 500)));

    [Fact]
    public void DropoutIsLeftOut()
        => AssertOnnxRuntimeAgrees(new Model<float>(Net(9, 20, new(64, Activation.ReLU), LayerSpec.Dropout(0.5), new(32, Activation.LeakyReLU(0.01)),
            LayerSpec.Dropout(0.2), new(10, Activation.Softmax)), Scaler(10, 20)));

    [Fact]
    public void LayerNormalizationAsOnnxRuntimeComputesIt()
    {
        Network<float> net = Net(12, 20, new(48, Activation.ReLU), LayerSpec.LayerNorm(), LayerSpec.Dropout(0.1), new(17, Activation.Tanh),
            LayerSpec.LayerNorm(1e-3), new(5, Activation.Softmax));
        var random = new Random(13);
        foreach (int l in new[] { 1, 4 })
            net.SetWeights(l, RandomValues(random, net.Weights(l).Length, 2));
        AssertOnnxRuntimeAgrees(new Model<float>(net, Scaler(14, 20)));
    }

    [Fact]
    public void ALargerNetworkSingleSample()
        => AssertOnnxRuntimeAgrees(new Model<float>(Net(11, 784, new(512, Activation.ReLU), new(256, Activation.ReLU), new(10, Activation.Softmax))), batch: 1);
}
