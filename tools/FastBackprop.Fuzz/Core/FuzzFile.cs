using System.Collections.Concurrent;
using System.IO.Compression;

namespace FastBackprop.Fuzz;

/// <summary>
/// One input file of a case: either bytes held in memory, or a gzip bomb that is generated as it is read (so a
/// file that decompresses to gigabytes costs a few megabytes of compressed bytes and nothing more).
/// </summary>
public abstract class FuzzFile
{
    /// <summary>The compressed (on-disk) length in bytes.</summary>
    public abstract long Length { get; }

    /// <summary>A fresh stream over the file's bytes (as they would be on disk).</summary>
    public abstract Stream Open();

    /// <summary>Writes the file to <paramref name="path"/> (streamed: bombs are written compressed).</summary>
    public void WriteTo(string path)
    {
        using Stream source = Open();
        using var target = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        source.CopyTo(target);
    }

    /// <summary>Bytes held in memory.</summary>
    public static FuzzFile FromBytes(byte[] bytes) => new InMemory(bytes);

    private sealed class InMemory(byte[] bytes) : FuzzFile
    {
        public byte[] Bytes { get; } = bytes;
        public override long Length => Bytes.Length;
        public override Stream Open() => new MemoryStream(Bytes, writable: false);
    }
}

/// <summary>
/// A gzip "bomb": a small file whose decompressed content is a prefix (e.g. an IDX header or a CSV header line)
/// followed by a repeated pattern (zeros, or "0,1\n" lines) up to a chosen, possibly huge, size. It is written as a
/// sequence of gzip members (RFC 1952 allows several; .NET's GZipStream reads them all): one for the prefix, then
/// one precompressed member of <see cref="BlockBytes"/> of the pattern, repeated, then one for the remainder.
/// Nothing of the decompressed size is ever held in memory.
/// </summary>
public sealed class GzipBomb : FuzzFile
{
    /// <summary>Decompressed bytes per repeated member: large enough for a ~1000:1 ratio, small enough to build fast.</summary>
    public const int BlockBytes = 16 << 20;

    private static readonly ConcurrentDictionary<string, byte[]> BlockCache = new();

    private readonly byte[] prefixMember;
    private readonly byte[] blockMember;
    private readonly long blocks;
    private readonly byte[] tailMember;

    /// <param name="prefix">Decompressed bytes at the start (may be empty).</param>
    /// <param name="pattern">The bytes repeated after the prefix (at least one; its length should divide <see cref="BlockBytes"/>).</param>
    /// <param name="decompressedBytes">Total decompressed size, prefix included.</param>
    public GzipBomb(byte[] prefix, byte[] pattern, long decompressedBytes)
    {
        ArgumentOutOfRangeException.ThrowIfZero(pattern.Length);
        Prefix = prefix;
        Pattern = pattern;
        DecompressedBytes = Math.Max(decompressedBytes, prefix.Length);
        long body = DecompressedBytes - prefix.Length;
        prefixMember = Gzip(prefix);
        blockMember = BlockCache.GetOrAdd(Convert.ToHexString(pattern), _ => Gzip(Repeat(pattern, BlockBytes)));
        blocks = body / BlockBytes;
        tailMember = Gzip(Repeat(pattern, (int)(body % BlockBytes)));
    }

    /// <summary>The decompressed prefix.</summary>
    public byte[] Prefix { get; }

    /// <summary>The repeated pattern.</summary>
    public byte[] Pattern { get; }

    /// <summary>The decompressed size.</summary>
    public long DecompressedBytes { get; }

    public override long Length => prefixMember.Length + blocks * blockMember.Length + tailMember.Length;

    public override Stream Open() => new MemberStream(this);

    private static byte[] Repeat(byte[] pattern, int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i += pattern.Length)
            pattern.AsSpan(0, Math.Min(pattern.Length, length - i)).CopyTo(bytes.AsSpan(i));
        return bytes;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.SmallestSize))
            gz.Write(bytes);
        return output.ToArray();
    }

    /// <summary>Reads the members in order: prefix, the block member <c>blocks</c> times, the tail.</summary>
    private sealed class MemberStream(GzipBomb bomb) : ForwardReadStream
    {
        private long member;          // 0 = prefix, 1..blocks = block, blocks + 1 = tail
        private int offset;

        public override int Read(Span<byte> buffer)
        {
            while (member <= bomb.blocks + 1)
            {
                byte[] current = member == 0 ? bomb.prefixMember : member <= bomb.blocks ? bomb.blockMember : bomb.tailMember;
                if (offset < current.Length)
                {
                    int n = Math.Min(buffer.Length, current.Length - offset);
                    current.AsSpan(offset, n).CopyTo(buffer);
                    offset += n;
                    return n;
                }
                member++;
                offset = 0;
            }
            return 0;
        }
    }
}
