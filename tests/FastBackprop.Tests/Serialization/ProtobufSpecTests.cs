using FastBackprop.Onnx;

namespace FastBackprop.Tests.Serialization;

/// <summary>
/// The protobuf wire format as the ONNX reader and writer implement it: varints at each 7-bit boundary and at the 64-bit
/// limit, every wire type, field numbers at their limits, and each way a hostile message fails — an
/// <see cref="InvalidDataException"/> whose <c>Data</c> names the byte offset and the field (the wording is not pinned).
/// </summary>
public class ProtobufSpecTests
{
    private static ProtoReader Reader(byte[] bytes, int start = 0, int? end = null) => new(bytes, start, end ?? bytes.Length, "m.onnx");

    /// <summary>Reads one varint field (key, then value) from <paramref name="bytes"/>.</summary>
    private static ulong ReadVarintField(byte[] bytes)
    {
        ProtoReader reader = Reader(bytes);
        Assert.True(reader.Next("message", out int field, out WireType type));
        Assert.Equal((1, WireType.Varint), (field, type));
        return reader.Varint("value");
    }

    private static void AssertFails(Action read, long offset, string field)
    {
        var e = Assert.Throws<InvalidDataException>(read);
        Assert.Equal(offset, e.Data["Offset"]);
        Assert.Equal(field, e.Data["Field"]);
        Assert.StartsWith("m.onnx, offset ", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0UL, new byte[] { 0x00 })]
    [InlineData(1UL, new byte[] { 0x01 })]
    [InlineData(127UL, new byte[] { 0x7F })]
    [InlineData(128UL, new byte[] { 0x80, 0x01 })]
    [InlineData(300UL, new byte[] { 0xAC, 0x02 })]
    [InlineData(16383UL, new byte[] { 0xFF, 0x7F })]
    [InlineData(16384UL, new byte[] { 0x80, 0x80, 0x01 })]
    [InlineData(ulong.MaxValue, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })]
    [InlineData(1UL << 63, new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 })]
    public void Varints_are_little_endian_groups_of_seven_bits(ulong value, byte[] encoding)
    {
        byte[] written = new ProtoWriter().Varint(1, value).ToArray();
        Assert.Equal([0x08, .. encoding], written);
        Assert.Equal(value, ReadVarintField(written));
    }

    /// <summary>Non-canonical but valid: a varint padded with continuation bytes still reads as its value.</summary>
    [Fact]
    public void Padded_varints_read_as_their_value()
        => Assert.Equal(5UL, ReadVarintField([0x08, 0x85, 0x80, 0x80, 0x00]));

    [Fact]
    public void Varints_beyond_64_bits_or_ten_bytes_or_the_message_are_refused()
    {
        // Tenth byte 2: bit 64 set.
        AssertFails(() => ReadVarintField([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]), 1, "value");
        // Eleven bytes, the tenth still continuing (0x81 > 1 fails first; 0x80 with a continuation runs past ten bytes).
        AssertFails(() => ReadVarintField([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), 1, "value");
        // Truncated inside the varint.
        AssertFails(() => ReadVarintField([0x08, 0x80, 0x80]), 1, "value");
        // The varint would continue past the end of the enclosing message (the file goes on).
        byte[] bytes = [0x08, 0x80, 0x01];
        AssertFails(() =>
        {
            ProtoReader reader = Reader(bytes, 0, 2);
            reader.Next("message", out _, out _);
            reader.Varint("value");
        }, 1, "value");
    }

    [Fact]
    public void Every_wire_type_round_trips()
    {
        var inner = new ProtoWriter().Varint(1, 42);
        byte[] bytes = new ProtoWriter()
            .Int64(1, -2)
            .Float(2, 1.5f)
            .Fixed64(3, 0x0102030405060708UL)
            .String(4, "größe")
            .Message(5, inner)
            .Bytes(6, [9, 8, 7])
            .Varint((1 << 29) - 1, 3)
            .ToArray();
        ProtoReader reader = Reader(bytes);
        Assert.True(reader.Next("m", out int field, out WireType type));
        Assert.Equal((1, -2L), (field, reader.Int64(type, "i")));
        Assert.True(reader.Next("m", out field, out type));
        Assert.Equal((2, 1.5f), (field, reader.Float(type, "f")));
        Assert.True(reader.Next("m", out field, out type));
        Assert.Equal((3, WireType.Fixed64), (field, type));
        reader.Skip(type, "m");
        Assert.True(reader.Next("m", out field, out type));
        Assert.Equal((4, "größe"), (field, reader.String(type, "s", 7)));
        Assert.True(reader.Next("m", out field, out type));
        ProtoReader nested = reader.Message(type, "n");
        Assert.True(nested.Next("n", out int nestedField, out WireType nestedType));
        Assert.Equal((1, 42L), (nestedField, nested.Int64(nestedType, "v")));
        Assert.False(nested.Next("n", out _, out _));
        Assert.True(reader.Next("m", out field, out type));
        Assert.Equal(6, field);
        Assert.Equal([9, 8, 7], reader.Bytes(type, "b").ToArray());
        Assert.True(reader.Next("m", out field, out type));
        Assert.Equal(((1 << 29) - 1, 3L), (field, reader.Int64(type, "max")));
        Assert.False(reader.Next("m", out field, out _));
        Assert.Equal((0, 0, bytes.Length), (field, reader.Remaining, reader.Position));
    }

    /// <summary>A negative int64 takes ten bytes, as protobuf defines; the reader gives back the same value.</summary>
    [Fact]
    public void Negative_int64_takes_ten_bytes()
    {
        byte[] bytes = new ProtoWriter().Int64(1, -1).ToArray();
        Assert.Equal(11, bytes.Length);
        ProtoReader reader = Reader(bytes);
        reader.Next("m", out _, out WireType type);
        Assert.Equal(-1L, reader.Int64(type, "v"));
    }

    [Fact]
    public void Skipping_passes_over_each_wire_type_without_reading_inside()
    {
        byte[] bytes = new ProtoWriter().Varint(1, 300).Fixed64(2, 1).Float(3, 2).Bytes(4, [0xFF, 0xFF]).Varint(5, 7).ToArray();
        ProtoReader reader = Reader(bytes);
        int[] positions = new int[4];
        for (int i = 0; i < 4; i++)
        {
            reader.Next("m", out _, out WireType type);
            reader.Skip(type, "m");
            positions[i] = reader.Position;
        }
        Assert.Equal([3, 12, 17, 21], positions);
        Assert.True(reader.Next("m", out int field, out WireType last));
        Assert.Equal((5, 7L), (field, reader.Int64(last, "v")));
    }

    /// <summary>Field number 0 and numbers above 2²⁹ − 1 do not exist; wire types 3 and 4 (groups) are obsolete, 6 and 7
    /// undefined. The error points at the key.</summary>
    [Theory]
    [InlineData(new byte[] { 0x00 })]                         // field 0
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x10 })] // field 2^29
    [InlineData(new byte[] { 0x0B })]                         // start group
    [InlineData(new byte[] { 0x0C })]                         // end group
    [InlineData(new byte[] { 0x0E })]                         // wire type 6
    [InlineData(new byte[] { 0x0F })]                         // wire type 7
    public void Keys_with_invalid_field_numbers_or_wire_types_are_refused(byte[] key)
    {
        byte[] bytes = [0x08, 0x01, .. key, 0x00, 0x00];
        AssertFails(() =>
        {
            ProtoReader reader = Reader(bytes);
            reader.Next("graph", out _, out WireType type);
            reader.Skip(type, "graph");
            reader.Next("graph", out _, out _);
        }, 2, "graph");
    }

    [Fact]
    public void A_wire_type_other_than_the_schemas_is_refused_at_the_key()
    {
        byte[] varint = new ProtoWriter().Varint(1, 1).Varint(2, 5).ToArray();
        AssertFails(() =>
        {
            ProtoReader reader = Reader(varint);
            reader.Next("m", out _, out WireType first);
            reader.Skip(first, "m");
            reader.Next("m", out _, out WireType type);
            reader.Float(type, "scale");
        }, 2, "scale");
        AssertFails(() =>
        {
            ProtoReader reader = Reader(varint);
            reader.Next("m", out _, out WireType type);
            reader.Bytes(type, "raw");
        }, 0, "raw");
        byte[] fixed32 = new ProtoWriter().Float(1, 1).ToArray();
        AssertFails(() =>
        {
            ProtoReader reader = Reader(fixed32);
            reader.Next("m", out _, out WireType type);
            reader.Int64(type, "dim");
        }, 0, "dim");
    }

    /// <summary>A length is checked against what is left of the enclosing message, not of the file: a length that fits
    /// exactly is read, one byte more is refused at the field's key.</summary>
    [Fact]
    public void Lengths_must_fit_the_enclosing_message()
    {
        byte[] exact = [0x00, 0x00, 0x0A, 0x02, 0xAA, 0xBB];
        ProtoReader reader = Reader(exact, 2);
        reader.Next("m", out _, out WireType type);
        Assert.Equal((4, 2), reader.LengthDelimited(type, "b"));
        Assert.Equal(0, reader.Remaining);

        byte[] tooLong = [0x00, 0x00, 0x0A, 0x03, 0xAA, 0xBB, 0xCC];
        AssertFails(() =>
        {
            ProtoReader inner = Reader(tooLong, 2, 6);
            inner.Next("m", out _, out WireType t);
            inner.LengthDelimited(t, "b");
        }, 2, "b");
        byte[] huge = [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F];
        AssertFails(() =>
        {
            ProtoReader inner = Reader(huge);
            inner.Next("m", out _, out WireType t);
            inner.Bytes(t, "b");
        }, 0, "b");
    }

    [Fact]
    public void Fixed_width_fields_must_fit_the_enclosing_message()
    {
        byte[] fixed32 = [0x0D, 0x00, 0x00, 0xC0];
        AssertFails(() =>
        {
            ProtoReader reader = Reader(fixed32);
            reader.Next("m", out _, out WireType type);
            reader.Float(type, "f");
        }, 1, "f");
        byte[] fixed64 = [0x09, 1, 2, 3, 4, 5, 6, 7];
        AssertFails(() =>
        {
            ProtoReader reader = Reader(fixed64);
            reader.Next("m", out _, out WireType type);
            reader.Skip(type, "m");
        }, 1, "m");
        byte[] fits = [0x0D, 0x00, 0x00, 0xC0, 0x3F];
        ProtoReader ok = Reader(fits);
        ok.Next("m", out _, out WireType t);
        Assert.Equal(1.5f, ok.Float(t, "f"));
    }

    [Fact]
    public void Strings_are_strict_utf8_within_their_byte_limit()
    {
        byte[] six = new ProtoWriter().String(1, "größ").ToArray(); // 6 bytes of UTF-8
        ProtoReader reader = Reader(six);
        reader.Next("m", out _, out WireType type);
        Assert.Equal("größ", reader.String(type, "name", 6));
        AssertFails(() =>
        {
            ProtoReader r = Reader(six);
            r.Next("m", out _, out WireType t);
            r.String(t, "name", 5);
        }, 0, "name");
        foreach (byte[] invalid in new byte[][] { [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF] })
        {
            byte[] bytes = new ProtoWriter().Bytes(1, invalid).ToArray();
            var e = Assert.Throws<InvalidDataException>(() =>
            {
                ProtoReader r = Reader(bytes);
                r.Next("m", out _, out WireType t);
                r.String(t, "name", 100);
            });
            Assert.Equal(0L, e.Data["Offset"]);
            Assert.IsType<System.Text.DecoderFallbackException>(e.InnerException);
        }
    }

    [Fact]
    public void A_nested_message_cannot_read_past_its_own_end()
    {
        // Outer field 1 holds two bytes (a key and the start of a varint); the byte after belongs to the outer message.
        byte[] bytes = [0x0A, 0x02, 0x08, 0x80, 0x01];
        ProtoReader outer = Reader(bytes);
        outer.Next("m", out _, out WireType type);
        ProtoReader nested = outer.Message(type, "n");
        Assert.Equal(("m.onnx", 2, 2), (nested.Name, nested.Position, nested.Remaining));
        nested.Next("n", out _, out _);
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            ProtoReader again = Reader(bytes);
            again.Next("m", out _, out WireType t);
            ProtoReader inner = again.Message(t, "n");
            inner.Next("n", out _, out _);
            inner.Varint("v");
        });
        Assert.Equal(3L, e.Data["Offset"]);
        Assert.Equal(4, outer.Position);
        Assert.Equal(2, nested.FieldStart);
    }
}
