namespace FastBackprop;

/// <summary>Opening data files: gzip is recognised by its magic bytes (1f 8b), never by the file name.</summary>
internal static class DataStreams
{
    /// <summary>Whether <paramref name="stream"/> starts with the gzip magic; returns a stream positioned where
    /// <paramref name="stream"/> was (the same stream if it can seek, else one that replays the bytes peeked).</summary>
    public static Stream Peek(Stream stream, bool leaveOpen, out bool isGzip)
    {
        Span<byte> magic = stackalloc byte[2];
        if (stream.CanSeek)
        {
            long start = stream.Position;
            int n = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
            stream.Position = start;
            isGzip = n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
            return stream;
        }
        int read = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        isGzip = read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        return new PrefixedStream(magic[..read].ToArray(), stream, leaveOpen);
    }

    /// <summary>The decompressed content of <paramref name="stream"/> if it is gzip, else the stream itself; reading
    /// more than <paramref name="maxBytes"/> from it is a <see cref="DataFormatException"/> (a compression bomb stops
    /// there, after work proportional to the limit).</summary>
    /// <param name="stream">The data, gzip-compressed or not.</param>
    /// <param name="leaveOpen">Whether disposing the result leaves <paramref name="stream"/> open.</param>
    /// <param name="maxBytes">The most bytes the result yields before failing.</param>
    /// <param name="name">The file name for error messages.</param>
    /// <param name="knownLength">The bytes that remain when <paramref name="stream"/> is plain and seekable, else null.</param>
    public static Stream MaybeDecompress(Stream stream, bool leaveOpen, long maxBytes, string? name, out long? knownLength)
    {
        Stream peeked = Peek(stream, leaveOpen, out bool isGzip);
        Stream content = isGzip ? new GzipDecoder(peeked, leaveOpen, name) : peeked;
        knownLength = !isGzip && ReferenceEquals(content, stream) && stream.CanSeek ? stream.Length - stream.Position : null;
        return new BoundedStream(content, maxBytes, name, ownsInner: !ReferenceEquals(content, stream) || !leaveOpen);
    }

    /// <summary>Opens <paramref name="path"/> for reading after checking that it is a regular file: opening a FIFO blocks
    /// until a writer comes (forever, if none does), and a device or socket never ends or cannot be read as a file, so
    /// those and directories are refused with an <see cref="IOException"/> naming the path and what it is. The process's
    /// own standard input (<c>/dev/stdin</c>, <c>/dev/fd/0</c>, <c>/proc/self/fd/0</c>) is let through whatever it is: the
    /// shell opened it already, so opening it again does not wait. Shared by every path-taking loader and reader.</summary>
    /// <param name="path">The file to read.</param>
    /// <param name="paramName">The caller's parameter, for the argument check.</param>
    /// <exception cref="IOException">The path is not a regular file (or cannot be opened).</exception>
    public static FileStream OpenRegularFile(string path, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, paramName);
        if (!IsStandardInput(path) && RegularFile.NotRegular(path) is string kind)
            throw new IOException($"'{path}' is {kind}, not a regular file: only regular files are read (a pipe or device can block forever or never end).");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
    }

    private static bool IsStandardInput(string path) => path is "/dev/stdin" or "/dev/fd/0" or "/proc/self/fd/0";

    /// <summary>Counts the bytes read through it and fails once they pass the limit.</summary>
    private sealed class BoundedStream(Stream inner, long maxBytes, string? name, bool ownsInner) : ForwardReadStream
    {
        private long read;


        public override int Read(Span<byte> buffer)
        {
            // Ask for at most one byte past the limit, so crossing it is seen without reading much beyond.
            long allowed = maxBytes - read + 1;
            if (buffer.Length > allowed)
                buffer = buffer[..(int)allowed];
            int n = inner.Read(buffer);
            read += n;
            if (read > maxBytes)
                throw new DataFormatException(name, null, maxBytes,
                    $"the data go on past {maxBytes:N0} bytes (after decompression): {DataLimits.Raise(nameof(DataLimits.MaxBytes), "bytes", maxBytes)}.");
            return n;
        }


        protected override void Dispose(bool disposing)
        {
            if (disposing && ownsInner)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Replays a few bytes already read from a non-seekable stream, then reads the rest of it.</summary>
    private sealed class PrefixedStream(byte[] prefix, Stream inner, bool leaveOpen) : ForwardReadStream
    {
        private int position;


        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty)
                return 0;
            if (position < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - position);
                prefix.AsSpan(position, n).CopyTo(buffer);
                position += n;
                return n;
            }
            return inner.Read(buffer);
        }


        protected override void Dispose(bool disposing)
        {
            if (disposing && !leaveOpen)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>What the stream wrappers of the data loaders share: a stream that can only be read forward; each supplies Read(Span).</summary>
internal abstract class ForwardReadStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public abstract override int Read(Span<byte> buffer);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
