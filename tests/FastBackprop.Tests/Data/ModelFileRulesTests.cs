using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace FastBackprop.Tests.Data;

/// <summary>
/// One set of rules for model files, applied by the writer (<see cref="ModelFile.CheckSavable{T}"/>, which also runs
/// before training) and by the reader: what one accepts the other accepts, at each limit and just past it — layer
/// count, standardisation scales, class label and feature name lengths, repeated labels or names. Feature names
/// (format version 3) round-trip; version-2 files still load; hostile name blocks fail naming field and offset.
/// </summary>
public sealed class ModelFileRulesTests
{
    private static Network<double> Net(int inputs, int outputs, ActivationKind output = ActivationKind.Softmax)
        => new(inputs, [new LayerSpec(outputs, Activation.FromKind(output))], seed: 3);

    private static byte[] Bytes<T>(Model<T> model) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var stream = new MemoryStream();
        ModelFile.Save(stream, model);
        return stream.ToArray();
    }

    private static Model<T> RoundTrip<T>(Model<T> model) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
        => ModelFile.Load<T>(new MemoryStream(Bytes(model)));

    /// <summary>Recomputes the trailing SHA-256 after an edit, as a hostile writer would.</summary>
    private static byte[] Resigned(byte[] bytes)
    {
        SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32), bytes.AsSpan(bytes.Length - 32));
        return bytes;
    }

    private static InvalidDataException Refused(byte[] bytes, string field, long offset)
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelFile.Load<double>(new MemoryStream(bytes)));
        Assert.Equal(field, e.Data["Field"]);
        Assert.Equal(offset, e.Data["Offset"]);
        return e;
    }

    private static string Unsavable<T>(Model<T> model) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var e = Assert.Throws<ArgumentException>(() => ModelFile.CheckSavable(model));
        Assert.Equal(e.Message, Assert.Throws<ArgumentException>(() => ModelFile.Save(new MemoryStream(), model)).Message);
        return e.Message;
    }

    [Fact]
    public void Layer_count_is_saved_and_loaded_up_to_the_limit_and_refused_past_it()
    {
        LayerSpec[] Layers(int count) => [.. Enumerable.Repeat(LayerSpec.Dropout(0.5), count - 1), new LayerSpec(1, Activation.Identity)];
        var inside = new Model<float>(new Network<float>(1, Layers(ModelFile.MaxLayers), seed: 1));
        ModelFile.CheckSavable(inside);
        Assert.Equal(ModelFile.MaxLayers, RoundTrip(inside).Network.LayerCount);

        var outside = new Model<float>(new Network<float>(1, Layers(ModelFile.MaxLayers + 1), seed: 1));
        Assert.Contains("65537 layers; a model file holds 1 to 65536", Unsavable(outside));
    }

    [Theory]
    [InlineData(ModelChecks.MinScale, true)]
    [InlineData(ModelChecks.MaxScale, true)]
    [InlineData(-1, false)]   // just below MinScale
    [InlineData(+1, false)]   // just above MaxScale
    public void Standardisation_scales_are_saved_and_loaded_within_the_same_range(double scale, bool inside)
    {
        if (!inside)
            scale = scale < 0 ? Math.BitDecrement(ModelChecks.MinScale) : Math.BitIncrement(ModelChecks.MaxScale);
        var input = new Model<double>(Net(2, 1, ActivationKind.Identity), new Standardizer<double>([0, 0], [1, scale]));
        var target = new Model<double>(Net(2, 1, ActivationKind.Identity), null, null, Loss.MeanSquaredError, new Standardizer<double>([5], [scale]));
        if (inside)
        {
            Assert.Equal(scale, RoundTrip(input).InputStandardization!.Scale[1]);
            Assert.Equal(scale, RoundTrip(target).TargetStandardization!.Scale[0]);
            return;
        }
        Assert.Contains("feature 1 has a standard deviation of", Unsavable(input));
        Assert.Contains("target 0 has a standard deviation of", Unsavable(target));

        // The reader refuses the same values (forged past the writer's check).
        byte[] bytes = Bytes(new Model<double>(Net(2, 1, ActivationKind.Identity), new Standardizer<double>([0, 0], [1, 1])));
        int scaleAt = bytes.Length - 32 - 8;
        BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(scaleAt), scale);
        Refused(Resigned(bytes), "standardisation scale", scaleAt);
    }

    [Fact]
    public void Features_of_huge_or_tiny_spread_are_refused_before_training_with_the_column_named()
    {
        // A standardiser fitted on features around 1e25 (spread ~1e24) or 1e-27 holds scales no model file holds.
        float[] features = [1e25f, 1, 3e25f, 2, 2e25f, 3];
        var huge = new Model<float>(new Network<float>(2, [new LayerSpec(2, Activation.Softmax)], seed: 1), Standardizer<float>.Fit(features, 2), ["a", "b"])
        {
            FeatureNames = ["price", "rooms"],
        };
        Assert.Matches(@"feature 0 \('price'\) has a standard deviation of 8\.1[0-9]*E\+24; a model file holds standardisations of 1E-20 to 1E\+20", Unsavable(huge));
        float[] tiny = [1e-27f, 1, 3e-27f, 2];
        Assert.Contains("feature 0 has a standard deviation of 1E-27",
            Unsavable(new Model<float>(new Network<float>(2, [new LayerSpec(1, Activation.Identity)], seed: 1), Standardizer<float>.Fit(tiny, 2))));
    }

    [Theory]
    [InlineData("class label")]
    [InlineData("feature name")]
    public void Names_are_saved_up_to_4096_UTF8_bytes_and_refused_past_them(string what)
    {
        Model<double> With(string name) => what == "class label"
            ? new Model<double>(Net(1, 2), null, ["short", name])
            : new Model<double>(Net(2, 2)) { FeatureNames = ["short", name] };
        IReadOnlyList<string>? Names(Model<double> m) => what == "class label" ? m.ClassLabels : m.FeatureNames;

        string inside = new('é', 2048);   // 2 bytes each: 4096 bytes
        Assert.Equal(ModelFile.MaxLabelBytes, Encoding.UTF8.GetByteCount(inside));
        Assert.Equal(inside, Names(RoundTrip(With(inside)))![1]);
        Assert.Contains($"{what} 1 is 4097 bytes in UTF-8, more than the 4096 a model file allows", Unsavable(With(inside + "a")));
        Assert.Contains($"{what} 1 ('a\\ud800') holds a lone UTF-16 surrogate", Unsavable(With("a\ud800")).Replace("\ud800", "\\ud800"));
        Assert.Contains($"{what} 1 ('\\u0007') holds a lone", Unsavable(With("\u0007\udc00")).Replace("\udc00", ""));
    }

    [Fact]
    public void Repeated_class_labels_are_refused_when_built_and_when_loaded_naming_the_label()
    {
        var e = Assert.Throws<ArgumentException>(() => new Model<double>(Net(1, 3), null, ["a", "b", "a"]));
        Assert.StartsWith("class label 2 is 'a', the same as class label 0: class labels must be distinct.", e.Message);
        Assert.Equal("classLabels", e.ParamName);

        // Forged: labels "a", "b" saved, then "b" overwritten with "a" and the checksum recomputed.
        byte[] bytes = Bytes(new Model<double>(Net(1, 2), null, ["a", "b"]));
        int b = bytes.Length - 32 - 1;
        Assert.Equal((byte)'b', bytes[b]);
        bytes[b] = (byte)'a';
        var refused = Refused(Resigned(bytes), "label 1", b);
        Assert.Contains("class label 1 is 'a', the same as class label 0", refused.Message);

        // Named files say which file.
        string path = Path.Combine(Path.GetTempPath(), $"fbp-repeat-{Guid.NewGuid():N}.fbpm");
        File.WriteAllBytes(path, bytes);
        try
        {
            Assert.StartsWith($"{Path.GetFileName(path)}, offset {b}, label 1: ", Assert.Throws<InvalidDataException>(() => ModelFile.Load<float>(path)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Feature_names_round_trip_and_are_refused_when_repeated_or_miscounted()
    {
        var model = new Model<double>(Net(3, 2), null, ["no", "yes"]) { FeatureNames = ["width", "höhe", ""] };
        Assert.Equal(["width", "höhe", ""], RoundTrip(model).FeatureNames!);
        Assert.Null(RoundTrip(new Model<double>(Net(3, 2))).FeatureNames);

        Assert.Contains("feature name 2 is 'a', the same as feature name 0", Assert.Throws<ArgumentException>(() => new Model<double>(Net(3, 2)) { FeatureNames = ["a", "b", "a"] }).Message);
        Assert.Contains("2 names but the network takes 3 inputs", Assert.Throws<ArgumentException>(() => new Model<double>(Net(3, 2)) { FeatureNames = ["a", "b"] }).Message);

        // The names block is last: count, then (length, bytes) per name.
        byte[] bytes = Bytes(new Model<double>(Net(2, 2)) { FeatureNames = ["x", "y"] });
        int block = bytes.Length - 32 - (4 + 2 * 5);
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(block)));
        byte[] Edit(Action<byte[]> edit)
        {
            byte[] copy = [.. bytes];
            edit(copy);
            return Resigned(copy);
        }
        Refused(Edit(c => c[block + 13] = (byte)'x'), "feature name 1", block + 13);
        Refused(Edit(c => BinaryPrimitives.WriteInt32LittleEndian(c.AsSpan(block), 3)), "feature name count", block);
        Refused(Edit(c => BinaryPrimitives.WriteInt32LittleEndian(c.AsSpan(block + 4), ModelFile.MaxFeatureNameBytes + 1)), "feature name 0 length", block + 4);
        Refused(Edit(c => BinaryPrimitives.WriteInt32LittleEndian(c.AsSpan(block + 4), -1)), "feature name 0 length", block + 4);
        Assert.Contains("not valid UTF-8", Refused(Edit(c => c[block + 8] = 0xff), "feature name 0", block + 8).Message);
    }

    [Fact]
    public void Version_2_files_still_load_and_may_not_carry_feature_names()
    {
        byte[] plain = Bytes(new Model<double>(Net(2, 2), null, ["a", "b"]));
        BinaryPrimitives.WriteUInt32LittleEndian(plain.AsSpan(8), 2);
        Model<double> old = ModelFile.Load<double>(new MemoryStream(Resigned(plain)));
        Assert.Equal(["a", "b"], old.ClassLabels!);
        Assert.Null(old.FeatureNames);

        byte[] named = Bytes(new Model<double>(Net(2, 2)) { FeatureNames = ["x", "y"] });
        BinaryPrimitives.WriteUInt32LittleEndian(named.AsSpan(8), 2);
        Assert.Contains("0x10 sets unknown bits (known in version 2:", Refused(Resigned(named), "flags", 13).Message);
    }
}
