namespace FastBackprop.Cli;

/// <summary>
/// The checks every file named on the command line gets before any work starts, so that a wrong path is a usage error
/// (exit 2) naming its option, and nothing blocks on or replaces what is not a regular file: opening a FIFO for reading
/// waits for a writer that may never come, reading a device may never end, and a new file renamed over a device node
/// replaces the node.
/// </summary>
internal static class FileArgs
{
    /// <summary>Fails unless <paramref name="path"/> is an existing regular file (links followed) that this process can
    /// open for reading.</summary>
    public static void CheckInput(string option, string path)
    {
        if (path.Length == 0)
            throw new UsageException($"option {option} needs a file name");
        if (Directory.Exists(path))
            throw new UsageException($"{option}: '{path}' is a directory, not a file");
        if (!File.Exists(path))
            throw new UsageException($"{option}: file not found: '{path}'");
        if (RegularFile.NotRegular(path) is string what)
            throw new UsageException($"{option}: '{path}' is {what}, not a regular file");
        try
        {
            File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite).Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option}: cannot read '{path}' ({e.Message})");
        }
    }

    /// <summary>Fails unless <paramref name="path"/> can become an output file: not a directory, not an existing file
    /// other than a regular one, and in an existing folder that accepts a new file (tried with a file created and
    /// deleted at once, so an unwritable folder is found before the work, not after it).</summary>
    public static void CheckOutput(string option, string path)
    {
        if (path.Length == 0)
            throw new UsageException($"option {option} needs a file name");
        if (Directory.Exists(path))
            throw new UsageException($"{option}: '{path}' is a directory");
        if (File.Exists(path) && RegularFile.NotRegular(path) is string what)
            throw new UsageException($"{option}: '{path}' is {what}: only a regular file can be written or replaced");
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        if (!Directory.Exists(folder))
            throw new UsageException($"{option}: directory not found: '{folder}'");
        string probe = Path.Combine(folder, $".fastbackprop-write-check-{Environment.ProcessId}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} {path}: cannot write in {folder} ({e.Message})");
        }
    }

    /// <summary>Opens a file checked by <see cref="CheckInput"/> for a loader that reads streams: every read first checks
    /// <paramref name="interrupt"/>, so a signal stops the loading of a large file within one buffer.</summary>
    public static Stream OpenRead(string path, CancellationToken interrupt)
        => new InterruptibleStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan), interrupt);

    /// <summary>A read-only view of a stream that throws <see cref="OperationCanceledException"/> once the token is
    /// cancelled; seeking and the length pass through, so loaders see the file as they would unwrapped.</summary>
    private sealed class InterruptibleStream(Stream inner, CancellationToken interrupt) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            interrupt.ThrowIfCancellationRequested();
            return inner.Read(buffer);
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
