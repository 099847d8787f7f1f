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

    /// <summary>
    /// An exported int8 layer (DynamicQuantizeLinear → MatMulInteger → Cast → Mul → Add, as quantize_dynamic writes it)
    /// runs in ONNX Runtime. The weight codes are the same on both sides; only the activations are quantized differently
    /// (ONNX Runtime per tensor to 0…255 over a range that includes 0, this library per row to 0…127), each to within half
    /// its step. So the pre-activations differ by at most Σ_k |W_jk|·(step_ORT + step_row)/2, ReLU passes that on, and the
    /// fp32 output layer V by at most Σ_j |V_ij|·bound_j — checked output by output, with 1e-5 relative for float rounding.
    /// </summary>
    [Fact]
    public void AnInt8LayerRunsInOnnxRuntimeWithinTheActivationQuantizationBound()
    {
        const int features = 24, hidden = 16, outputs = 3, batch = 9;
        Network<float> net = Net(15, features, new(hidden, Activation.ReLU), new(outputs, Activation.Identity));
        Model<float> quantized = new Model<float>(net).Quantize(new QuantizationOptions { KeepOutputLayerInFloat = true });
        Assert.True(quantized.Quantized!.IsQuantized(0));
        float[] x = RandomValues(new Random(16), batch * features, 3);
        var ours = new float[batch * outputs];
        quantized.Predict(x, batch, ours);

        using var stream = new MemoryStream();
        OnnxModel.Export(quantized, stream);
        using var session = new InferenceSession(stream.ToArray());
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(x, [batch, features]);
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(runOptions, [OnnxModel.InputName], [input], [OnnxModel.OutputName]);
        float[] theirs = results[0].GetTensorDataAsSpan<float>().ToArray();

        // The dequantized weights s_j·q_jk, what both sides multiply by.
        ReadOnlySpan<float> w = quantized.Network.Weights(0), v = quantized.Network.Weights(1);
        float tensorLow = Math.Min(0, x.Min()), tensorHigh = Math.Max(0, x.Max());
        double ortStep = (tensorHigh - tensorLow) / 255.0;

        // First, the graph means what ONNX defines: x quantized per tensor (scale (max − min)/255 over a range holding 0,
        // zero point round(−min/scale)), the integer product with the codes (q_jk = w_jk/s_j, s_j = max_k |w_jk|/127), the
        // two scales, the bias, ReLU, then the fp32 layer — emulated here, it must agree with ONNX Runtime to float rounding.
        float scale = (tensorHigh - tensorLow) / 255f;
        int zeroPoint = (int)Math.Round(-tensorLow / scale, MidpointRounding.ToEven);
        ReadOnlySpan<float> hiddenBias = quantized.Network.Biases(0), outputBias = quantized.Network.Biases(1);
        for (int r = 0; r < batch; r++)
        {
            var a = new double[hidden];
            for (int j = 0; j < hidden; j++)
            {
                float weightScale = 0;
                for (int k = 0; k < features; k++)
                    weightScale = Math.Max(weightScale, Math.Abs(w[j * features + k]));
                weightScale /= 127;
                long sum = 0;
                for (int k = 0; k < features; k++)
                {
                    int q = Math.Clamp((int)Math.Round(x[r * features + k] / scale, MidpointRounding.ToEven) + zeroPoint, 0, 255);
                    sum += (long)(q - zeroPoint) * (long)Math.Round(w[j * features + k] / weightScale);
                }
                a[j] = Math.Max(0, (float)sum * (scale * weightScale) + hiddenBias[j]);
            }
            for (int i = 0; i < outputs; i++)
            {
                double want = outputBias[i];
                for (int j = 0; j < hidden; j++)
                    want += v[i * hidden + j] * a[j];
                float got = theirs[r * outputs + i];
                Assert.True(Math.Abs(got - want) <= 1e-4 * Math.Max(1, Math.Abs(want)), $"row {r}, output {i}: ONNX Runtime {got:R}, the graph's definition {want:R}");
            }
        }

        // Then, against this library's per-row quantization, the bound above.
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> row = x.AsSpan(r * features, features);
            double rowStep = (row.ToArray().Max() - row.ToArray().Min()) / 127.0;
            for (int i = 0; i < outputs; i++)
            {
                double bound = 0;
                for (int j = 0; j < hidden; j++)
                {
                    double hiddenBound = 0;
                    for (int k = 0; k < features; k++)
                        hiddenBound += Math.Abs(w[j * features + k]) * (ortStep + rowStep) / 2;
                    bound += Math.Abs(v[i * hidden + j]) * hiddenBound;
                }
                float a = ours[r * outputs + i], b = theirs[r * outputs + i];
                bound += 1e-5 * Math.Max(1, Math.Abs(a));
                Assert.True(Math.Abs(a - b) <= bound, $"row {r}, output {i}: Predict {a:R}, ONNX Runtime {b:R}, difference {Math.Abs(a - b):E2} > {bound:E2}");
            }
        }
    }

    [Fact]
    public void ALargerNetworkSingleSample()
        => AssertOnnxRuntimeAgrees(new Model<float>(Net(11, 784, new(512, Activation.ReLU), new(256, Activation.ReLU), new(10, Activation.Softmax))), batch: 1);
}
