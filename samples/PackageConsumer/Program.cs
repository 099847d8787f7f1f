using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;

// Runs the C# blocks of README.md and docs/*.md (DocSnippets, generated from the Markdown at build time) against the
// FastBackprop package. Each runs in a fresh scratch folder holding small stand-ins for the files the snippets read
// (IDX images and labels with the real files' names and layout, random pixels; an ONNX file), so the documents can
// show real file names and the code still runs everywhere, without downloads. Exit code 0 when every snippet ran; 1
// with the failing snippet otherwise.

string scratchRoot = Directory.CreateTempSubdirectory("fastbackprop-readme-").FullName;
int failed = 0;
try
{
    for (int snippet = 1; snippet <= DocSnippets.Count; snippet++)
    {
        string folder = Path.Combine(scratchRoot, $"snippet{snippet}");
        Directory.CreateDirectory(folder);
        WriteStandInIdx(folder, images: 600, seed: snippet);
        WriteStandInOnnx(folder, seed: snippet);
        Directory.SetCurrentDirectory(folder);
        var clock = Stopwatch.StartNew();
        try
        {
            DocSnippets.Run(snippet);
            Console.WriteLine($"snippet {snippet} ({DocSnippets.Sources[snippet - 1]}): OK ({clock.Elapsed.TotalSeconds:0.00} s)");
        }
        catch (Exception e)
        {
            failed++;
            Console.Error.WriteLine($"snippet {snippet} ({DocSnippets.Sources[snippet - 1]}): FAILED: {e}");
        }
    }
}
finally
{
    Directory.SetCurrentDirectory(AppContext.BaseDirectory);
    Directory.Delete(scratchRoot, recursive: true);
}
Console.WriteLine($"{DocSnippets.Count - failed} of {DocSnippets.Count} documentation snippets ran against FastBackprop "
    + $"{typeof(FastBackprop.Network<>).Assembly.GetName().Version} from the package");
return failed == 0 ? 0 : 1;

// "mlp.onnx", the PyTorch export the ONNX snippet (docs/ONNX.md) imports: a random 784-64-10 ReLU/softmax network, written
// with the package's own exporter (the same Gemm/Relu/Softmax graph torch.onnx.export writes for nn.Sequential).
static void WriteStandInOnnx(string folder, int seed)
{
    var network = new FastBackprop.Network<float>(784, [new(64, FastBackprop.Activation.ReLU), new(10, FastBackprop.Activation.Softmax)], seed);
    FastBackprop.OnnxModel.Export(new FastBackprop.Model<float>(network), Path.Combine(folder, "mlp.onnx"));
}

// Fashion-MNIST-shaped IDX files (gzip, big-endian headers, 28×28 unsigned bytes, labels 0..9) with random content.
static void WriteStandInIdx(string folder, int images, int seed)
{
    var random = new Random(seed);
    byte[] pixels = new byte[images * 28 * 28];
    random.NextBytes(pixels);
    byte[] labels = new byte[images];
    for (int i = 0; i < images; i++)
        labels[i] = (byte)(i % 10);   // every class present, whatever the split
    WriteIdx(Path.Combine(folder, "train-images-idx3-ubyte.gz"), 0x0803, [images, 28, 28], pixels);
    WriteIdx(Path.Combine(folder, "train-labels-idx1-ubyte.gz"), 0x0801, [images], labels);
}

static void WriteIdx(string path, int magic, int[] dimensions, byte[] data)
{
    using var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest);
    Span<byte> word = stackalloc byte[4];
    BinaryPrimitives.WriteInt32BigEndian(word, magic);
    gzip.Write(word);
    foreach (int d in dimensions)
    {
        BinaryPrimitives.WriteInt32BigEndian(word, d);
        gzip.Write(word);
    }
    gzip.Write(data);
}
