using System.Buffers.Binary;

namespace FastBackprop.Tests.Data;

/// <summary>IdxLoader: round trips of every element type, plain and gzip, file and stream; every corrupt or hostile
/// header fails with a DataFormatException naming the file and the offset, quickly and without a large allocation.</summary>
public sealed class IdxLoaderTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    public static IEnumerable<object[]> Compression => [[false], [true]];

    [Theory]
    [MemberData(nameof(Compression))]
    public void Unsigned_bytes_scale_to_unit_interval_by_default(bool gzip)
    {
        byte[] pixels = Enumerable.Range(0, 3 * 2 * 4).Select(i => (byte)(i * 11)).ToArray();
        pixels[^1] = 255;
        string path = dir.Write("images", Idx.File(0x08, [3, 2, 4], pixels), gzip);
        IdxImages images = IdxLoader.LoadImages(path);
        Assert.Equal(3, images.Count);
        Assert.Equal(8, images.FeatureCount);
        Assert.Equal([3, 2, 4], images.Dimensions);
        Assert.Equal(IdxElementType.UnsignedByte, images.ElementType);
        Assert.Equal(pixels.Select(p => p * (1f / 255f)).ToArray(), images.Features);
        Assert.Equal(1f, images.Features.Max());

        IdxImages raw = IdxLoader.LoadImages(path, scale: 1f);
        Assert.Equal(pixels.Select(p => (float)p).ToArray(), raw.Features);
    }

    [Theory]
    [MemberData(nameof(Compression))]
    public void Every_element_type_round_trips(bool gzip)
    {
        var random = new Random(3);
        int[] dims = [5, 3];
        int n = 15;
        sbyte[] sbytes = Enumerable.Range(0, n).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
        short[] shorts = Enumerable.Range(0, n).Select(_ => (short)random.Next(short.MinValue, short.MaxValue + 1)).ToArray();
        int[] ints = Enumerable.Range(0, n).Select(_ => random.Next(-1 << 24, 1 << 24)).ToArray();
        float[] floats = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 200 - 100)).ToArray();
        double[] doubles = Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2e6 - 1e6).ToArray();

        var cases = new (byte Type, byte[] Payload, float[] Expected)[]
        {
            (0x09, sbytes.Select(v => (byte)v).ToArray(), sbytes.Select(v => (float)v).ToArray()),
            (0x0B, Idx.BigEndian(shorts, BinaryPrimitives.WriteInt16BigEndian, 2), shorts.Select(v => (float)v).ToArray()),
            (0x0C, Idx.BigEndian(ints, BinaryPrimitives.WriteInt32BigEndian, 4), ints.Select(v => (float)v).ToArray()),
            (0x0D, Idx.BigEndian(floats, BinaryPrimitives.WriteSingleBigEndian, 4), floats),
            (0x0E, Idx.BigEndian(doubles, BinaryPrimitives.WriteDoubleBigEndian, 8), doubles.Select(v => (float)v).ToArray()),
        };
        foreach (var (type, payload, expected) in cases)
        {
            byte[] file = Idx.File(type, dims, payload);
            IdxImages fromFile = IdxLoader.LoadImages(dir.Write($"t{type}", file, gzip));
            IdxImages fromStream = IdxLoader.LoadImages(new ForwardOnlyStream(gzip ? TempDir.Gzip(file) : file), name: "s");
            foreach (IdxImages images in new[] { fromFile, fromStream })
            {
                Assert.Equal((IdxElementType)type, images.ElementType);
                Assert.Equal(5, images.Count);
                Assert.Equal(3, images.FeatureCount);
                Bits.Equal<float>(expected, images.Features, $"type 0x{type:x2}");
            }
            if (type != 0x0D && type != 0x0E)
            {
                int[] labels = IdxLoader.LoadLabels(new MemoryStream(Idx.File(type, [n], payload)));
                Assert.Equal(expected.Select(v => (int)v).ToArray(), labels);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Compression))]
    public void Dataset_from_images_and_labels(bool gzip)
    {
        string images = dir.Write("img", Idx.File(0x08, [4, 2, 2], new byte[16]), gzip);
        string labels = dir.Write("lab", Idx.File(0x08, [4], [0, 3, 1, 2]), gzip);
        Dataset<float> d = IdxLoader.LoadDataset(images, labels);
        Assert.Equal(4, d.Count);
        Assert.Equal(4, d.FeatureCount);
        Assert.Equal(4, d.OutputCount);
        Assert.Equal([0, 3, 1, 2], d.ClassIndices!);
        Assert.Equal(10, IdxLoader.LoadDataset(images, labels, classCount: 10).OutputCount);
    }

    /// <summary>Inferred classes follow the CSV loader's rules: labels that are all one class, or that skip a
    /// class, are an error naming the file — unless classCount declares the classes (a test set may lack some).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Inferred_classes_need_two_and_no_gaps(bool gzip)
    {
        string images = dir.Write("img", Idx.File(0x08, [4, 2, 2], new byte[16]), gzip);
        string zeros = dir.Write("zeros", Idx.File(0x08, [4], new byte[4]), gzip);
        var one = Assert.Throws<DataFormatException>(() => IdxLoader.LoadDataset(images, zeros));
        Assert.Equal(zeros, one.FileName);
        Assert.Contains("every label is 0: a classifier needs at least two classes", one.Message);
        Assert.Equal(2, IdxLoader.LoadDataset(images, zeros, classCount: 2).OutputCount);

        string gap = dir.Write("gap", Idx.File(0x08, [4], [0, 3, 1, 255]), gzip);
        var skipped = Assert.Throws<DataFormatException>(() => IdxLoader.LoadDataset(images, gap));
        Assert.Contains("the labels run from 0 to 255 but 252 of those never occur (the first is 2)", skipped.Message);
        Assert.Equal(256, IdxLoader.LoadDataset(images, gap, classCount: 256).OutputCount);
    }

    private DataFormatException Bad(byte[] file, long? offset, bool gzip = false, string name = "bad-idx", Action<string>? load = null)
    {
        string path = dir.Write(name, file, gzip);
        var e = Assert.Throws<DataFormatException>(() => (load ?? (p => IdxLoader.LoadImages(p)))(path));
        Assert.Equal(path, e.FileName);
        Assert.Equal(offset, e.Offset);
        Assert.Null(e.Line);
        Assert.StartsWith(offset is null ? $"{name}: " : $"{name}, offset {offset}: ", e.Message);
        return e;
    }

    [Theory]
    [MemberData(nameof(Compression))]
    public void Wrong_magic(bool gzip)
    {
        byte[] file = Idx.File(0x08, [2], [1, 2]);
        file[1] = 0x42;
        Assert.Contains("not an IDX file", Bad(file, 0, gzip).Message);
        Assert.Contains("empty", Bad([], 0, gzip).Message);
        Assert.Contains("inside the 4-byte IDX header", Bad([0, 0], 2, gzip).Message);
    }

    [Theory]
    [MemberData(nameof(Compression))]
    public void Unknown_type_and_bad_dimension_counts(bool gzip)
    {
        Assert.Contains("unknown element type 0x0a", Bad(Idx.File(0x0A, [2], [1, 2]), 2, gzip).Message);
        Assert.Contains("declares 0 dimensions", Bad(Idx.File(0x08, [], [1, 2]), 3, gzip).Message);
        Assert.Contains("declares 17 dimensions", Bad(Idx.File(0x08, Enumerable.Repeat(1, 17).ToArray(), [1]), 3, gzip).Message);
        Assert.Contains("dimension 1 is -5", Bad(Idx.File(0x08, [2, -5], [1, 2]), 8, gzip).Message);
        Assert.Contains("dimension 0 is 0", Bad(Idx.File(0x08, [0], []), 4, gzip).Message);
        Assert.Contains("ends inside the header", Bad(Idx.Header(0x08, 3, 4)[..9], 9, gzip).Message);
    }

    [Theory]
    [MemberData(nameof(Compression))]
    public void Truncated_data_name_expected_and_found_bytes(bool gzip)
    {
        byte[] file = Idx.File(0x0B, [3, 2], new byte[11]);   // 12 bytes promised
        DataFormatException e = Bad(file, gzip ? 4 + 8 + 11 : 12, gzip);
        Assert.Contains("truncated", e.Message);
        Assert.Contains(gzip ? "after 11 of the 12 bytes" : "promises 12 bytes of data, but the file has 11", e.Message);
    }

    [Theory]
    [MemberData(nameof(Compression))]
    public void Trailing_bytes_are_rejected(bool gzip)
    {
        DataFormatException e = Bad(Idx.File(0x08, [2, 2], new byte[5]), 16, gzip);
        Assert.Contains("follow the 4 bytes of data", e.Message);
    }

    [Theory]
    [MemberData(nameof(Compression))]
    public void Huge_dimensions_in_a_tiny_file_fail_without_allocating(bool gzip)
    {
        // Overflowing products: 65536 × 65536 × 65536, and one just over an array's capacity.
        Assert.Contains("more than", Bad(Idx.File(0x08, [65536, 65536, 65536], [1, 2, 3]), 8, gzip).Message);
        Assert.Contains("more than", Bad(Idx.File(0x0E, [int.MaxValue], [1]), 4, gzip).Message);
        Assert.Contains("more than", Bad(Idx.File(0x08, [1 << 16, 1 << 15], [1]), 8, gzip).Message);

        // Within the cap (2^30 float64 values, 8 GiB promised) but the file holds 3 bytes.
        byte[] hostile = Idx.File(0x0E, [1 << 15, 1 << 15], [1, 2, 3]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        DataFormatException e = Bad(hostile, gzip ? 4 + 8 + 3 : 12, gzip);
        Bad(Idx.File(0x0C, [1 << 30], [1, 2, 3]), gzip ? 8 + 3 : 8, gzip, load: p => IdxLoader.LoadLabels(p));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("8589934592 bytes", e.Message);
        Assert.True(allocated < 32 << 20, $"allocated {allocated} bytes for a {hostile.Length}-byte file");
    }

    [Fact]
    public void Labels_must_be_integers_one_per_item()
    {
        Assert.Contains("labels must be integers", Bad(Idx.File(0x0D, [1], new byte[4]), 2, load: p => IdxLoader.LoadLabels(p)).Message);
        Assert.Contains("one value per item", Bad(Idx.File(0x08, [2, 2], new byte[4]), 8, load: p => IdxLoader.LoadLabels(p)).Message);
        Assert.Equal([7, 9], IdxLoader.LoadLabels(dir.Write("l", Idx.File(0x08, [2, 1], [7, 9]))));
    }

    [Theory]
    [MemberData(nameof(Compression))]
    public void Label_out_of_range_names_its_index_and_offset(bool gzip)
    {
        string images = dir.Write("img", Idx.File(0x08, [4, 3], new byte[12]), gzip);
        string labels = dir.Write("labels-idx1", Idx.File(0x08, [4], [0, 1, 5, 2]), gzip);
        var e = Assert.Throws<DataFormatException>(() => IdxLoader.LoadDataset(images, labels, classCount: 3));
        Assert.Equal(labels, e.FileName);
        Assert.Equal(8 + 2, e.Offset);
        Assert.Equal("labels-idx1, offset 10: label 2 is 5, outside [0, 3).", e.Message);

        string negative = dir.Write("neg", Idx.File(0x09, [4], [0, 1, 0xFF, 2]), gzip);
        e = Assert.Throws<DataFormatException>(() => IdxLoader.LoadDataset(images, negative));
        Assert.Contains("label 2 is -1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => IdxLoader.LoadDataset(images, labels, classCount: 1));
    }

    [Fact]
    public void Image_and_label_counts_must_match()
    {
        string images = dir.Write("img", Idx.File(0x08, [4, 3], new byte[12]));
        string labels = dir.Write("labels", Idx.File(0x08, [3], [0, 1, 1]));
        var e = Assert.Throws<DataFormatException>(() => IdxLoader.LoadDataset(images, labels));
        Assert.Equal("labels, offset 4: the file holds 3 labels but img holds 4 images.", e.Message);
    }

    [Fact]
    public void Non_finite_floats_are_rejected_with_their_offset()
    {
        float[] values = [1, 2, float.NaN, 4];
        DataFormatException e = Bad(Idx.File(0x0D, [2, 2], Idx.BigEndian(values, BinaryPrimitives.WriteSingleBigEndian, 4)), 12 + 8);
        Assert.Contains("value 2 is not finite", e.Message);
        double[] big = [1, 1e300];
        Bad(Idx.File(0x0E, [2], Idx.BigEndian(big, BinaryPrimitives.WriteDoubleBigEndian, 8)), 8 + 8);
    }

    /// <summary>Reported as skipped, with the reason, where the data set is not installed (it used to pass there).</summary>
    [FashionMnistFact]
    public void Fashion_mnist_when_installed()
    {
        string root = FashionMnistFactAttribute.Root;
        string trainImages = Path.Combine(root, "train-images-idx3-ubyte.gz"), trainLabels = Path.Combine(root, "train-labels-idx1-ubyte.gz");
        string testImages = Path.Combine(root, "t10k-images-idx3-ubyte.gz"), testLabels = Path.Combine(root, "t10k-labels-idx1-ubyte.gz");
        Dataset<float> train = IdxLoader.LoadDataset(trainImages, trainLabels);
        Dataset<float> test = IdxLoader.LoadDataset(testImages, testLabels);
        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, test.Count);
        Assert.Equal(784, train.FeatureCount);
        Assert.Equal(10, train.OutputCount);
        Assert.Equal(6000, train.ClassIndices!.Count(c => c == 3));
        Assert.Equal(0f, train.Features.Min());
        Assert.Equal(1f, train.Features.Max());
    }
}

/// <summary>A fact that runs only where Debian's dataset-fashion-mnist is installed and is reported as skipped elsewhere.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public const string Root = "/usr/share/datasets/fashion-mnist";

    public FashionMnistFactAttribute()
    {
        string[] files = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];
        if (!files.All(f => File.Exists(Path.Combine(Root, f))))
            Skip = $"Fashion-MNIST is not installed in {Root} (apt-get install dataset-fashion-mnist).";
    }
}
