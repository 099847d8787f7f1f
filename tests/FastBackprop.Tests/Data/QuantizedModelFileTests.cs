using System.Buffers.Binary;
using System.Security.Cryptography;
using FastBackprop.Kernels.Int8;

namespace FastBackprop.Tests.Data;

/// <summary>
/// Quantized models in model files (format version 4): int8 dense layers are stored as their codes and per-channel
/// scales, so a saved and reloaded quantized model predicts bit-identically, with its standardisations, labels, loss and
/// feature names; the file is under 30% of the fp32 one; fp32 files of versions 1 to 3 load as before; and a hostile int8
/// block (truncated, miscounted, scales that are NaN, negative, zero or huge, codes of −128, a layer deeper than the int32
/// sums allow) is refused naming the field and its byte offset.
/// </summary>
public sealed class QuantizedModelFileTests
{
    /// <summary>Dropout, an fp32 hidden layer when asked, every elementwise activation the output can have.</summary>
    private static Model<float> Classifier(int seed, QuantizationOptions? options = null)
    {
        var network = new Network<float>(5, [new(9, Activation.ReLU), LayerSpec.Dropout(0.25), new(7, Activation.LeakyReLU(0.2)),
            new(3, Activation.Softmax)], seed);
        var model = new Model<float>(network, new Standardizer<float>([1, 2, 3, 4, 5], [0.5f, 1, 2, 4, 0.25f]), ["a", "b", "c"],
            Loss.SoftmaxCrossEntropy) { FeatureNames = ["v", "w", "x", "y", "z"] };
        return model.Quantize(options);
    }

    private static Model<float> Regression(int seed)
    {
        var network = new Network<float>(3, [new(6, Activation.Tanh), new(2, Activation.Identity)], seed);
        return new Model<float>(network, null, null, Loss.MeanSquaredError, new Standardizer<float>([10, -3], [0.1f, 2])).Quantize();
    }

    private static byte[] Bytes(Model<float> model)
    {
        var stream = new MemoryStream();
        ModelFile.Save(stream, model);
        return stream.ToArray();
    }

    private static Model<float> Load(byte[] bytes) => ModelFile.Load<float>(new MemoryStream(bytes));

    private static float[] Predict(Model<float> model, float[] x, int batch)
    {
        var y = new float[batch * model.OutputSize];
        model.Predict(x, batch, y);
        return y;
    }

    /// <summary>Recomputes the trailing SHA-256 after an edit, as a hostile writer would.</summary>
    private static byte[] Resigned(byte[] bytes)
    {
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32), bytes.AsSpan(bytes.Length - 32));
        return bytes;
    }

    private static InvalidDataException Refused(byte[] bytes, string field, long offset)
    {
        var e = Assert.Throws<InvalidDataException>(() => Load(bytes));
        Assert.Equal(field, e.Data["Field"]);
        Assert.Equal(offset, e.Data["Offset"]);
        Assert.StartsWith($"<stream>, offset {offset}, {field}: ", e.Message);
        return e;
    }

    /// <summary>Where the blocks of a saved quantized model start (docs/MODEL_FORMAT.md): the layer records, the parameters
    /// (P float32 values), the int8 block's count, and each int8 layer's scales.</summary>
    private sealed record Layout(int Layers, long Parameters, int CountAt, int[] ScalesAt, int[] CodesAt);

    private static Layout LayoutOf(byte[] bytes, Model<float> model)
    {
        int layers = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(20));
        long parameters = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(24 + 16 * layers));
        int at = 32 + 16 * layers + (int)parameters * 4;
        int countAt = at;
        at += 8;
        List<int> scales = [], codes = [];
        QuantizedNetwork quantized = model.Quantized!;
        int fanIn = model.InputSize;
        for (int l = 0; l < quantized.LayerCount; l++)
        {
            LayerSpec spec = quantized.Layer(l);
            if (spec.Kind != LayerKind.Dense)
                continue;
            if (quantized.IsQuantized(l))
            {
                scales.Add(at);
                at += 4 * spec.Units;
                codes.Add(at);
                at += spec.Units * fanIn;
            }
            fanIn = spec.Units;
        }
        return new Layout(layers, parameters, countAt, [.. scales], [.. codes]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_quantized_model_round_trips_bit_identically_with_everything_it_carries(bool outputInFloat)
    {
        Model<float> model = Classifier(3, new QuantizationOptions { KeepOutputLayerInFloat = outputInFloat });
        byte[] bytes = Bytes(model);
        Assert.Equal(ModelFile.FormatVersion, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
        Model<float> loaded = Load(bytes);

        Assert.NotNull(loaded.Quantized);
        Assert.Equal(Enumerable.Range(0, 4).Select(model.Quantized!.IsQuantized), Enumerable.Range(0, 4).Select(loaded.Quantized!.IsQuantized));
        Assert.Equal(!outputInFloat, loaded.Quantized.IsQuantized(3));
        for (int l = 0; l < 4; l++)
            Assert.Equal(model.Quantized.Layer(l), loaded.Quantized.Layer(l));
        Assert.Equal(model.ClassLabels, loaded.ClassLabels);
        Assert.Equal(model.FeatureNames, loaded.FeatureNames);
        Assert.Equal(model.Loss, loaded.Loss);
        Bits.Equal<float>(model.InputStandardization!.Scale, loaded.InputStandardization!.Scale, "standardisation scales");
        Bits.Equal<float>(model.Network.Parameters, loaded.Network.Parameters, "the dequantized weights");

        float[] x = TestData.Uniform<float>(new Random(5), 37 * 5, -8, 8);
        Bits.Equal<float>(Predict(model, x, 37), Predict(loaded, x, 37), "predictions");
        Assert.Equal(bytes, Bytes(loaded));
    }

    [Fact]
    public void A_quantized_regression_model_round_trips_its_target_standardisation()
    {
        Model<float> model = Regression(4);
        Model<float> loaded = Load(Bytes(model));
        Bits.Equal<float>(model.TargetStandardization!.Mean, loaded.TargetStandardization!.Mean, "target means");
        float[] x = TestData.Uniform<float>(new Random(6), 11 * 3, -2, 2);
        Bits.Equal<float>(Predict(model, x, 11), Predict(loaded, x, 11), "predictions");
    }

    [Fact]
    public void A_quantized_model_predicts_through_its_int8_layers_not_the_weights_they_stand_for()
    {
        Model<float> model = Classifier(7);
        float[] x = TestData.Uniform<float>(new Random(8), 3 * 5, 1, 6);
        var expected = new float[3 * 3];
        float[] standardised = (float[])x.Clone();
        model.InputStandardization!.Transform(standardised);
        model.Quantized!.Predict(standardised, 3, expected, model.Quantized.CreateInferenceWorkspace(3));
        Bits.Equal<float>(expected, Predict(model, x, 3), "Model.Predict is the int8 network's");
        Assert.Contains("already quantized", Assert.Throws<ArgumentException>("model", () => model.Quantize()).Message);
    }

    [Fact]
    public void The_quantized_file_of_a_784_512_256_10_network_is_at_most_30_percent_of_the_fp32_one()
    {
        var fp32 = new Model<float>(new Network<float>(784, [new(512, Activation.ReLU), new(256, Activation.ReLU), new(10, Activation.Softmax)], seed: 1));
        long full = Bytes(fp32).Length, quantized = Bytes(fp32.Quantize()).Length;
        // 535,040 weights: 4 bytes each in fp32; 1 byte plus a 4-byte scale per unit (778) and fp32 biases at int8.
        Assert.Equal(24 + 3 * 16 + 8 + 535_818 * 4 + 32, full);
        Assert.Equal(24 + 3 * 16 + 8 + 778 * 4 + 8 + 778 * 4 + 535_040 + 32, quantized);
        Assert.True(quantized <= 0.30 * full, $"{quantized} bytes is {100.0 * quantized / full:F1}% of {full}");
    }

    [Fact]
    public void Fp32_files_of_versions_1_to_3_still_load_and_int8_records_need_version_4()
    {
        var network = new Network<float>(4, [new(6, Activation.SiLU), new(2, Activation.Sigmoid)], seed: 9);
        byte[] current = Bytes(new Model<float>(network, null, null, Loss.MeanSquaredError));
        float[] x = TestData.Uniform<float>(new Random(10), 4 * 4, -1, 1);
        float[] expected = Predict(new Model<float>(network), x, 4);
        foreach (uint version in new uint[] { 1, 2, 3 })
        {
            byte[] old = [.. current];
            BinaryPrimitives.WriteUInt32LittleEndian(old.AsSpan(8), version);
            Model<float> loaded = Load(Resigned(old));
            Assert.Null(loaded.Quantized);
            Bits.Equal<float>(expected, Predict(loaded, x, 4), $"version {version}");
        }

        byte[] int8 = Bytes(Classifier(1));
        BinaryPrimitives.WriteUInt32LittleEndian(int8.AsSpan(8), 3);
        Assert.Contains("unknown layer kind 128 (0 dense, 1 dropout).", Refused(Resigned(int8), "layer 0 kind", 29).Message);
    }

    [Fact]
    public void Truncated_and_miscounted_int8_blocks_are_refused_naming_the_field_and_offset()
    {
        Model<float> model = Classifier(11);
        byte[] bytes = Bytes(model);
        Layout layout = LayoutOf(bytes, model);

        // Cut and re-signed: without its int8 block the layers promise more than the file holds; cut inside the last
        // layer's codes, the read of those codes finds too few bytes.
        byte[] noBlock = Resigned([.. bytes[..layout.CountAt], .. new byte[32]]);
        Assert.Contains("bring the parameters to 16 and the int8 weights to 108, more than the", Refused(noBlock, "layer 2 units", 24 + 2 * 16).Message);
        byte[] cut = Resigned([.. bytes[..(layout.CodesAt[^1] + 5)], .. new byte[32]]);
        Assert.Contains("needs 21 bytes, only 5 remain", Refused(cut, "layer 3 weight codes", layout.CodesAt[^1]).Message);

        byte[] Edit(Action<byte[]> edit)
        {
            byte[] copy = [.. bytes];
            edit(copy);
            return Resigned(copy);
        }
        int parameterCountAt = 24 + 16 * layout.Layers;
        Assert.Contains($"{layout.Parameters + 1}, but the architecture implies {layout.Parameters}",
            Refused(Edit(b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(parameterCountAt), layout.Parameters + 1)), "parameter count", parameterCountAt).Message);
        long codes = 5 * 9 + 9 * 7 + 7 * 3;
        Assert.Equal(codes, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(layout.CountAt)));
        Assert.Contains($"{codes - 1}, but the int8 layers imply {codes}",
            Refused(Edit(b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(layout.CountAt), codes - 1)), "int8 weight count", layout.CountAt).Message);
    }

    [Theory]
    [InlineData(float.NaN, "value 4 is NaN")]
    [InlineData(float.PositiveInfinity, "value 4 is Infinity")]
    [InlineData(-0.5f, "scale 4 is -0.5, outside [1E-45, 2.658")]
    [InlineData(0f, "scale 4 is 0, outside")]
    [InlineData(-0f, "scale 4 is -0, outside")]
    [InlineData(3e36f, "scale 4 is 3E+36, outside")]
    public void Weight_scales_that_are_not_finite_positive_and_within_a_float_are_refused(float scale, string message)
    {
        Model<float> model = Classifier(12);
        byte[] bytes = Bytes(model);
        int at = LayoutOf(bytes, model).ScalesAt[1] + 4 * 4;
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(at), scale);
        Assert.Contains(message, Refused(Resigned(bytes), "layer 2 weight scales", at).Message);
    }

    [Fact]
    public void The_largest_scale_is_accepted_as_a_value_but_a_model_that_overflows_with_it_is_refused()
    {
        Model<float> model = Classifier(13);
        byte[] bytes = Bytes(model);
        Layout layout = LayoutOf(bytes, model);
        Assert.Equal(float.MaxValue / 128, Int8Scheme.MaxWeightScale);
        Assert.True(float.IsFinite(Int8Scheme.MaxWeightScale * 127));
        for (int j = 0; j < 9; j++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(layout.ScalesAt[0] + 4 * j), Int8Scheme.MaxWeightScale);
        Assert.Contains("out of any sensible range", Refused(Resigned(bytes), "parameters", 32 + 16 * layout.Layers).Message);
    }

    [Fact]
    public void A_code_of_minus_128_is_refused_at_its_byte()
    {
        Model<float> model = Classifier(14);
        byte[] bytes = Bytes(model);
        int at = LayoutOf(bytes, model).CodesAt[1] + 2 * 9 + 4;   // unit 2, input 4 of layer 2 (9 inputs)
        bytes[at] = 0x80;
        Assert.Contains("code 22 (unit 2, input 4) is -128; int8 weights are symmetric, in [-127, 127]",
            Refused(Resigned(bytes), "layer 2 weight codes", at).Message);
    }

    [Fact]
    public void An_int8_layer_deeper_than_the_int32_sums_allow_or_with_float64_values_is_refused_at_its_kind()
    {
        byte[] Layer(int units, byte kind) => [.. BitConverter.GetBytes(units), (byte)ActivationKind.Identity, kind, 0, 0, .. new byte[8]];
        byte[] File(byte element, int inputs, long parameters, byte[] rest)
        {
            byte[] body = [.. "FBPMODEL"u8, .. BitConverter.GetBytes(4u), element, 0, 0, 0, .. BitConverter.GetBytes(inputs), .. BitConverter.GetBytes(1),
                .. Layer(1, ModelFile.Int8DenseKind), .. BitConverter.GetBytes(parameters), .. rest];
            return [.. body, .. SHA256.HashData(body)];
        }
        byte[] Int8Block(int inputs) => [.. BitConverter.GetBytes((long)inputs), .. BitConverter.GetBytes(1f / 127), .. Enumerable.Repeat((byte)1, inputs)];

        // At the bound the layer loads (one unit whose 131,072 codes of 1 sum to 131,072·1).
        Model<float> deepest = Load(File(4, Int8Scheme.MaxDepth, 1, [.. BitConverter.GetBytes(0f), .. Int8Block(Int8Scheme.MaxDepth)]));
        Assert.True(deepest.Quantized!.IsQuantized(0));
        Assert.Contains("takes at most 131072 inputs (so its int32 sums cannot overflow), this one has 131073",
            Refused(File(4, Int8Scheme.MaxDepth + 1, 1, [.. BitConverter.GetBytes(0f), .. Int8Block(Int8Scheme.MaxDepth + 1)]), "layer 0 kind", 29).Message);
        Assert.Contains("biases are float32 (element type 4), but this file's values are float64 (8)",
            Refused(File(8, 2, 1, [.. BitConverter.GetBytes(0d), .. Int8Block(2)]), "layer 0 kind", 29).Message);
        byte[] small = File(4, 2, 1, [.. BitConverter.GetBytes(0f), .. Int8Block(2)]);
        Assert.True(Load(small).Quantized!.IsQuantized(0));
        var e = Assert.Throws<InvalidDataException>(() => ModelFile.Load<double>(new MemoryStream(small)));
        Assert.Contains("layer 0 kind: an int8 dense layer runs in float: load the file as Model<Single>, not Model<Double>.", e.Message);
    }
}
