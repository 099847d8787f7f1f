using System.Globalization;
using System.Security.Cryptography;

namespace FastBackprop;

/// <summary>
/// Replaces a file atomically (model files and ONNX exports): the bytes go to a temporary file next to the target,
/// which is flushed to disk and then renamed over it, so a crash leaves either the old file or the new one. Only a
/// regular file (or nothing) is replaced: a rename over a device node, FIFO or socket would replace that node itself.
/// </summary>
internal static class AtomicFile
{
    private const string TemporaryInfix = ".tmp-";

    /// <summary>How long a temporary file of a process that is no longer running is left alone (a save on a shared volume
    /// by a process this one cannot see may still be writing it).</summary>
    private static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(1);

    /// <summary>Writes <paramref name="path"/> through a temporary file, flushed to disk, then renamed over it; a
    /// symbolic link is followed, so the file it points to is replaced and the link kept. If anything fails the
    /// temporary file is deleted, the target is left as it was, and an error message that named the temporary file
    /// names <paramref name="path"/> instead.</summary>
    /// <exception cref="IOException">The target exists and is not a regular file, or writing failed.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        string target = RegularFile.WriteTarget(path);
        RemoveStaleTemporaries(target);
        string temporary = $"{target}{TemporaryInfix}{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e)
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Best effort: the original exception matters more.
            }
            if (NamingThePath(e, temporary, path) is Exception renamed)
                throw renamed;
            throw;
        }
    }

    /// <summary>The same error with the temporary file's name replaced by the path the caller gave (the user never
    /// named the temporary file), or null when the message does not mention it.</summary>
    private static Exception? NamingThePath(Exception e, string temporary, string path)
    {
        if (!e.Message.Contains(temporary, StringComparison.Ordinal))
            return null;
        string message = e.Message.Replace(temporary, path, StringComparison.Ordinal);
        return e switch
        {
            UnauthorizedAccessException => new UnauthorizedAccessException(message, e),
            DirectoryNotFoundException => new DirectoryNotFoundException(message, e),
            IOException => new IOException(message, e),
            _ => null,
        };
    }

    /// <summary>Deletes temporary files that earlier saves to <paramref name="full"/> left behind when their process was
    /// killed mid-save (<c>model.fbpm.tmp-PID-RANDOM</c>): those whose process is gone and that have not been written for a
    /// minute, and unnamed-process ones (the earlier <c>model.fbpm.tmp-RANDOM</c> form) after ten minutes. Best effort:
    /// a file that cannot be listed or deleted is left.</summary>
    internal static void RemoveStaleTemporaries(string full)
    {
        string? folder = Path.GetDirectoryName(full);
        if (folder is null)
            return;
        string prefix = Path.GetFileName(full) + TemporaryInfix;
        try
        {
            foreach (string candidate in Directory.EnumerateFiles(folder, prefix + "*"))
            {
                string tail = Path.GetFileName(candidate)[prefix.Length..];
                int dash = tail.IndexOf('-');
                int owner = 0;
                bool hasOwner = dash > 0 && int.TryParse(tail.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out owner);
                TimeSpan age = DateTime.UtcNow - File.GetLastWriteTimeUtc(candidate);
                bool stale = hasOwner ? age > StaleAfter && !IsRunning(owner)
                    : age > 10 * StaleAfter && tail.Length == 12 && tail.All(char.IsAsciiHexDigitLower);
                if (stale && RegularFile.NotRegular(candidate) is null)
                    File.Delete(candidate);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static bool IsRunning(int processId)
    {
        if (processId == Environment.ProcessId)
            return true;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
