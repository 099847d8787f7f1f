using System.Runtime.InteropServices;

namespace FastBackprop;

/// <summary>
/// What kind of file system object a path names, so that files are read and replaced only when they are regular files.
/// Opening a FIFO for reading blocks until a writer appears, and renaming a new file over a device node replaces the
/// device (as root, <c>/dev/null</c>); .NET's <see cref="FileInfo"/> reports both as ordinary files, so the type comes
/// from stat(2) through the runtime's own native shim (System.Native, present in every .NET process on Unix and linked
/// into NativeAOT executables). Where that shim is missing (Windows, which has no FIFOs or device nodes among files)
/// the check falls back to telling directories from files.
/// </summary>
internal static partial class RegularFile
{
    /// <summary>Why <paramref name="path"/> (links followed) cannot be read as a regular file — "a FIFO", "a
    /// directory", … — or null when it is a regular file or does not exist (opening then reports that).</summary>
    public static string? NotRegular(string path) => Describe(Stat(path));

    /// <summary>Throws an <see cref="IOException"/> naming <paramref name="path"/> when it exists and is not a regular
    /// file (links followed), before anything opens it.</summary>
    public static void CheckReadable(string path)
    {
        if (NotRegular(path) is string what)
            throw new IOException($"{path} is {what}, not a regular file: refusing to read it.");
    }

    /// <summary>The path a write to <paramref name="path"/> should replace: the final target when it is a symbolic
    /// link (so the link keeps pointing at the new file, and the temporary file is made next to that target), else the
    /// full path itself. Throws an <see cref="IOException"/> naming <paramref name="path"/> when the target exists and
    /// is not a regular file (a device, FIFO, socket or directory), which a rename would replace.</summary>
    public static string WriteTarget(string path)
    {
        string full = Path.GetFullPath(path);
        string target = full;
        try
        {
            var info = new FileInfo(full);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileSystemInfo final)
                target = final.FullName;
        }
        catch (IOException e)
        {
            throw new IOException($"{path}: cannot follow the symbolic link ({e.Message}).", e);
        }
        if (NotRegular(target) is string what)
            throw new IOException($"{path} is {what}{(target == full ? "" : $" (through the link to {target})")}, not a regular file: refusing to replace it.");
        return target;
    }

    private const int TypeMask = 0xF000, Fifo = 0x1000, CharacterDevice = 0x2000, Directory = 0x4000, BlockDevice = 0x6000,
        Regular = 0x8000, Link = 0xA000, Socket = 0xC000;

    /// <summary>The kind of file a mode (S_IF* type bits, as POSIX and System.Native give them) names, or null for a regular
    /// file or none.</summary>
    internal static string? Describe(int? mode) => (mode & TypeMask) switch
    {
        null or Regular => null,
        Fifo => "a FIFO (named pipe)",
        CharacterDevice => "a character device",
        Directory => "a directory",
        BlockDevice => "a block device",
        Socket => "a socket",
        Link => "a symbolic link",
        int other => $"a file of type 0x{other:x4}",
    };

    private static bool nativeMissing;

    /// <summary>The file type and permission bits of <paramref name="path"/> with links followed (System.Native's
    /// normalised S_IF* values), or null when it does not exist or cannot be examined.</summary>
    private static int? Stat(string path)
    {
        if (!nativeMissing && !OperatingSystem.IsWindows())
        {
            try
            {
                return NativeStat(path, out FileStatus status) == 0 ? status.Mode : null;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                nativeMissing = true;
            }
        }
        return System.IO.Directory.Exists(path) ? Directory : File.Exists(path) ? Regular : null;
    }

    /// <summary>The head of System.Native's FileStatus (flags, then the mode; the same since .NET Core 2.0); the rest
    /// (sizes, times, inode) is room the shim fills and this class does not read.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 512)]
    private struct FileStatus
    {
        public int Flags;
        public int Mode;
    }

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int NativeStat(string path, out FileStatus status);
}
