using System.Diagnostics;

namespace FastBackprop.Tests.Data;

/// <summary>The path-taking loaders read regular files only: a FIFO, a device or a directory is refused before it is
/// opened (opening a FIFO with no writer would block forever), naming the path and what it is.</summary>
public sealed class RegularFileTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private string Fifo()
    {
        string path = dir.File("fifo");
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    /// <summary>Runs <paramref name="load"/> with a deadline: a loader that blocks fails the test instead of hanging it.</summary>
    private static IOException Refused(Action load)
    {
        var task = Task.Run(load);
        Assert.True(Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(20))).Result == task, "the loader blocked on a non-regular file");
        return Assert.IsType<IOException>(task.Exception?.InnerException, exactMatch: true);
    }

    [Fact]
    public void A_fifo_is_refused_by_every_loader_without_blocking()
    {
        if (!OperatingSystem.IsLinux())
            return;
        string fifo = Fifo();
        string labels = dir.Write("labels", Idx.File(0x08, [2], [0, 1]));
        foreach (Action load in new Action[]
        {
            () => CsvLoader.Load(fifo),
            () => CsvLoader.LoadFeatures(fifo),
            () => IdxLoader.LoadImages(fifo),
            () => IdxLoader.LoadLabels(fifo),
            () => IdxLoader.LoadDataset(fifo, labels),
            () => IdxLoader.LoadDataset(labels, fifo),
        })
        {
            IOException e = Refused(load);
            Assert.Equal($"'{fifo}' is a FIFO (named pipe), not a regular file: only regular files are read (a pipe or device can block forever or never end).", e.Message);
        }
    }

    [Fact]
    public void A_device_and_a_directory_are_refused()
    {
        // /dev/zero never ends; (/dev/null is a regular file in some sandboxes).
        if (OperatingSystem.IsLinux() && File.Exists("/dev/zero"))
            Assert.Contains("'/dev/zero' is a character device", Refused(() => CsvLoader.Load("/dev/zero")).Message);
        Assert.Contains("is a directory", Refused(() => CsvLoader.Load(dir.Path)).Message);
    }

    [Fact]
    public void A_symbolic_link_to_a_regular_file_is_read()
    {
        string target = dir.Write("data.csv", "1,a\n2,b\n");
        string link = dir.File("link.csv");
        File.CreateSymbolicLink(link, target);
        Assert.Equal(2, CsvLoader.Load(link).Count);
    }

    [Theory]
    [InlineData(0x81A4, null)]
    [InlineData(0x11B6, "a FIFO (named pipe)")]
    [InlineData(0x21B6, "a character device")]
    [InlineData(0x41ED, "a directory")]
    [InlineData(0x61B0, "a block device")]
    [InlineData(0xC1ED, "a socket")]
    public void File_types_from_the_mode_bits(int mode, string? kind) => Assert.Equal(kind, RegularFile.Describe(mode));
}
