using System.Buffers.Binary;
using System.Security.Cryptography;

namespace FastBackprop.Tests.Data;

/// <summary>
/// What the model file's header checks say, each with its whole sentence and offset (the survivors of the first mutation
/// run of Serialization): too short, not a model file, a version this library cannot read, a header cut short, a
/// checksum that does not match, and — behind a valid checksum — an unknown element type or flags that cannot go
/// together. Also the argument checks of Save and Load, before anything is written or read.
/// </summary>
public class ModelFileHeaderSpecTests
{
    private static string Refusal(byte[] data)
        => Assert.Throws<InvalidDataException>(() => ModelFile.Load<float>(new MemoryStream(data))).Message;

    private static byte[] Saved()
    {
        var stream = new MemoryStream();
        ModelFile.Save(stream, new Model<float>(new Network<float>(3, [new(4, Activation.Tanh), new(2, Activation.Identity)], seed: 1)));
        return stream.ToArray();
    }

    [Fact]
    public void The_writer_puts_every_fixed_field_where_the_named_offsets_say()
    {
        var net = new Network<double>(5, [new(6, Activation.LeakyReLU(0.25)), LayerSpec.LayerNorm(1e-3), LayerSpec.Dropout(0.2), new(2, Activation.Softmax)], seed: 2);
        var stream = new MemoryStream();
        ModelFile.Save(stream, new Model<double>(net));
        ReadOnlySpan<byte> data = stream.ToArray();
        Assert.True(data[ModelFileFormat.MagicOffset..8].SequenceEqual("FBPMODEL"u8));
        Assert.Equal(ModelFile.FormatVersion, BinaryPrimitives.ReadUInt32LittleEndian(data[ModelFileFormat.VersionOffset..]));
        Assert.Equal(8, data[ModelFileFormat.ElementOffset]);
        Assert.Equal(0, data[ModelFileFormat.FlagsOffset]);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(data[ModelFileFormat.ReservedOffset..]));
        Assert.Equal(5, BinaryPrimitives.ReadInt32LittleEndian(data[ModelFileFormat.InputSizeOffset..]));
        Assert.Equal(4, BinaryPrimitives.ReadInt32LittleEndian(data[ModelFileFormat.LayerCountOffset..]));
        (int Units, ActivationKind Activation, LayerKind Kind, double Value)[] records =
            [(6, ActivationKind.LeakyReLU, LayerKind.Dense, 0.25), (6, ActivationKind.Identity, LayerKind.LayerNorm, 1e-3),
             (6, ActivationKind.Identity, LayerKind.Dropout, 0.2), (2, ActivationKind.Softmax, LayerKind.Dense, 0)];
        for (int l = 0; l < records.Length; l++)
        {
            ReadOnlySpan<byte> record = data.Slice(ModelFileFormat.LayerOffset(l), ModelFileFormat.LayerRecordBytes);
            Assert.Equal(records[l], (BinaryPrimitives.ReadInt32LittleEndian(record[ModelFileFormat.RecordUnits..]), (ActivationKind)record[ModelFileFormat.RecordActivation],
                (LayerKind)record[ModelFileFormat.RecordKind], BinaryPrimitives.ReadDoubleLittleEndian(record[ModelFileFormat.RecordValue..])));
            Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(record[ModelFileFormat.RecordReserved..]));
        }
        Assert.Equal(net.Parameters.Length, BinaryPrimitives.ReadInt64LittleEndian(data[(int)ModelFileFormat.ParameterCountOffset(4)..]));
    }

    /// <summary>The saved file with one header byte changed and the checksum made right again.</summary>
    private static byte[] Resealed(int offset, byte value)
    {
        byte[] data = Saved();
        data[offset] = value;
        int end = data.Length - ModelFile.HashSize;
        SHA256.HashData(data.AsSpan(0, end), data.AsSpan(end));
        return data;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(7)]
    public void Files_shorter_than_the_magic_are_refused_naming_their_length(int length)
        => Assert.Equal($"<stream>, offset 0, magic: the file is {length} bytes, too short to be a model file.", Refusal(Saved()[..length]));

    [Fact]
    public void Another_file_is_refused_showing_how_it_starts()
        => Assert.Equal("<stream>, offset 0, magic: not a FastBackprop model file: it starts with 89504E470D0A1A0A, not \"FBPMODEL\".",
            Refusal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0]));

    [Theory]
    [InlineData(8)]
    [InlineData(11)]
    public void A_header_cut_inside_the_version_is_refused(int length)
        => Assert.Equal($"<stream>, offset {length}, format version: the file ends after {length} bytes, inside the header (truncated).",
            Refusal(Saved()[..length]));

    [Fact]
    public void A_file_cut_after_the_version_is_refused_naming_the_smallest_size()
        => Assert.Equal("<stream>, offset 12, file length: the file is 12 bytes; the smallest model file is 80 (truncated).", Refusal(Saved()[..12]));

    [Theory]
    [InlineData(0u, "")]
    [InlineData(ModelFile.FormatVersion + 1, " (the file was written by a newer library)")]
    [InlineData(uint.MaxValue, " (the file was written by a newer library)")]
    public void Versions_outside_those_it_reads_are_refused(uint version, string newer)
    {
        byte[] data = Saved();
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(8), version);
        Assert.Equal($"<stream>, offset 8, format version: version {version} is not supported; this library reads versions 1 to {ModelFile.FormatVersion}{newer}.",
            Refusal(data));
    }

    [Fact]
    public void A_changed_byte_is_caught_by_the_checksum()
    {
        byte[] data = Saved();
        data[20] ^= 1;
        int end = data.Length - ModelFile.HashSize;
        Assert.StartsWith($"<stream>, offset {end}, SHA-256: the checksum does not match the {end} bytes before it: the file is corrupt or truncated (stored ",
            Refusal(data));
    }

    [Fact]
    public void An_unknown_element_type_behind_a_valid_checksum_is_refused()
        => Assert.Equal("<stream>, offset 12, element type: 5 is neither 4 (float32) nor 8 (float64).", Refusal(Resealed(12, 5)));

    [Fact]
    public void Unknown_flag_bits_are_refused_naming_the_known_ones()
        => Assert.Equal("<stream>, offset 13, flags: 0x80 sets unknown bits (known in version 5: 0x01 standardisation, 0x02 labels, 0x04 loss, "
            + "0x08 target standardisation, 0x10 feature names).", Refusal(Resealed(13, 0x80)));

    [Fact]
    public void Labels_with_target_standardisation_are_refused()
        => Assert.Equal("<stream>, offset 13, flags: 0x0a sets both class labels (0x02) and target standardisation (0x08), which only a regression model has.",
            Refusal(Resealed(13, 0x0A)));

    [Fact]
    public void Save_and_load_check_their_arguments_first()
    {
        var model = new Model<float>(new Network<float>(3, [new(2, Activation.Identity)], seed: 1));
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => ModelFile.Save("", model)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentNullException>(() => ModelFile.Save((string)null!, model)).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => ModelFile.Save("never-written.fbpm", (Model<float>)null!)).ParamName);
        Assert.False(File.Exists("never-written.fbpm"));
        Assert.Equal("stream", Assert.Throws<ArgumentNullException>(() => ModelFile.Save((Stream)null!, model)).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => ModelFile.Save(new MemoryStream(), (Model<float>)null!)).ParamName);
        Assert.Equal("path", Assert.Throws<ArgumentException>(() => ModelFile.Load<float>("")).ParamName);
        Assert.Equal("stream", Assert.Throws<ArgumentNullException>(() => ModelFile.Load<float>((Stream)null!)).ParamName);
    }

    [Fact]
    public void A_non_finite_parameter_is_refused_before_anything_is_written()
    {
        var network = new Network<float>(3, [new(2, Activation.Identity)], seed: 1);
        network.Parameters[4] = float.PositiveInfinity;
        var stream = new MemoryStream();
        var e = Assert.Throws<ArgumentException>(() => ModelFile.Save(stream, new Model<float>(network)));
        Assert.StartsWith("The model cannot be saved: parameter 4 is ", e.Message);
        Assert.Contains(", not a finite number.", e.Message);
        Assert.Equal(0, stream.Length);
    }
}
