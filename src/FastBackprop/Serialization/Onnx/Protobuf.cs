using System.Buffers.Binary;
using System.Text;

namespace FastBackprop.Onnx;

// Why a hand-written wire format instead of Google.Protobuf: ONNX import/export needs eight messages and four wire
// types, about 200 lines here. Google.Protobuf would add the library's first third-party runtime dependency (the
// package depends on System.Numerics.Tensors only) for all its users, and its generated parsers allocate every
// repeated field and string as they come, so capping what a hostile file can make us allocate would need a second
// pass anyway. Reading the wire format directly lets every length be checked against the bytes that remain before
// anything is allocated, and lets the reader skip (without descending into) every field the importer does not use.

/// <summary>Protobuf wire types (the low three bits of a field key).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>Builds one protobuf message in memory: fields are appended in the order written (protobuf readers accept
/// any order; ONNX tools expect nothing else).</summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream stream = new();

    public ProtoWriter Varint(int field, ulong value)
    {
        Key(field, WireType.Varint);
        Raw(value);
        return this;
    }

    /// <summary>An int64/int32 field: negative values take ten bytes (two's complement), as protobuf defines.</summary>
    public ProtoWriter Int64(int field, long value) => Varint(field, unchecked((ulong)value));

    public ProtoWriter Float(int field, float value)
    {
        Key(field, WireType.Fixed32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        stream.Write(bytes);
        return this;
    }

    public ProtoWriter Fixed64(int field, ulong value)
    {
        Key(field, WireType.Fixed64);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        stream.Write(bytes);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int field, ProtoWriter value) => Bytes(field, value.ToArray());

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Key(field, WireType.LengthDelimited);
        Raw((ulong)value.Length);
        stream.Write(value);
        return this;
    }

    public byte[] ToArray() => stream.ToArray();

    private void Key(int field, WireType wireType) => Raw((ulong)field << 3 | (ulong)wireType);

    private void Raw(ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        stream.WriteByte((byte)value);
    }
}

/// <summary>
/// Reads the fields of one protobuf message lying in <c>[start, end)</c> of a whole file, bounded: every varint is at
/// most ten bytes, every length is checked against the bytes left in the enclosing message before it is used, and
/// errors are <see cref="InvalidDataException"/>s naming the file, the absolute byte offset and the field being read.
/// Nested messages are read with a new reader over their own range, so a length can never reach outside its parent.
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> data;
    private readonly int end;

    public ProtoReader(ReadOnlySpan<byte> data, int start, int end, string? name)
    {
        this.data = data;
        Position = start;
        this.end = end;
        Name = name;
    }

    public string? Name { get; }

    /// <summary>Absolute offset of the next byte to read.</summary>
    public int Position { get; private set; }

    /// <summary>Where the current field's key began (for error messages).</summary>
    public int FieldStart { get; private set; }

    public readonly int Remaining => end - Position;

    /// <summary>The whole file (ranges from <see cref="LengthDelimited"/> index into it).</summary>
    public readonly ReadOnlySpan<byte> Data => data;

    public readonly InvalidDataException Error(long offset, string field, string problem) => ModelFormatError.Create(Name, offset, field, problem);

    /// <summary>Reads the next field's key; false at the end of the message.</summary>
    public bool Next(string message, out int field, out WireType wireType)
    {
        FieldStart = Position;
        if (Position >= end)
        {
            field = 0;
            wireType = 0;
            return false;
        }
        ulong key = Varint(message);
        wireType = (WireType)(key & 7);
        ulong number = key >> 3;
        if (number is 0 or > (1 << 29) - 1)
            throw Error(FieldStart, message, $"field number {number} is not a valid protobuf field number (the bytes are not a protobuf message).");
        if (wireType is WireType.StartGroup or WireType.EndGroup || (int)wireType > 5)
            throw Error(FieldStart, message, $"field {number} has wire type {(int)wireType}, which ONNX never uses (groups are obsolete; 6 and 7 do not exist).");
        field = (int)number;
        return true;
    }

    public ulong Varint(string field)
    {
        int start = Position;
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (Position >= end)
                throw Error(start, field, "the message ends inside a varint (truncated file?).");
            byte b = data[Position++];
            if (shift == 63 && b > 1)
                throw Error(start, field, "a varint is longer than 64 bits.");
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return value;
        }
        throw Error(start, field, "a varint is longer than ten bytes.");
    }

    /// <summary>A varint field that must be of wire type varint.</summary>
    public long Int64(WireType wireType, string field)
    {
        Expect(wireType, WireType.Varint, field);
        return unchecked((long)Varint(field));
    }

    public float Float(WireType wireType, string field)
    {
        Expect(wireType, WireType.Fixed32, field);
        return BinaryPrimitives.ReadSingleLittleEndian(Take(4, field));
    }

    /// <summary>The payload of a length-delimited field, as an absolute range of the file.</summary>
    public (int Start, int Length) LengthDelimited(WireType wireType, string field)
    {
        Expect(wireType, WireType.LengthDelimited, field);
        int keyStart = FieldStart;
        ulong length = Varint(field);
        if (length > (ulong)Remaining)
            throw Error(keyStart, field, $"its length {length} is more than the {Remaining} bytes left in the enclosing message (truncated or corrupt file).");
        int start = Position;
        Position += (int)length;
        return (start, (int)length);
    }

    public ReadOnlySpan<byte> Bytes(WireType wireType, string field)
    {
        var (start, length) = LengthDelimited(wireType, field);
        return data.Slice(start, length);
    }

    public ProtoReader Message(WireType wireType, string field)
    {
        var (start, length) = LengthDelimited(wireType, field);
        return new ProtoReader(data, start, start + length, Name);
    }

    /// <summary>A UTF-8 string of at most <paramref name="maxBytes"/> bytes, strictly decoded.</summary>
    public string String(WireType wireType, string field, int maxBytes)
    {
        int keyStart = FieldStart;
        ReadOnlySpan<byte> bytes = Bytes(wireType, field);
        if (bytes.Length > maxBytes)
            throw Error(keyStart, field, $"a string of {bytes.Length} bytes is longer than the {maxBytes} accepted.");
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw Error(keyStart, field, "a string is not valid UTF-8.", e);
        }
    }

    /// <summary>Skips a field the importer does not use, without looking inside it.</summary>
    public void Skip(WireType wireType, string message)
    {
        switch (wireType)
        {
            case WireType.Varint: Varint(message); break;
            case WireType.Fixed64: Take(8, message); break;
            case WireType.Fixed32: Take(4, message); break;
            default: LengthDelimited(wireType, message); break;
        }
    }

    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (Remaining < count)
            throw Error(Position, field, $"{count} bytes needed but only {Remaining} left in the enclosing message (truncated file?).");
        ReadOnlySpan<byte> bytes = data.Slice(Position, count);
        Position += count;
        return bytes;
    }

    private readonly void Expect(WireType actual, WireType expected, string field)
    {
        if (actual != expected)
            throw Error(FieldStart, field, $"wire type {(int)actual} where ONNX defines {(int)expected} ({expected}): not an ONNX model, or a corrupt one.");
    }

    private readonly InvalidDataException Error(long offset, string field, string problem, Exception inner) => ModelFormatError.Create(Name, offset, field, problem, inner);

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
