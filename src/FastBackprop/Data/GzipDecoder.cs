using System.Buffers.Binary;
using System.IO.Compression;

namespace FastBackprop;

/// <summary>
/// Decompresses gzip data (RFC 1952) and checks the framing that <see cref="GZipStream"/> lets pass: a stream that ends
/// before a member's 8-byte trailer is "truncated" (GZipStream returns the partial data as if complete), a trailer whose
/// CRC-32 or length disagrees with the data is "corrupt", and bytes after a member that do not start another member are
/// refused naming their offset (GZipStream drops them). Concatenated members are decoded one after another, as
/// <c>gzip -d</c> does: RFC 1952 defines a gzip file as a series of members, and <c>gzip -c a b &gt; c</c> or appending
/// to a log with <c>gzip &gt;&gt;</c> writes such files.
/// <para>The members' deflate data are inflated by <see cref="DeflateStream"/>, which reads its input in blocks and does
/// not say how much of the last block it used. The trailer is therefore found by what it must hold: the CRC-32 and the
/// length (mod 2³²) of the data just inflated, searched for in the last block given to the inflater. A match elsewhere
/// than the true end needs 64 chosen bits inside the deflate data, and then the true trailer bytes are read as what
/// follows the member, which is refused: a hostile file can make the error less precise, never make bad data pass.</para>
/// Errors are <see cref="DataFormatException"/>s naming the file and the byte offset in the compressed file.
/// </summary>
internal sealed class GzipDecoder : ForwardReadStream
{
    private const byte FlagHeaderCrc = 0x02, FlagExtra = 0x04, FlagName = 0x08, FlagComment = 0x10, FlagsReserved = 0xE0;
    private const int TrailerBytes = 8;

    private readonly Stream source;
    private readonly bool leaveOpen;
    private readonly string? name;
    private readonly DeflateInput input;

    // Compressed bytes not yet used: buffer[start..end). buffer[0] is byte bufferOffset of the file.
    private byte[] buffer = new byte[1 << 16];
    private int start, end;
    private long bufferOffset;
    private bool sourceEnded;
    // Where the inflater's latest block began in the buffer: the member's deflate data end inside that block.
    private int lastBlockStart;

    private DeflateStream? deflate;
    private long memberStart;
    private uint crc;
    private long memberLength;
    private bool firstMember = true;
    private bool finished;

    /// <param name="source">The compressed data, positioned at the gzip magic.</param>
    /// <param name="leaveOpen">Whether disposing this leaves <paramref name="source"/> open.</param>
    /// <param name="name">The file name for error messages.</param>
    public GzipDecoder(Stream source, bool leaveOpen, string? name)
    {
        this.source = source;
        this.leaveOpen = leaveOpen;
        this.name = name;
        input = new DeflateInput(this);
    }

    public override int Read(Span<byte> output)
    {
        while (!finished && !output.IsEmpty)
        {
            if (deflate is null && !StartMember())
            {
                finished = true;
                break;
            }
            int n;
            try
            {
                n = deflate!.Read(output);
            }
            catch (InvalidDataException e)
            {
                throw Error($"the compressed data of the gzip member that starts at byte {memberStart:N0} are corrupt ({e.Message}).", e);
            }
            if (n > 0)
            {
                crc = Crc32.Append(crc, output[..n]);
                memberLength += n;
                return n;
            }
            EndMember();
        }
        return 0;
    }

    /// <summary>Reads the next member's header; false at the end of the input after a complete member.</summary>
    private bool StartMember()
    {
        if (!firstMember)
        {
            if (!Ensure(1))
                return false;
            if (!Ensure(2) || buffer[start] != 0x1f || buffer[start + 1] != 0x8b)
                throw Error($"bytes follow the gzip data at byte {Offset(start):N0} and are not another gzip member (they start with {Hex(start)}): the file is corrupt, or something was appended to it.");
        }
        firstMember = false;
        memberStart = Offset(start);
        ReadHeader();
        crc = 0;
        memberLength = 0;
        deflate = new DeflateStream(input, CompressionMode.Decompress, leaveOpen: true);
        return true;
    }

    private void ReadHeader()
    {
        uint headerCrc = 0;
        ReadOnlySpan<byte> fixedPart = Take(10, "header", ref headerCrc);
        if (fixedPart[2] != 8)
            throw Error($"the gzip member that starts at byte {memberStart:N0} uses compression method {fixedPart[2]}; only 8 (deflate) exists.");
        byte flags = fixedPart[3];
        if ((flags & FlagsReserved) != 0)
            throw Error($"the gzip member that starts at byte {memberStart:N0} sets reserved flag bits (0x{flags:x2}); the file is corrupt or not gzip.");
        if ((flags & FlagExtra) != 0)
        {
            int extra = BinaryPrimitives.ReadUInt16LittleEndian(Take(2, "header's extra field", ref headerCrc));
            for (; extra > 0; extra--)
                Take(1, "header's extra field", ref headerCrc);
        }
        if ((flags & FlagName) != 0)
            SkipZeroTerminated("header's file name", ref headerCrc);
        if ((flags & FlagComment) != 0)
            SkipZeroTerminated("header's comment", ref headerCrc);
        if ((flags & FlagHeaderCrc) != 0)
        {
            uint ignored = 0;
            long at = Offset(start);
            ushort stored = BinaryPrimitives.ReadUInt16LittleEndian(Take(2, "header's checksum", ref ignored));
            if (stored != (ushort)headerCrc)
                throw Error($"the header checksum at byte {at:N0} is 0x{stored:x4}, but the header's bytes give 0x{(ushort)headerCrc:x4} (corrupt).");
        }
    }

    private void SkipZeroTerminated(string what, ref uint headerCrc)
    {
        while (Take(1, what, ref headerCrc)[0] != 0)
        {
        }
    }

    /// <summary>The next <paramref name="count"/> header bytes (count ≤ 10), added to the header's CRC.</summary>
    private ReadOnlySpan<byte> Take(int count, string what, ref uint headerCrc)
    {
        if (!Ensure(count))
            throw Truncated($"inside the {what} of the gzip member that starts at byte {memberStart:N0}");
        ReadOnlySpan<byte> bytes = buffer.AsSpan(start, count);
        start += count;
        headerCrc = Crc32.Append(headerCrc, bytes);
        return bytes;
    }

    /// <summary>The inflater has stopped, at the end of its deflate data or because the input ran out (DeflateStream does
    /// not tell the two apart): the trailer decides which.</summary>
    private void EndMember()
    {
        deflate!.Dispose();
        deflate = null;
        int used = start;
        Span<byte> expected = stackalloc byte[TrailerBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(expected, crc);
        BinaryPrimitives.WriteUInt32LittleEndian(expected[4..], (uint)memberLength);
        Ensure(used + TrailerBytes - lastBlockStart, keepFrom: lastBlockStart, from: lastBlockStart);
        used = start;
        start = lastBlockStart;
        int last = Math.Min(used, end - TrailerBytes);
        for (int p = lastBlockStart; p <= last; p++)
        {
            if (buffer.AsSpan(p, TrailerBytes).SequenceEqual(expected))
            {
                start = p + TrailerBytes;
                return;
            }
        }
        // No trailer fits the data: one half that fits names the other as corrupt; else the file ended early, or is corrupt.
        for (int p = lastBlockStart; p <= last; p++)
        {
            if (buffer.AsSpan(p + 4, 4).SequenceEqual(expected[4..]))
            {
                uint stored = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(p));
                throw Error($"the gzip member that starts at byte {memberStart:N0} is corrupt (CRC mismatch): its trailer at byte {Offset(p):N0} stores CRC-32 0x{stored:x8}, but its {memberLength:N0} decompressed bytes give 0x{crc:x8}.");
            }
            if (buffer.AsSpan(p, 4).SequenceEqual(expected[..4]))
            {
                uint stored = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(p + 4));
                throw Error($"the gzip member that starts at byte {memberStart:N0} is corrupt (length mismatch): its trailer at byte {Offset(p):N0} stores the length {stored:N0} (mod 2^32), but the data decompress to {memberLength:N0} bytes.");
            }
        }
        if (sourceEnded)
            throw Truncated($"after {memberLength:N0} decompressed bytes of the gzip member that starts at byte {memberStart:N0}, before its data and 8-byte trailer (CRC-32 and length) are complete");
        throw Error($"the gzip member that starts at byte {memberStart:N0} is corrupt: no trailer after its compressed data matches the {memberLength:N0} bytes they decompress to (CRC-32 0x{crc:x8}).");
    }

    /// <summary>Makes at least <paramref name="count"/> bytes available from <paramref name="from"/> (default: start),
    /// keeping the buffer from <paramref name="keepFrom"/> (default: start); false when the input ends first.</summary>
    private bool Ensure(int count, int keepFrom = -1, int from = -1)
    {
        if (keepFrom < 0)
            keepFrom = start;
        if (from < 0)
            from = start;
        while (end - from < count)
        {
            if (sourceEnded)
                return false;
            if (keepFrom > 0)
            {
                Buffer.BlockCopy(buffer, keepFrom, buffer, 0, end - keepFrom);
                bufferOffset += keepFrom;
                start -= keepFrom;
                end -= keepFrom;
                from -= keepFrom;
                lastBlockStart = Math.Max(0, lastBlockStart - keepFrom);
                keepFrom = 0;
            }
            if (end == buffer.Length)
                Array.Resize(ref buffer, buffer.Length * 2);
            int n = source.Read(buffer, end, buffer.Length - end);
            if (n <= 0)
                sourceEnded = true;
            else
                end += n;
        }
        return true;
    }

    private long Offset(int index) => bufferOffset + index;

    private string Hex(int index) => Convert.ToHexString(buffer, index, Math.Min(4, end - index)).ToLowerInvariant();

    private DataFormatException Error(string problem, Exception? inner = null) => new(name, null, null, problem, inner);

    private DataFormatException Truncated(string where) =>
        Error($"the file ends at byte {Offset(end):N0}, {where} (truncated).");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            deflate?.Dispose();
            if (!leaveOpen)
                source.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>What the inflater reads: the decoder's buffered input, one block at a time, so that the block in which
    /// the deflate data end is still in the buffer when the inflater stops.</summary>
    private sealed class DeflateInput(GzipDecoder decoder) : ForwardReadStream
    {
        public override int Read(Span<byte> destination)
        {
            GzipDecoder d = decoder;
            if (destination.IsEmpty || !d.Ensure(1))
                return 0;
            int n = Math.Min(destination.Length, d.end - d.start);
            d.buffer.AsSpan(d.start, n).CopyTo(destination);
            d.lastBlockStart = d.start;
            d.start += n;
            return n;
        }
    }
}
