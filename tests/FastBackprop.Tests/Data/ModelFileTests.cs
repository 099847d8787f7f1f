using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace FastBackprop.Tests.Data;

/// <summary>
/// ModelFile: a saved and reloaded model predicts bit-identically (float and double, every activation, leaky ReLU's
/// alpha, standardisation, labels, loss); every single-byte corruption and every truncation is detected; hostile
/// headers with a valid checksum fail without large allocations; saving is atomic.
/// </summary>
public sealed class ModelFileTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static T[] Random<T>(Random random, int n, double scale = 1) where T : IBinaryFloatingPointIeee754<T>
        => Enumerable.Range(0, n).Select(_ => T.CreateChecked(scale * (2 * random.NextDouble() - 1))).ToArray();

    private static Network<T> Net<T>(int seed, int inputs, params LayerSpec[] layers) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var net = new Network<T>(inputs, layers, seed);
        var random = new Random(seed);
        for (int l = 0; l < net.LayerCount; l++)
            net.SetBiases(l, Random<T>(random, net.Layer(l).Units, 0.5));
        return net;
    }

    private static Model<T> Full<T>(int seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Network<T> net = Net<T>(seed, 6,
            new(9, Activation.LeakyReLU(0.173)), new(8, Activation.Tanh), new(7, Activation.Sigmoid),
            new(6, Activation.ReLU), new(5, Activation.Identity), new(4, Activation.Softmax));
        T[] training = Random<T>(new Random(seed + 1), 30 * 6, 40);
        for (int i = 0; i < training.Length; i++)
            training[i] += T.CreateChecked(i % 6 * 10);
        return new Model<T>(net, Standardizer<T>.Fit(training, 6), ["cat", "dög", "a,b \"c\"", ""], Loss.SoftmaxCrossEntropy);
    }

    private static void AssertSame<T>(Model<T> expected, Model<T> actual) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Assert.Equal(expected.InputSize, actual.InputSize);
        Assert.Equal(expected.Network.LayerCount, actual.Network.LayerCount);
        for (int l = 0; l < expected.Network.LayerCount; l++)
            Assert.Equal(expected.Network.Layer(l), actual.Network.Layer(l));
        Bits.Equal<T>(expected.Network.Parameters, actual.Network.Parameters, "parameters");
        Assert.Equal(expected.InputStandardization is null, actual.InputStandardization is null);
        if (expected.InputStandardization is not null)
        {
            Bits.Equal(expected.InputStandardization.Mean, actual.InputStandardization!.Mean, "mean");
            Bits.Equal(expected.InputStandardization.Scale, actual.InputStandardization.Scale, "scale");
        }
        Assert.Equal(expected.ClassLabels, actual.ClassLabels);
        Assert.Equal(expected.Loss, actual.Loss);
        Assert.Equal(expected.TargetStandardization is null, actual.TargetStandardization is null);
        if (expected.TargetStandardization is not null)
        {
            Bits.Equal(expected.TargetStandardization.Mean, actual.TargetStandardization!.Mean, "target mean");
            Bits.Equal(expected.TargetStandardization.Scale, actual.TargetStandardization.Scale, "target scale");
        }

        var random = new Random(77);
        const int batch = 13;
        T[] x = Random<T>(random, batch * expected.InputSize, 60);
        T[] before = (T[])x.Clone();
        var a = new T[batch * expected.OutputSize];
        var b = new T[batch * expected.OutputSize];
        expected.Predict(x, batch, a);
        actual.Predict(x, batch, b);
        Bits.Equal<T>(a, b, "predictions");
        Bits.Equal<T>(before, x, "Predict left its input alone");
        int[] ca = new int[batch], cb = new int[batch];
        expected.PredictClasses(x, batch, ca);
        actual.PredictClasses(x, batch, cb);
        Assert.Equal(ca, cb);
    }

    [Fact]
    public void Float_round_trip_predicts_bit_identically()
    {
        Model<float> model = Full<float>(1);
        string path = dir.File("model.fbpm");
        ModelFile.Save(path, model);
        AssertSame(model, ModelFile.Load<float>(path));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Double_round_trip_predicts_bit_identically()
    {
        Model<double> model = Full<double>(2);
        var stream = new MemoryStream();
        ModelFile.Save(stream, model);
        stream.Position = 0;
        AssertSame(model, ModelFile.Load<double>(stream));
        AssertSame(model, ModelFile.Load<double>(new ForwardOnlyStream(stream.ToArray())));
    }

    [Fact]
    public void Optional_blocks_may_be_absent_and_a_single_output_thresholds_at_one_half()
    {
        var bare = new Model<float>(Net<float>(3, 4, new(5, Activation.Step), new(3, Activation.Identity)));
        string path = dir.File("bare.fbpm");
        ModelFile.Save(path, bare);
        Model<float> loaded = ModelFile.Load<float>(path);
        AssertSame(bare, loaded);
        Assert.Null(loaded.InputStandardization);
        Assert.Null(loaded.ClassLabels);
        Assert.Null(loaded.Loss);

        Network<double> binaryNet = Net<double>(4, 2, new(4, Activation.Tanh), new(1, Activation.Sigmoid));
        var binary = new Model<double>(binaryNet, null, ["no", "yes"], Loss.BinaryCrossEntropy);
        ModelFile.Save(path, binary);   // overwrites
        Model<double> b = ModelFile.Load<double>(path);
        AssertSame(binary, b);
        double[] x = Random<double>(new Random(1), 2 * 200, 3);
        var p = new double[200];
        var c = new int[200];
        b.Predict(x, 200, p);
        b.PredictClasses(x, 200, c);
        for (int i = 0; i < 200; i++)
            Assert.Equal(p[i] > 0.5 ? 1 : 0, c[i]);
        Assert.Contains(0, c);
        Assert.Contains(1, c);
    }

    [Fact]
    public void Element_types_convert_on_load()
    {
        Model<float> f = Full<float>(5);
        var stream = new MemoryStream();
        ModelFile.Save(stream, f);
        Model<double> widened = ModelFile.Load<double>(new MemoryStream(stream.ToArray()));
        for (int i = 0; i < f.Network.Parameters.Length; i++)
            Assert.Equal((double)f.Network.Parameters[i], widened.Network.Parameters[i]);

        Model<double> d = Full<double>(6);
        stream = new MemoryStream();
        ModelFile.Save(stream, d);
        Model<float> narrowed = ModelFile.Load<float>(new MemoryStream(stream.ToArray()));
        for (int i = 0; i < d.Network.Parameters.Length; i++)
            Assert.Equal((float)d.Network.Parameters[i], narrowed.Network.Parameters[i]);
        Assert.Equal(d.ClassLabels, narrowed.ClassLabels);
    }

    /// <summary>A regression model: 3 outputs whose targets were standardised (one of them constant, so scale 1).</summary>
    private static Model<T> Regression<T>(int seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Network<T> net = Net<T>(seed, 4, new(7, Activation.Tanh), new(3, Activation.Identity));
        var random = new Random(seed);
        var targets = new T[50 * 3];
        for (int i = 0; i < 50; i++)
        {
            targets[3 * i] = T.CreateChecked(150 + 70 * random.NextDouble());
            targets[3 * i + 1] = T.CreateChecked(-0.001 * random.NextDouble());
            targets[3 * i + 2] = T.CreateChecked(42.5);
        }
        Standardizer<T> y = Standardizer<T>.FitTargets(new Dataset<T>(new T[50], 1, targets, 3));
        Assert.Equal(T.One, y.Scale[2]);
        return new Model<T>(net, Standardizer<T>.Fit(Random<T>(random, 20 * 4, 9), 4), null, Loss.MeanSquaredError, y);
    }

    [Fact]
    public void Target_standardisation_round_trips_and_predicts_in_the_targets_units()
    {
        Model<float> f = Regression<float>(11);
        string path = dir.File("regression.fbpm");
        ModelFile.Save(path, f);
        AssertSame(f, ModelFile.Load<float>(path));
        Model<double> d = Regression<double>(12);
        var stream = new MemoryStream();
        ModelFile.Save(stream, d);
        AssertSame(d, ModelFile.Load<double>(new MemoryStream(stream.ToArray())));

        // Predict = network output / scale + mean, per output unit.
        float[] x = Random<float>(new Random(5), 6 * 4, 5);
        var predicted = new float[6 * 3];
        f.Predict(x, 6, predicted);
        float[] z = (float[])x.Clone();
        f.InputStandardization!.Transform(z);
        var raw = new float[6 * 3];
        f.Network.Forward(z, 6, raw);
        for (int i = 0; i < raw.Length; i++)
            Assert.Equal(raw[i] / f.TargetStandardization!.Scale[i % 3] + f.TargetStandardization.Mean[i % 3], predicted[i]);
        Assert.InRange(f.TargetStandardization!.Mean[0], 150f, 220f);

        // The parts must fit: one value per output, never with class labels or a softmax output.
        Network<float> net = f.Network;
        var two = new Standardizer<float>([0, 0], [1, 1]);
        Assert.Equal("targetStandardization", Assert.Throws<ArgumentException>(() => new Model<float>(net, null, null, null, two)).ParamName);
        Network<float> softmax = Net<float>(1, 2, new LayerSpec(2, Activation.Softmax));
        Assert.Equal("targetStandardization", Assert.Throws<ArgumentException>(() => new Model<float>(softmax, null, null, null, two)).ParamName);
        Network<float> sigmoid = Net<float>(1, 2, new LayerSpec(1, Activation.Sigmoid));
        Assert.Equal("targetStandardization", Assert.Throws<ArgumentException>(
            () => new Model<float>(sigmoid, null, ["no", "yes"], null, new Standardizer<float>([0], [1]))).ParamName);
    }

    [Fact]
    public void Files_without_the_target_block_still_load()
    {
        // Written field by field as version 1 was before flag 0x08 existed: standardisation, labels and loss.
        byte[] std = [.. BitConverter.GetBytes(2), .. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(2f), .. BitConverter.GetBytes(0.5f), .. BitConverter.GetBytes(4f)];
        byte[] labels = [.. BitConverter.GetBytes(2), .. BitConverter.GetBytes(1), (byte)'n', .. BitConverter.GetBytes(1), (byte)'y'];
        byte[] old = Forge(4, 7, 2, 1, [(1, (byte)ActivationKind.Sigmoid, 0)], 3,
            [.. new byte[12], .. std, .. labels, (byte)LossKind.BinaryCrossEntropy, 0]);
        Model<float> m = ModelFile.Load<float>(new MemoryStream(old));
        Assert.Null(m.TargetStandardization);
        Assert.Equal(["n", "y"], m.ClassLabels!);
        Assert.Equal(Loss.BinaryCrossEntropy, m.Loss);
        ModelFile.Load<float>(new MemoryStream(Small()));
    }

    [Fact]
    public void Hostile_target_standardisation_blocks_are_rejected()
    {
        byte[] I32(int v) => BitConverter.GetBytes(v);
        byte[] F(params float[] v) => [.. v.SelectMany(BitConverter.GetBytes)];
        // One identity output: 3 parameters (12 bytes), then the target block at offset 60.
        byte[] Target(byte flags, params byte[][] parts) => Forge(4, flags, 2, 1, [(1, 0, 0)], 3, [.. new byte[12], .. parts.SelectMany(p => p)]);

        Model<float> ok = ModelFile.Load<float>(new MemoryStream(Target(8, I32(1), F(100), F(0.25f))));
        Assert.Equal(100f, ok.TargetStandardization!.Mean[0]);
        var y = new float[1];
        ok.Predict([0f, 0f], 1, y);
        Assert.Equal(100f, y[0]);

        Assert.Contains("2, but the network has 1 output unit(s)", Hostile(Target(8, I32(2), F(0, 0), F(1, 1)), "target standardisation count", 60).Message);
        Hostile(Target(8, I32(-5), F(0), F(1)), "target standardisation count", 60);
        Hostile(Target(8, I32(1 << 30), F(0), F(1)), "target standardisation count", 60);
        Assert.Contains("scale[0] = 0 is outside", Hostile(Target(8, I32(1), F(0), F(0)), "target standardisation scale", 68).Message);
        Hostile(Target(8, I32(1), F(0), F(1e-30f)), "target standardisation scale", 68);
        Assert.Contains("scale[0] = -2 is outside", Hostile(Target(8, I32(1), F(0), F(-2)), "target standardisation scale", 68).Message);
        Assert.Contains("value 0 is NaN", Hostile(Target(8, I32(1), F(float.NaN), F(1)), "target standardisation mean", 64).Message);
        Assert.Contains("not finite", Hostile(Target(8, I32(1), F(0), F(float.PositiveInfinity)), "target standardisation scale", 68).Message);
        Assert.Contains("need 8 bytes, only 4 remain", Hostile(Target(8, I32(1), F(0)), "target standardisation count", 60).Message);
        Hostile(Target(8, I32(1), F(0), F(1), [0]), "end of data", 72);
        // Only a regression model has one: not with class labels, not with a softmax output.
        Hostile(Target(8 | 2, I32(2), I32(1), [(byte)'a'], I32(1), [(byte)'b'], I32(1), F(0), F(1)), "flags", 13);
        Hostile(Forge(4, 8, 2, 1, [(2, (byte)ActivationKind.Softmax, 0)], 6, [.. new byte[24], .. I32(2), .. F(0, 0), .. F(1, 1)]),
            "target standardisation count", 72);
        Hostile(Target(0x10), "flags", 13);
    }

    private static byte[] Small()
    {
        Network<float> net = Net<float>(7, 2, new(3, Activation.LeakyReLU(0.3)), new(2, Activation.Softmax));
        var model = new Model<float>(net, new Standardizer<float>([1, -2], [0.5f, 4]), ["a", "b"], Loss.SoftmaxCrossEntropy);
        var stream = new MemoryStream();
        ModelFile.Save(stream, model);
        return stream.ToArray();
    }

    private static InvalidDataException Rejected(byte[] bytes, string what)
    {
        Exception? e = Record.Exception(() => ModelFile.Load<float>(new MemoryStream(bytes)));
        Assert.True(e is InvalidDataException, $"{what}: expected InvalidDataException, got {e?.GetType().Name ?? "no exception"}: {e?.Message}");
        Assert.StartsWith("<stream>, offset ", e!.Message);
        return (InvalidDataException)e;
    }

    [Fact]
    public void Every_single_byte_corruption_is_detected()
    {
        byte[] good = Small();
        Assert.InRange(good.Length, 150, 400);
        ModelFile.Load<float>(new MemoryStream(good));
        foreach (byte mask in new byte[] { 0x01, 0x80, 0xFF })
        {
            for (int i = 0; i < good.Length; i++)
            {
                byte[] bad = (byte[])good.Clone();
                bad[i] ^= mask;
                Rejected(bad, $"byte {i} ^ 0x{mask:x2}");
            }
        }
    }

    [Fact]
    public void Every_truncation_is_detected()
    {
        byte[] good = Small();
        for (int length = 0; length < good.Length; length++)
            Rejected(good[..length], $"first {length} bytes");
        Rejected([.. good, 0], "one byte appended");
        string path = dir.Write("cut.fbpm", good[..100]);
        var e = Assert.Throws<InvalidDataException>(() => ModelFile.Load<float>(path));
        Assert.StartsWith("cut.fbpm, offset 68, SHA-256: ", e.Message);
        Assert.Equal(68L, e.Data["Offset"]);
        Assert.Equal("SHA-256", e.Data["Field"]);
    }

    [Fact]
    public void Dropout_layers_round_trip_and_version_1_and_2_files_still_load()
    {
        var network = new Network<float>(6, [LayerSpec.Dropout(0.2), new(9, Activation.ReLU), LayerSpec.Dropout(0.5), new(3, Activation.Softmax)], seed: 4);
        var model = new Model<float>(network, null, ["a", "b", "c"], Loss.SoftmaxCrossEntropy);
        var stream = new MemoryStream();
        ModelFile.Save(stream, model);
        byte[] bytes = stream.ToArray();
        Assert.Equal(ModelFile.FormatVersion, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
        Model<float> loaded = ModelFile.Load<float>(new MemoryStream(bytes));
        Assert.Equal(4, loaded.Network.LayerCount);
        Assert.Equal(network.Layer(0), loaded.Network.Layer(0));
        Assert.Equal(network.Layer(2), loaded.Network.Layer(2));
        Bits.Equal<float>(network.Parameters, loaded.Network.Parameters.ToArray(), "parameters");

        // Forged: a dropout record is (width, activation 0, kind 1, rate) in version 2; in version 1 the kind byte is reserved.
        byte[] Layer(int units, byte activation, byte kind, double alpha) =>
            [.. BitConverter.GetBytes(units), activation, kind, 0, 0, .. BitConverter.GetBytes(alpha)];
        byte[] File(uint version, params byte[][] layers)
        {
            var body = new List<byte>();
            body.AddRange("FBPMODEL"u8.ToArray());
            body.AddRange(BitConverter.GetBytes(version));
            body.AddRange([4, 0, 0, 0]);
            body.AddRange(BitConverter.GetBytes(2));
            body.AddRange(BitConverter.GetBytes(layers.Length));
            foreach (byte[] layer in layers)
                body.AddRange(layer);
            body.AddRange(BitConverter.GetBytes(3L));
            body.AddRange(new byte[12]);
            return [.. body, .. SHA256.HashData(body.ToArray())];
        }
        byte[] dense = Layer(1, 0, 0, 0);
        Assert.Equal(LayerKind.Dropout, ModelFile.Load<float>(new MemoryStream(File(2, Layer(2, 0, 1, 0.5), dense))).Network.Layer(0).Kind);
        Assert.Contains("reserved bytes after the activation must be 0 in a version-1 file", Hostile(File(1, Layer(2, 0, 1, 0.5), dense), "layer 0 kind", 29).Message);
        Hostile(File(2, Layer(2, 0, 7, 0.5), dense), "layer 0 kind", 29);
        Assert.Contains("as wide as its input (2)", Hostile(File(2, Layer(3, 0, 1, 0.5), dense), "layer 0 units", 24).Message);
        Hostile(File(2, Layer(2, 3, 1, 0.5), dense), "layer 0 activation", 28);
        Hostile(File(2, Layer(2, 0, 1, 0), dense), "layer 0 dropout rate", 32);
        Hostile(File(2, Layer(2, 0, 1, 1.0), dense), "layer 0 dropout rate", 32);
        Hostile(File(2, Layer(2, 0, 1, double.NaN), dense), "layer 0 dropout rate", 32);
        Assert.Contains("last layer must be dense", Hostile(File(2, Layer(2, 0, 1, 0.5)), "layer 0 kind", 29).Message);
    }

    [Fact]
    public void Unknown_version_and_wrong_magic()
    {
        byte[] bytes = Small();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 6);
        Assert.Equal("<stream>, offset 8, format version: version 6 is not supported; this library reads versions 1 to 5 (the file was written by a newer library).",
            Rejected(bytes, "version 6").Message);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 0);
        Assert.Contains("version 0 is not supported", Rejected(bytes, "version 0").Message);
        Assert.Contains("not a FastBackprop model file", Rejected(Encoding.ASCII.GetBytes("PK\u0003\u0004 not a model at all, but long enough to have a header"), "zip").Message);
    }

    /// <summary>Header fields and helpers to forge files whose checksum is valid.</summary>
    private static byte[] Forge(byte element, byte flags, int inputs, int layerCount, IEnumerable<(int Units, byte Kind, double Alpha)> layers,
        long parameterCount, byte[] rest)
    {
        var body = new List<byte>();
        body.AddRange("FBPMODEL"u8.ToArray());
        body.AddRange(BitConverter.GetBytes(1u));
        body.Add(element);
        body.Add(flags);
        body.AddRange(new byte[2]);
        body.AddRange(BitConverter.GetBytes(inputs));
        body.AddRange(BitConverter.GetBytes(layerCount));
        foreach (var (units, kind, alpha) in layers)
        {
            body.AddRange(BitConverter.GetBytes(units));
            body.AddRange(new byte[] { kind, 0, 0, 0 });
            body.AddRange(BitConverter.GetBytes(alpha));
        }
        body.AddRange(BitConverter.GetBytes(parameterCount));
        body.AddRange(rest);
        return [.. body, .. SHA256.HashData(body.ToArray())];
    }

    private static InvalidDataException Hostile(byte[] file, string field, long offset)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        InvalidDataException e = Rejected(file, field);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1 << 20, $"{field}: allocated {allocated} bytes for a {file.Length}-byte file");
        Assert.StartsWith($"<stream>, offset {offset}, {field}: ", e.Message);
        return e;
    }

    [Fact]
    public void Hostile_headers_with_valid_checksums_fail_without_large_allocations()
    {
        // The forger itself writes a valid file.
        byte[] valid = Forge(4, 0, 2, 1, [(1, (byte)ActivationKind.Identity, 0)], 3, new byte[12]);
        Assert.Equal(2, ModelFile.Load<float>(new MemoryStream(valid)).InputSize);

        Hostile(Forge(4, 0, 2, 1 << 30, [], 0, new byte[16]), "layer count", 20);
        Hostile(Forge(4, 0, 2, -1, [], 0, new byte[16]), "layer count", 20);
        Hostile(Forge(4, 0, 2, 3, [(1, 0, 0)], 0, []), "layer count", 20);
        Assert.Contains("1073741824 units",
            Hostile(Forge(4, 0, 2, 1, [(1 << 30, 0, 0)], 3L << 30, new byte[64]), "layer 0 units", 24).Message);
        Hostile(Forge(4, 0, 1 << 30, 2, [(1 << 30, 0, 0), (1 << 30, 0, 0)], 0, new byte[64]), "layer 0 units", 24);
        Hostile(Forge(4, 0, 0, 1, [(1, 0, 0)], 1, new byte[4]), "input size", 16);
        Hostile(Forge(4, 0, 2, 1, [(0, 0, 0)], 0, []), "layer 0 units", 24);
        Hostile(Forge(4, 0, 2, 1, [(1, 0, 0)], 4, new byte[16]), "parameter count", 40);
        Hostile(Forge(2, 0, 2, 1, [(1, 0, 0)], 3, new byte[12]), "element type", 12);
        Hostile(Forge(4, 0x10, 2, 1, [(1, 0, 0)], 3, new byte[12]), "flags", 13);
        Assert.Contains("unknown activation kind 42", Hostile(Forge(4, 0, 2, 1, [(1, 42, 0)], 3, new byte[12]), "layer 0 activation", 28).Message);
        Assert.Contains("softmax is only allowed on the output layer",
            Hostile(Forge(4, 0, 2, 2, [(2, (byte)ActivationKind.Softmax, 0), (1, 0, 0)], 9, new byte[36]), "layer 0 activation", 28).Message);
        Hostile(Forge(4, 0, 2, 1, [(1, (byte)ActivationKind.LeakyReLU, 0)], 3, new byte[12]), "layer 0 alpha", 32);
        Hostile(Forge(4, 0, 2, 1, [(1, (byte)ActivationKind.LeakyReLU, double.NaN)], 3, new byte[12]), "layer 0 alpha", 32);
        Hostile(Forge(4, 0, 2, 1, [(1, (byte)ActivationKind.ReLU, 0.5)], 3, new byte[12]), "layer 0 alpha", 32);

        byte[] nan = [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(float.NaN), .. BitConverter.GetBytes(0f)];
        Assert.Contains("value 1 is NaN", Hostile(Forge(4, 0, 2, 1, [(1, 0, 0)], 3, nan), "parameters", 48 + 4).Message);
        byte[] huge = [.. BitConverter.GetBytes(1.0), .. BitConverter.GetBytes(1e300), .. BitConverter.GetBytes(0.0)];
        Assert.Contains("not finite as Single", Hostile(Forge(8, 0, 2, 1, [(1, 0, 0)], 3, huge), "parameters", 48 + 8).Message);

        // Labels: two classes for one output unit; hostile lengths, wrong count, invalid UTF-8.
        byte[] Labels(params byte[][] parts) => [.. new byte[12], .. parts.SelectMany(p => p)];
        byte[] I32(int v) => BitConverter.GetBytes(v);
        var okLabels = Forge(4, 2, 2, 1, [(1, 0, 0)], 3, Labels(I32(2), I32(1), "x"u8.ToArray(), I32(0)));
        Assert.Equal(["x", ""], ModelFile.Load<float>(new MemoryStream(okLabels)).ClassLabels!);
        Hostile(Forge(4, 2, 2, 1, [(1, 0, 0)], 3, Labels(I32(2), I32(1 << 30), new byte[8])), "label 0 length", 64);
        Hostile(Forge(4, 2, 2, 1, [(1, 0, 0)], 3, Labels(I32(2), I32(-1), new byte[8])), "label 0 length", 64);
        Hostile(Forge(4, 2, 2, 1, [(1, 0, 0)], 3, Labels(I32(1 << 30), new byte[8])), "label count", 60);
        Hostile(Forge(4, 2, 2, 1, [(1, 0, 0)], 3, Labels(I32(2), I32(2), [0xC3, 0x28], I32(0))), "label 0", 68);

        // Standardisation block.
        byte[] std = [.. I32(2), .. BitConverter.GetBytes(0f), .. BitConverter.GetBytes(0f), .. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(-1f)];
        Assert.Contains("scale[1] = -1 is outside [1E-20, 1E+20]", Hostile(Forge(4, 1, 2, 1, [(1, 0, 0)], 3, [.. new byte[12], .. std]), "standardisation scale", 76).Message);

        // Re-signed edits whose values are each finite and positive but mean nonsense: a tiny or huge
        // standardisation scale, a leaky-ReLU slope of 1e308, weights that overflow together.
        byte[] Std(float scale) => [.. I32(2), .. BitConverter.GetBytes(0f), .. BitConverter.GetBytes(0f), .. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(scale)];
        Hostile(Forge(4, 1, 2, 1, [(1, 0, 0)], 3, [.. new byte[12], .. Std(1e-38f)]), "standardisation scale", 76);
        Hostile(Forge(4, 1, 2, 1, [(1, 0, 0)], 3, [.. new byte[12], .. Std(1e30f)]), "standardisation scale", 76);
        Assert.Contains("(0, 1000]", Hostile(Forge(4, 0, 2, 1, [(1, (byte)ActivationKind.LeakyReLU, 1e308)], 3, new byte[12]), "layer 0 alpha", 32).Message);
        byte[] Floats(params float[] v) => [.. v.SelectMany(BitConverter.GetBytes)];
        Assert.Contains("for all standardised inputs +1 is Infinity", Hostile(Forge(4, 0, 2, 1, [(1, 0, 0)], 3, Floats(3e38f, 3e38f, 0f)), "parameters", 48).Message);
        Assert.Contains("is NaN", Hostile(Forge(4, 0, 2, 2, [(2, (byte)ActivationKind.LeakyReLU, 1000), (2, (byte)ActivationKind.Softmax, 0)], 12,
            Floats(3e35f, 3e35f, 3e35f, 3e35f, 0f, 0f, 1e6f, 1e6f, 1e6f, 1e6f, 0f, 0f)), "parameters", 64).Message);
        // Finite at ±1 standard deviation but overflowing at ±1,000 (weights no training produces).
        Assert.Contains("all standardised inputs +1000", Hostile(Forge(4, 0, 2, 1, [(1, 0, 0)], 3, Floats(1e36f, 1e36f, 0f)), "parameters", 48).Message);
        // Large but sensible values still load.
        Assert.Equal(2, ModelFile.Load<float>(new MemoryStream(Forge(4, 1, 2, 1, [(1, 0, 0)], 3, [.. Floats(1e3f, -1e3f, 5f), .. Std(1e-6f)]))).InputSize);
        Hostile(Forge(4, 1, 2, 1, [(1, 0, 0)], 3, [.. new byte[12], .. I32(1 << 30), .. new byte[16]]), "standardisation feature count", 60);

        // Loss: unknown kind, and one that does not fit the output activation.
        Hostile(Forge(4, 4, 2, 1, [(1, 0, 0)], 3, [.. new byte[12], 9, 0]), "loss kind", 60);
        Hostile(Forge(4, 4, 2, 1, [(1, 0, 0)], 3, [.. new byte[12], 2, 0]), "loss kind", 60);
        Hostile(Forge(4, 4, 2, 1, [(1, 0, 0)], 3, [.. new byte[12], 0, 7]), "loss reduction", 61);
        Hostile(Forge(4, 0, 2, 1, [(1, 0, 0)], 3, new byte[13]), "end of data", 60);
    }

    [Fact]
    public void The_load_time_probe_tries_random_standardised_rows_not_only_constant_ones()
    {
        // Weights that cancel on every constant row and overflow once x0 − x1 > 1.13 standard deviations: the random
        // probe rows meet that; the constant rows (0, ±1, ±1000) never do.
        var e = Assert.Throws<InvalidDataException>(() => RoundTrip(new Model<float>(HostileNetworks.Cancelling(bias: 0))));
        Assert.Contains("for random standardised input row", e.Message);
        Assert.Contains("parameters", e.Message);
        // Overflowing only beyond 11.1 standard deviations: no probe finds it and the model loads (prediction catches it).
        Assert.Equal(2, RoundTrip(new Model<float>(HostileNetworks.Cancelling())).InputSize);

        // Written past the saver's own probe (which refuses the first model too), as a hostile writer would.
        static Model<float> RoundTrip(Model<float> model) =>
            ModelFile.Load<float>(new MemoryStream(ModelFile.Serialize(model, probePredictions: false)));
    }

    [Fact]
    public void Saving_removes_the_stale_temporaries_of_killed_saves_and_nothing_else()
    {
        string path = dir.File("stale.fbpm");
        DateTime old = DateTime.UtcNow.AddMinutes(-30), recent = DateTime.UtcNow;
        string Temp(string name, DateTime written)
        {
            string file = dir.File(name);
            File.WriteAllBytes(file, new byte[100]);
            File.SetLastWriteTimeUtc(file, written);
            return file;
        }
        string deadOld = Temp("stale.fbpm.tmp-2147483646-0123456789ab", old);
        string deadRecent = Temp("stale.fbpm.tmp-2147483646-0123456789ac", recent);
        string mineOld = Temp($"stale.fbpm.tmp-{Environment.ProcessId}-0123456789ad", old);
        string legacyOld = Temp("stale.fbpm.tmp-0123456789ae", old);
        string legacyRecent = Temp("stale.fbpm.tmp-0123456789af", recent);
        string otherModel = Temp("other.fbpm.tmp-2147483646-0123456789b0", old);
        string notOurs = Temp("stale.fbpm.tmp-notes.txt", old);

        ModelFile.Save(path, Full<float>(8));

        Assert.False(File.Exists(deadOld));
        Assert.False(File.Exists(legacyOld));
        Assert.All([deadRecent, mineOld, legacyRecent, otherModel, notOurs], f => Assert.True(File.Exists(f), f));
        Assert.Equal(Full<float>(8).InputSize, ModelFile.Load<float>(path).InputSize);
    }

    [Fact]
    public void Atomic_save_keeps_the_old_file_when_writing_fails_midway()
    {
        string path = dir.File("keep.fbpm");
        ModelFile.Save(path, Full<float>(8));
        byte[] original = File.ReadAllBytes(path);

        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[5000]);
            throw new IOException("simulated disk full");
        }));
        Assert.Equal("simulated disk full", e.Message);
        Assert.Equal(original, File.ReadAllBytes(path));
        Assert.Equal(["keep.fbpm"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));

        // A model that cannot be written (label too long) fails before touching anything.
        var bad = new Model<float>(Net<float>(1, 1, new LayerSpec(2, Activation.Softmax)), null, ["ok", new string('x', ModelFile.MaxLabelBytes + 1)]);
        Assert.Throws<ArgumentException>(() => ModelFile.Save(path, bad));
        Assert.Equal(original, File.ReadAllBytes(path));

        // Saving over it succeeds and leaves no temporary behind; saving into a missing directory fails cleanly.
        ModelFile.Save(path, Full<float>(9));
        AssertSame(Full<float>(9), ModelFile.Load<float>(path));
        Assert.Throws<DirectoryNotFoundException>(() => ModelFile.Save(Path.Combine(dir.Path, "no", "such.fbpm"), Full<float>(9)));
        Assert.Equal(["keep.fbpm"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Model_rejects_parts_that_do_not_fit()
    {
        Network<float> net = Net<float>(1, 3, new(4, Activation.Tanh), new(2, Activation.Softmax));
        Assert.Equal("inputStandardization", Assert.Throws<ArgumentException>(() => new Model<float>(net, new Standardizer<float>([0, 0], [1, 1]))).ParamName);
        Assert.Equal("classLabels", Assert.Throws<ArgumentException>(() => new Model<float>(net, null, ["a", "b", "c"])).ParamName);
        Assert.Equal("classLabels", Assert.Throws<ArgumentException>(() => new Model<float>(net, null, ["a", null!])).ParamName);
        Assert.Equal("loss", Assert.Throws<ArgumentException>(() => new Model<float>(net, null, null, Loss.MeanSquaredError)).ParamName);
        var model = new Model<float>(net);
        Assert.Equal("rawFeatures", Assert.Throws<ArgumentException>(() => model.Predict(new float[5], 2, new float[4])).ParamName);
        Assert.Equal("classes", Assert.Throws<ArgumentException>(() => model.PredictClasses(new float[6], 2, new int[3])).ParamName);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => model.Predict([], 0, [])).ParamName);
        var standardized = new Model<float>(net, new Standardizer<float>([0, 0, 0], [1, 1, 1]));
        Assert.Equal("rawFeatures", Assert.Throws<ArgumentException>(() => standardized.Predict([1, float.NaN, 3], 1, new float[2])).ParamName);
    }
}
