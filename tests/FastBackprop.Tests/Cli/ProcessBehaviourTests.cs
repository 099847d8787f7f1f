using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using FastBackprop.Cli;

namespace FastBackprop.Tests.Cli;

/// <summary>
/// How the CLI behaves as a process: every command stops at the first Ctrl+C (exit 130) or SIGTERM (exit 143) and
/// leaves no partial output; command-line mistakes, including output paths that cannot be written and separators no
/// file can use, are usage errors (exit 2) found before any work; nothing opens a FIFO or a device; the tool calls
/// itself <c>fastbackprop</c>.
/// </summary>
public sealed partial class ProcessBehaviourTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("fbp-cli-process-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Output) Run(Interruption interruption, params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        int code = FastBackprop.Cli.Program.Run(args, output, interactive: false, Stopwatch.GetTimestamp(), interruption);
        return (code, output.ToString());
    }

    private static int Run(params string[] args)
    {
        using var noSignal = new Interruption();
        return Run(noSignal, args).Code;
    }

    private string PathOf(string name) => Path.Combine(dir, name);

    /// <summary>A labelled CSV of <paramref name="rows"/> rows: three features and a left/right label.</summary>
    private string WriteData(string name, int rows)
    {
        var text = new StringBuilder("a,b,c,side\n");
        for (int i = 0; i < rows; i++)
            text.Append(CultureInfo.InvariantCulture, $"{i % 7 * 0.5},{i % 5 - 2},{i % 3},{(i % 2 == 0 ? "left" : "right")}\n");
        string path = PathOf(name);
        File.WriteAllText(path, text.ToString());
        return path;
    }

    /// <summary>A model taking the three features of <see cref="WriteData"/>.</summary>
    private string WriteModel(string name)
    {
        var network = new Network<float>(3, [new(4, Activation.ReLU), new(2, Activation.Softmax)], seed: 1);
        string path = PathOf(name);
        ModelFile.Save(path, new Model<float>(network, null, ["left", "right"], Loss.SoftmaxCrossEntropy));
        return path;
    }

    private string MakeFifo(string name)
    {
        string path = PathOf(name);
        using Process mkfifo = Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    [Theory]
    [InlineData(PosixSignal.SIGINT, 130)]
    [InlineData(PosixSignal.SIGTERM, 143)]
    public void EveryCommandStopsAtTheFirstSignalWithoutWritingItsOutput(PosixSignal signal, int exitCode)
    {
        string data = WriteData("data.csv", 50), model = WriteModel("model.fbpm"), onnx = PathOf("model.onnx");
        Assert.Equal(0, Run("export", model, onnx));
        string predictions = PathOf("predictions.csv");
        File.WriteAllText(predictions, "earlier predictions\n");
        string[][] commands =
        [
            ["train", "--csv", data, "--epochs", "2", "--save", PathOf("trained.fbpm")],
            ["evaluate", "--model", model, "--csv", data],
            ["predict", "--model", model, "--csv", data, "--target", "side", "--output", predictions],
            ["export", model, PathOf("exported.onnx")],
            ["import", onnx, PathOf("imported.fbpm")],
            ["info"],
        ];
        foreach (string[] command in commands)
        {
            using var interruption = new Interruption();
            Assert.True(interruption.Request(signal));
            Assert.False(interruption.Request(PosixSignal.SIGINT)); // only the first signal counts
            (int code, string output) = Run(interruption, command);
            Assert.True(exitCode == code, $"'{command[0]}' exited {code}, not {exitCode}: {output}");
        }
        Assert.Equal("earlier predictions\n", File.ReadAllText(predictions));
        Assert.Equal(["data.csv", "model.fbpm", "model.onnx", "predictions.csv"], Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).Order().ToArray());
    }

    /// <summary>The signal itself, sent to a real process: <c>evaluate</c> reading a large CSV file stops with exit 143
    /// and a one-line message, without finishing its work (it used to read, evaluate, print and exit 0). On an idle
    /// machine the whole test takes about two seconds; the waits are long only for a machine under heavy load.</summary>
    [Fact]
    public async Task SigtermStopsEvaluateWhileItReadsALargeFile()
    {
        if (!OperatingSystem.IsLinux())
            return;
        string model = WriteModel("model.fbpm");
        string big = PathOf("big.csv");
        using (var writer = new StreamWriter(big))
        {
            writer.Write("a,b,c,side\n");
            for (int i = 0; i < 1_500_000; i++)
                writer.Write(i % 2 == 0 ? "0.25,1.5,-2.75,left\n" : "1.25,-0.5,2.125,right\n");
        }
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { typeof(FastBackprop.Cli.Program).Assembly.Location, "evaluate", "--model", model, "--csv", big })
            start.ArgumentList.Add(arg);
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        try
        {
            // The CSV file is open: the command is past its start-up and reading.
            var waited = Stopwatch.StartNew();
            while (!IsOpenBy(process.Id, big) && !process.HasExited && waited.Elapsed < TimeSpan.FromSeconds(60))
                Thread.Sleep(5);
            Assert.True(Kill(process.Id, SigTerm) == 0, $"evaluate ended before the signal: {await stdout} {await stderr}");
            using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
                await process.WaitForExitAsync(limit.Token);
            Assert.True(process.ExitCode == Interruption.ExitTerminated, $"exit code {process.ExitCode}; stdout: {await stdout}; stderr: {await stderr}");
            Assert.Equal("fastbackprop: error: stopped by SIGTERM", (await stderr).Trim());
            Assert.Equal("", await stdout);
        }
        finally
        {
            if (!process.HasExited)
                process.Kill();
        }
    }

    private static bool IsOpenBy(int pid, string path)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Any(fd => LinkTarget(fd) == path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // the process is gone
        }
    }

    private static string? LinkTarget(string link)
    {
        try
        {
            return new FileInfo(link).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // a descriptor closed while listed, or one that names no file (a pipe, an anonymous inode)
        }
    }

    private const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>A FIFO as input is refused at once (opening it would wait for a writer that never comes), as a model, as
    /// data and as an ONNX file; a FIFO or a device as output is refused too (a rename over it would replace it).</summary>
    [Fact]
    public async Task FifosAndDevicesAreRefusedWithoutBlocking()
    {
        if (!OperatingSystem.IsLinux())
            return;
        string fifo = MakeFifo("fifo"), data = WriteData("data.csv", 10), model = WriteModel("model.fbpm");
        string[][] commands =
        [
            ["evaluate", "--model", fifo, "--csv", data],
            ["evaluate", "--model", model, "--csv", fifo],
            ["predict", "--model", model, "--csv", fifo],
            ["train", "--csv", fifo],
            ["train", "--idx", fifo, data],
            ["import", fifo, PathOf("out.fbpm")],
            ["export", fifo, PathOf("out.onnx")],
            ["predict", "--model", model, "--csv", data, "--target", "side", "--output", fifo],
            ["predict", "--model", model, "--csv", data, "--target", "side", "--output", "/dev/null"],
            ["export", model, "/dev/null"],
            ["import", model, fifo],
            ["train", "--csv", data, "--epochs", "1", "--save", "/dev/null"],
        ];
        foreach (string[] command in commands)
        {
            int code;
            try
            {
                code = await Task.Run(() => Run(command)).WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                ReleaseBlockedReader(fifo);
                throw new Xunit.Sdk.XunitException($"'{string.Join(' ', command)}' blocked on the FIFO");
            }
            Assert.True(code == FastBackprop.Cli.Program.ExitUsage, $"'{string.Join(' ', command)}' exited {code}, not 2");
        }
    }

    /// <summary>Opens the FIFO for writing and closes it, so a reader blocked in open() gets end-of-file.</summary>
    private static void ReleaseBlockedReader(string fifo)
    {
        using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r")]
    [InlineData("\u0001")]
    [InlineData("\u00a0")]
    [InlineData("5")]
    [InlineData(".")]
    [InlineData("-")]
    public void ASeparatorNoFileCanUseIsAUsageError(string separator)
    {
        string data = WriteData("data.csv", 10), model = WriteModel("model.fbpm");
        Assert.Equal(2, Run("train", "--csv", data, "--separator", separator));
        Assert.Equal(2, Run("evaluate", "--model", model, "--csv", data, "--separator", separator));
        Assert.Equal(2, Run("predict", "--model", model, "--csv", data, "--separator", separator));
    }

    [Fact]
    public void OutputPathsThatCannotBeWrittenAreUsageErrorsFoundBeforeTheWork()
    {
        string data = WriteData("data.csv", 10), model = WriteModel("model.fbpm"), onnx = PathOf("model.onnx");
        Assert.Equal(0, Run("export", model, onnx));
        string missingFolder = PathOf(Path.Combine("no-such-folder", "out"));
        var unwritable = new List<string> { missingFolder };
        if (OperatingSystem.IsLinux())
            unwritable.Add("/proc/out"); // a folder no one can create files in, even root
        foreach (string output in unwritable)
        {
            Assert.Equal(2, Run("export", model, output + ".onnx"));
            Assert.Equal(2, Run("import", onnx, output + ".fbpm"));
            Assert.Equal(2, Run("predict", "--model", model, "--csv", data, "--target", "side", "--output", output + ".csv"));
            Assert.Equal(2, Run("train", "--csv", data, "--epochs", "1", "--save", output + ".fbpm"));
            Assert.Equal(2, Run("train", "--csv", data, "--epochs", "1", "--plot", output + ".svg"));
        }
        Assert.Equal(2, Run("export", model, dir));
        Assert.Equal(2, Run("predict", "--model", model, "--csv", data, "--output", dir));
        Assert.Equal(2, Run("import", PathOf("missing.onnx"), PathOf("out.fbpm")));
        Assert.Equal(0, Run("predict", "--model", model, "--csv", data, "--target", "side", "--output", PathOf("predictions.csv")));
        Assert.Equal(10, File.ReadAllLines(PathOf("predictions.csv")).Length);
    }

    [Fact]
    public void TheToolCallsItselfFastbackprop()
    {
        using var noSignal = new Interruption();
        foreach (string[] args in new[] { ["--help"], ["--version"], ["help", "predict"], ["info", "--help"], new[] { "export", "--help" } })
        {
            string output = Run(noSignal, args).Output;
            Assert.StartsWith("fastbackprop ", output);
            Assert.DoesNotContain("fastbackprop-cli", output);
        }
        Assert.Equal("fastbackprop", FastBackprop.Cli.Program.Name);
    }
}
