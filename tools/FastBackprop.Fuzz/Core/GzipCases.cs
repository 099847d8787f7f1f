using System.IO.Compression;
using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>
/// Gzip files that are not what they seem, for the CSV and IDX loaders: a member cut short (inside the 10-byte header,
/// inside the deflate data, inside the 8-byte trailer, or right after a sync flush so that the data end cleanly inside
/// the last cell), a wrong CRC-32 or ISIZE, bytes after the member, and the content split into several valid members.
/// Each case carries the uncompressed original: a damaged file must be refused, a valid multi-member file must load
/// exactly as the original.
/// </summary>
public static class GzipCases
{
    private const int HeaderBytes = 10, TrailerBytes = 8;

    public static FuzzCase Create(Random random, int runSeed, int index)
    {
        var what = new StringBuilder();
        if (random.Next(3) == 0)
        {
            IdxSeed seed = Seeds.Idx(random);
            bool images = random.Next(2) == 0;
            byte[] plain = images ? seed.Images : seed.Labels;
            (byte[] damaged, bool refuse) = Damage(plain, random, what);
            what.Insert(what.ToString().IndexOf(':', StringComparison.Ordinal), images ? " (images)" : " (labels)");
            FuzzFile other = FuzzFile.FromBytes(images ? seed.Labels : seed.Images);
            FuzzFile file = FuzzFile.FromBytes(damaged);
            return new FuzzCase(FuzzKind.Gzip, runSeed, index, seed.Description, what.ToString(),
                images ? [("images.idx", file), ("labels.idx", other)] : [("images.idx", other), ("labels.idx", file)])
            {
                Originals = [("images.idx", FuzzFile.FromBytes(seed.Images)), ("labels.idx", FuzzFile.FromBytes(seed.Labels))],
                MustBeRefused = refuse,
            };
        }
        CsvSeed csv = Seeds.Csv(random);
        byte[] text = Encoding.UTF8.GetBytes(csv.Text);
        (byte[] bytes, bool mustRefuse) = Damage(text, random, what);
        return new FuzzCase(FuzzKind.Gzip, runSeed, index, csv.Description, what.ToString(), [("data.csv", FuzzFile.FromBytes(bytes))], csv.Options)
        {
            Originals = [("data.csv", FuzzFile.FromBytes(text))],
            MustBeRefused = mustRefuse,
        };
    }

    /// <summary>Compresses <paramref name="plain"/> and damages or splits it; returns the bytes and whether they must be
    /// refused (false only for a valid multi-member file).</summary>
    private static (byte[] Bytes, bool MustBeRefused) Damage(byte[] plain, Random random, StringBuilder what)
    {
        byte[] gz = Seeds.Gzip(plain);
        int n = gz.Length;
        switch (random.Next(8))
        {
            case 0:
                {
                    int cut = random.Next(1, HeaderBytes);
                    what.Append($"cut inside the header: at byte {cut} of {n}");
                    return (gz[..cut], true);
                }
            case 1:
                {
                    int cut = random.Next(HeaderBytes, n - TrailerBytes);
                    what.Append($"cut inside the deflate data: at byte {cut} of {n}");
                    return (gz[..cut], true);
                }
            case 2:
                {
                    int cut = random.Next(n - TrailerBytes, n);
                    what.Append($"cut inside the trailer: at byte {cut} of {n}, {n - cut} of its 8 bytes missing");
                    return (gz[..cut], true);
                }
            case 3:
            case 4:
                {
                    // The deflate data end cleanly after a sync flush: the decompressor sees a well-formed prefix of the
                    // content that stops inside the last cell (or at a line end), then the end of the file.
                    int at = CutInContent(plain, random, out string where);
                    byte[] flushed = SyncFlushed(plain, at, out int flushEnd);
                    int extra = random.Next(3) == 0 ? random.Next(1, Math.Max(2, flushed.Length - flushEnd - TrailerBytes)) : 0;
                    int cut = Math.Min(flushEnd + extra, flushed.Length - 1);
                    what.Append($"cut after a sync flush {where}: at byte {cut} of {flushed.Length}, the flush at content byte {at} of {plain.Length}");
                    return (flushed[..cut], true);
                }
            case 5:
                {
                    bool crc = random.Next(2) == 0;
                    int at = n - TrailerBytes + (crc ? 0 : 4) + random.Next(4);
                    byte bit = (byte)(1 << random.Next(8));
                    byte[] bad = (byte[])gz.Clone();
                    bad[at] ^= bit;
                    what.Append($"{(crc ? "CRC-32" : "ISIZE")} corrupted: byte {at} of {n} xor 0x{bit:X2}");
                    return (bad, true);
                }
            case 6:
                {
                    (byte[] tail, string name) = random.Next(5) switch
                    {
                        0 => (new byte[random.Next(1, 64)], "zero bytes"),
                        1 => (RandomBytes(random, random.Next(1, 64)), "random bytes"),
                        2 => (new byte[] { 0x1F, 0x8B }, "a gzip magic alone"),
                        3 => (Seeds.Gzip(plain)[..random.Next(1, n)], "a second member cut short"),
                        _ => (Encoding.UTF8.GetBytes("1,2,3\n"), "plain text"),
                    };
                    what.Append($"bytes after the member: {tail.Length} bytes of {name}");
                    return ([.. gz, .. tail], true);
                }
            default:
                {
                    int members = random.Next(2, 5);
                    var cuts = Enumerable.Range(0, members - 1).Select(_ => random.Next(plain.Length + 1)).Order().ToArray();
                    what.Append($"valid members (must load as the original): {members} members split at content bytes {string.Join(", ", cuts)} of {plain.Length}");
                    var all = new List<byte>();
                    int from = 0;
                    foreach (int c in cuts.Append(plain.Length))
                    {
                        all.AddRange(Seeds.Gzip(plain[from..c]));
                        from = c;
                    }
                    return (all.ToArray(), false);
                }
        }
    }

    /// <summary>A content offset to cut at: inside the last cell (the issue's 696244.61 read as 6962), at the start of
    /// the last line, or anywhere.</summary>
    private static int CutInContent(byte[] plain, Random random, out string where)
    {
        int end = plain.Length;
        while (end > 0 && plain[end - 1] is (byte)'\n' or (byte)'\r')
            end--;
        int lineStart = Array.LastIndexOf(plain, (byte)'\n', Math.Max(0, end - 1)) + 1;
        int cellStart = Math.Max(lineStart, Array.LastIndexOf(plain, (byte)',', Math.Max(0, end - 1)) + 1);
        switch (random.Next(3))
        {
            case 0 when end - cellStart >= 2:
                where = "inside the last cell";
                return random.Next(cellStart + 1, end);
            case 1 when lineStart > 0:
                where = "at the start of the last line";
                return lineStart;
            default:
                where = "anywhere";
                return random.Next(1, plain.Length);
        }
    }

    /// <summary>Gzip of <paramref name="plain"/> with a sync flush after its first <paramref name="at"/> bytes;
    /// <paramref name="flushEnd"/> is the compressed length at that flush.</summary>
    private static byte[] SyncFlushed(byte[] plain, int at, out int flushEnd)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(plain, 0, at);
            gz.Flush();   // Z_SYNC_FLUSH: everything so far is decodable, and the block ends on a byte boundary
            flushEnd = (int)output.Length;
            gz.Write(plain, at, plain.Length - at);
        }
        return output.ToArray();
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
