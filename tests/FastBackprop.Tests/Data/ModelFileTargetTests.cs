using System.Diagnostics;
using System.Net.Sockets;

namespace FastBackprop.Tests.Data;

/// <summary>
/// Where model files and ONNX exports are written and read from: only regular files are replaced (a rename over a
/// device node, FIFO or socket replaces the node itself — as root, <c>/dev/null</c>), a symbolic link is followed to
/// its final target and kept, reading a FIFO fails at once instead of waiting for a writer, and every error names the
/// path the caller gave, never the temporary file.
/// </summary>
public sealed class ModelFileTargetTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static Model<float> Small() => new(new Network<float>(2, [new LayerSpec(2, Activation.Softmax)], seed: 1), null, ["no", "yes"]);

    private string Fifo(string name)
    {
        string path = dir.File(name);
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    /// <summary>The ways a model can be written to a path: the model file and the ONNX export share the writer.</summary>
    public static TheoryData<string> Writers => ["fbpm", "onnx"];

    private static void Write(string writer, string path)
    {
        if (writer == "fbpm")
            ModelFile.Save(path, Small());
        else
            OnnxModel.Export(Small(), path);
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public void A_FIFO_is_not_replaced(string writer)
    {
        if (OperatingSystem.IsWindows())
            return;
        string fifo = Fifo("pipe." + writer);
        var e = Assert.Throws<IOException>(() => Write(writer, fifo));
        Assert.Equal($"{fifo} is a FIFO (named pipe), not a regular file: refusing to replace it.", e.Message);
        Assert.Equal("a FIFO (named pipe)", RegularFile.NotRegular(fifo));
        Assert.Equal([Path.GetFileName(fifo)], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    /// <summary>A character device node of this test's own (the same as /dev/null: major 1, minor 3), so that a broken
    /// check replaces only this node, never the system's; null when not running as root (mknod needs it).</summary>
    private string? Device(string name)
    {
        if (!Environment.IsPrivilegedProcess)
            return null;
        string path = dir.File(name);
        using var mknod = Process.Start(new ProcessStartInfo("mknod", [path, "c", "1", "3"]) { UseShellExecute = false })!;
        mknod.WaitForExit();
        Assert.Equal(0, mknod.ExitCode);
        return path;
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public void A_device_is_not_replaced(string writer)
    {
        if (OperatingSystem.IsWindows() || Device("null." + writer) is not string device)
            return;
        var e = Assert.Throws<IOException>(() => Write(writer, device));
        Assert.Equal($"{device} is a character device, not a regular file: refusing to replace it.", e.Message);
        Assert.Equal("a character device", RegularFile.NotRegular(device));
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public void A_link_to_a_FIFO_is_refused_and_a_link_to_a_file_is_written_through(string writer)
    {
        if (OperatingSystem.IsWindows())
            return;
        string fifo = Fifo("pipe." + writer), toFifo = dir.File("link." + writer);
        File.CreateSymbolicLink(toFifo, fifo);
        var e = Assert.Throws<IOException>(() => Write(writer, toFifo));
        Assert.Equal($"{toFifo} is a FIFO (named pipe) (through the link to {fifo}), not a regular file: refusing to replace it.", e.Message);
        Assert.Equal(fifo, new FileInfo(toFifo).LinkTarget);
        Assert.Equal("a FIFO (named pipe)", RegularFile.NotRegular(fifo));

        // A link to a regular file (here through a second link) keeps pointing at it, and the file gets the new bytes.
        string real = dir.Write("real." + writer, "old");
        string middle = dir.File("middle." + writer), outer = dir.File("outer." + writer);
        File.CreateSymbolicLink(middle, real);
        File.CreateSymbolicLink(outer, middle);
        Write(writer, outer);
        Assert.Equal(middle, new FileInfo(outer).LinkTarget);
        Assert.NotEqual("old"u8.ToArray(), File.ReadAllBytes(real));
        if (writer == "fbpm")
            Assert.Equal(["no", "yes"], ModelFile.Load<float>(outer).ClassLabels!);
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public void A_socket_or_a_directory_is_not_replaced(string writer)
    {
        string folder = dir.File("folder." + writer);
        Directory.CreateDirectory(folder);
        Assert.Equal($"{folder} is a directory, not a regular file: refusing to replace it.", Assert.Throws<IOException>(() => Write(writer, folder)).Message);
        if (OperatingSystem.IsWindows())
            return;
        string socketPath = dir.File("sock." + writer);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        Assert.Equal($"{socketPath} is a socket, not a regular file: refusing to replace it.", Assert.Throws<IOException>(() => Write(writer, socketPath)).Message);
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public void A_failed_write_names_the_path_given_not_the_temporary_file(string writer)
    {
        string missing = Path.Combine(dir.Path, "no", "such." + writer);
        var e = Assert.Throws<DirectoryNotFoundException>(() => Write(writer, missing));
        Assert.Contains(missing, e.Message);
        Assert.DoesNotContain(".tmp-", e.Message);
    }

    [Fact]
    public async Task Reading_a_FIFO_fails_at_once_instead_of_waiting_for_a_writer()
    {
        if (OperatingSystem.IsWindows())
            return;
        string fifo = Fifo("model.fbpm");
        foreach (Action read in new Action[] { () => ModelFile.Load<float>(fifo), () => OnnxModel.Import<float>(fifo) })
        {
            Task<Exception?> attempt = Task.Run(() => (Exception?)Record.Exception(read));
            if (await Task.WhenAny(attempt, Task.Delay(TimeSpan.FromSeconds(10))) != attempt)
            {
                using (new FileStream(fifo, FileMode.Open, FileAccess.Write))
                {
                    // Lets the blocked open return, so the test fails instead of hanging.
                }
                await attempt;
                Assert.Fail("reading the FIFO blocked until a writer opened it");
            }
            var e = Assert.IsType<IOException>(await attempt);
            Assert.Equal($"{fifo} is a FIFO (named pipe), not a regular file: refusing to read it.", e.Message);
        }
        Assert.Null(RegularFile.NotRegular(dir.File("does-not-exist")));
    }
}
