using System.Runtime.InteropServices;

namespace FastBackprop;

/// <summary>What a path names, when it is not a regular file: .NET reports FIFOs, sockets and devices as ordinary files
/// (<see cref="File.GetAttributes(string)"/> says Normal), so on Linux the type comes from <c>statx</c> (whose layout,
/// unlike <c>stat</c>'s, is the same on every architecture), looked up in the process's own libc. Elsewhere only
/// directories are recognised.</summary>
internal static unsafe class FileKind
{
    private const int AtCurrentDirectory = -100;
    private const uint StatxType = 0x1;
    private const int StatxModeOffset = 28;
    private const int StatxSize = 256;

    private static readonly delegate* unmanaged<int, byte*, int, uint, byte*, int> Statx = FindStatx();

    /// <summary>"a FIFO (named pipe)", "a directory"… for a path that exists and is not a regular file (links followed);
    /// null for a regular file, a path that does not exist (opening it reports that), or a type that cannot be told.</summary>
    public static string? NonRegular(string path)
    {
        if (Statx is null)
            return Directory.Exists(path) ? "a directory" : null;
        byte* buffer = stackalloc byte[StatxSize];
        int length = System.Text.Encoding.UTF8.GetByteCount(path);
        Span<byte> utf8 = length < 1024 ? stackalloc byte[length + 1] : new byte[length + 1];
        System.Text.Encoding.UTF8.GetBytes(path, utf8);
        utf8[length] = 0;
        int result;
        fixed (byte* p = utf8)
            result = Statx(AtCurrentDirectory, p, 0, StatxType, buffer);
        if (result != 0)
            return null;
        return Describe(*(ushort*)(buffer + StatxModeOffset));
    }

    /// <summary>The kind of file a POSIX <c>st_mode</c> gives, or null for a regular file.</summary>
    internal static string? Describe(int mode) => (mode & 0xF000) switch
    {
        0x8000 => null,
        0x1000 => "a FIFO (named pipe)",
        0x2000 => "a character device",
        0x4000 => "a directory",
        0x6000 => "a block device",
        0xC000 => "a socket",
        0xA000 => "a symbolic link",
        _ => $"a file of unknown type (mode 0{Convert.ToString(mode, 8)})",
    };

    private static delegate* unmanaged<int, byte*, int, uint, byte*, int> FindStatx()
    {
        if (!OperatingSystem.IsLinux())
            return null;
        // The main program is linked against libc, so its symbols are found through it: no library name to guess
        // (libc.so is only a linker script where the C development files are installed).
        return NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "statx", out nint address)
            ? (delegate* unmanaged<int, byte*, int, uint, byte*, int>)address
            : null;
    }
}
