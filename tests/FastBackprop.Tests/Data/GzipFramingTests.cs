using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace FastBackprop.Tests.Data;

/// <summary>The gzip framing around the loaders' data (RFC 1952): a file cut anywhere is refused as truncated, a trailer
/// that disagrees with the data as corrupt, bytes after a member that are not another member are refused naming their
/// offset, and concatenated members are read as one file — from a file, a seekable stream or one that cannot seek.</summary>
public sealed class GzipFramingTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static readonly byte[] Csv = Encoding.UTF8.GetBytes(
        "x,y,price\n" + string.Concat(Enumerable.Range(0, 300).Select(i => $"{i},{i % 7},{i % 2}\n")) + "1,2,696244.61\n");

    private static Dataset<float> LoadCsv(byte[] bytes, bool seekable = true, long maxBytes = 1L << 30)
    {
        using Stream stream = seekable ? new MemoryStream(bytes) : new ForwardOnlyStream(bytes);
        return CsvLoader.Load<float>(stream, new CsvOptions { Task = CsvTask.Regression, Limits = new DataLimits { MaxBytes = maxBytes } }, "prices.csv.gz");
    }

    private static DataFormatException BadCsv(byte[] bytes, bool seekable = true)
    {
        var e = Assert.Throws<DataFormatException>(() => LoadCsv(bytes, seekable));
        Assert.StartsWith("prices.csv.gz: ", e.Message);
        return e;
    }

    [Fact]
    public void A_csv_gz_cut_at_any_byte_is_refused_as_truncated_never_loaded_short()
    {
        byte[] gz = TempDir.Gzip(Csv);
        Assert.Equal(696244.61f, LoadCsv(gz).Targets![^1]);
        // From 2 bytes on: a file of one byte (0x1f) is not gzip, and is read as text.
        for (int cut = 2; cut < gz.Length; cut++)
        {
            foreach (bool seekable in new[] { true, false })
            {
                DataFormatException e = BadCsv(gz[..cut], seekable);
                Assert.True(e.Message.Contains("(truncated)") || e.Message.Contains("corrupt"), $"cut at {cut}: {e.Message}");
            }
        }
    }

    [Fact]
    public void A_cut_inside_the_trailer_names_the_end_of_the_file_and_the_member()
    {
        byte[] gz = TempDir.Gzip(Csv);
        DataFormatException e = BadCsv(gz[..^3]);
        Assert.Equal($"prices.csv.gz: the file ends at byte {gz.Length - 3:N0}, after {Csv.Length:N0} decompressed bytes of the gzip member that starts at byte 0, before its data and 8-byte trailer (CRC-32 and length) are complete (truncated).", e.Message);
    }

    [Fact]
    public void An_idx_gz_cut_at_any_byte_is_refused()
    {
        byte[] idx = Idx.File(0x08, [40, 5], Enumerable.Range(0, 200).Select(i => (byte)(i * 7)).ToArray());
        byte[] gz = TempDir.Gzip(idx);
        Assert.Equal(40, IdxLoader.LoadImages(new MemoryStream(gz), name: "images.gz").Count);
        for (int cut = 2; cut < gz.Length; cut++)
        {
            var e = Assert.Throws<DataFormatException>(() => IdxLoader.LoadImages(new ForwardOnlyStream(gz[..cut]), name: "images.gz"));
            Assert.StartsWith("images.gz", e.Message);
        }
    }

    [Fact]
    public void A_crc_mismatch_is_reported_as_such()
    {
        byte[] gz = TempDir.Gzip(Csv);
        gz[^8] ^= 0x01;
        DataFormatException e = BadCsv(gz);
        Assert.Contains("corrupt (CRC mismatch)", e.Message);
        Assert.Contains($"trailer at byte {gz.Length - 8:N0}", e.Message);
    }

    [Fact]
    public void A_wrong_length_in_the_trailer_is_corrupt()
    {
        byte[] gz = TempDir.Gzip(Csv);
        gz[^1] ^= 0x40;
        Assert.Contains("corrupt (length mismatch)", BadCsv(gz).Message);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'\n' })]
    [InlineData(new byte[] { 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0x1f })]
    [InlineData(new byte[] { (byte)'1', (byte)',', (byte)'2' })]
    public void Bytes_after_the_last_member_are_refused_naming_their_offset(byte[] tail)
    {
        byte[] gz = TempDir.Gzip(Csv);
        foreach (bool seekable in new[] { true, false })
        {
            DataFormatException e = BadCsv([.. gz, .. tail], seekable);
            Assert.Contains($"at byte {gz.Length:N0}", e.Message);
        }
    }

    [Fact]
    public void Concatenated_members_read_as_one_file_as_gzip_d_does()
    {
        byte[] whole = TempDir.Gzip(Csv);
        int half = Array.IndexOf(Csv, (byte)'\n', Csv.Length / 2) + 1;
        byte[] joined = [.. TempDir.Gzip(Csv[..half]), .. TempDir.Gzip([]), .. TempDir.Gzip(Csv[half..])];
        foreach (bool seekable in new[] { true, false })
        {
            Dataset<float> expected = LoadCsv(whole, seekable), actual = LoadCsv(joined, seekable);
            Assert.Equal(expected.Features, actual.Features);
            Assert.Equal(expected.Targets!, actual.Targets!);
        }
    }

    [Fact]
    public void The_byte_limit_counts_every_member()
    {
        byte[] member = TempDir.Gzip(Csv);
        byte[] joined = [.. member, .. member];
        var e = Assert.Throws<DataFormatException>(() => LoadCsv(joined, maxBytes: Csv.Length + 10));
        Assert.Contains("DataLimits.MaxBytes", e.Message);
    }

    [Fact]
    public void A_truncated_second_member_is_refused()
    {
        byte[] first = TempDir.Gzip(Csv), rows = TempDir.Gzip("7,8,9\n"u8.ToArray());
        Assert.Contains("(truncated)", BadCsv([.. first, .. rows[..^4]]).Message);
    }

    /// <summary>A gzip member with every optional header field (RFC 1952 2.3.1), written by hand.</summary>
    private static byte[] MemberWithOptionalFields(byte[] data, bool goodHeaderCrc = true, byte method = 8, byte extraFlags = 0)
    {
        using var deflated = new MemoryStream();
        using (var d = new DeflateStream(deflated, CompressionLevel.Fastest, leaveOpen: true))
            d.Write(data);
        var header = new List<byte> { 0x1f, 0x8b, method, (byte)(0x02 | 0x04 | 0x08 | 0x10 | extraFlags), 0, 0, 0, 0, 0, 3 };
        header.AddRange([3, 0, (byte)'a', (byte)'b', (byte)'c']);        // FEXTRA: length 3, then 3 bytes
        header.AddRange([.. "prices.csv"u8, 0]);                          // FNAME
        header.AddRange([.. "a comment"u8, 0]);                           // FCOMMENT
        ushort headerCrc = (ushort)Crc32.Append(0, header.ToArray());
        header.AddRange(BitConverter.GetBytes((ushort)(goodHeaderCrc ? headerCrc : headerCrc ^ 1)));
        var trailer = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, Crc32.Append(0, data));
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(4), (uint)data.Length);
        return [.. header, .. deflated.ToArray(), .. trailer];
    }

    [Fact]
    public void Optional_header_fields_are_skipped_and_the_header_checksum_checked()
    {
        Assert.Equal(696244.61f, LoadCsv(MemberWithOptionalFields(Csv)).Targets![^1]);
        Assert.Contains("header checksum", BadCsv(MemberWithOptionalFields(Csv, goodHeaderCrc: false)).Message);
        Assert.Contains("compression method 7", BadCsv(MemberWithOptionalFields(Csv, method: 7)).Message);
        Assert.Contains("reserved flag bits", BadCsv(MemberWithOptionalFields(Csv, extraFlags: 0x20)).Message);
        byte[] whole = MemberWithOptionalFields(Csv);
        Assert.Contains("inside the header's file name", BadCsv(whole[..20]).Message);
    }

    [Fact]
    public void Crc32_matches_the_check_value_of_the_standard()
    {
        Assert.Equal(0xCBF43926u, Crc32.Append(0, "123456789"u8));
        Assert.Equal(Crc32.Append(0, Csv), Crc32.Append(Crc32.Append(0, Csv.AsSpan(0, 13)), Csv.AsSpan(13)));
    }
}
