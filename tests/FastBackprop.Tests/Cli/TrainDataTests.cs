using System.Globalization;
using System.Text;
using FastBackprop.Cli;
using FastBackprop.Tests.Data;

namespace FastBackprop.Tests.Cli;

/// <summary>How train loads its data: what the data summary says was done and guessed, and the memory plan checked before
/// the data are loaded (an IDX file from its header, a CSV file as it grows) and counting the data at their peak.</summary>
public sealed class TrainDataTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static TrainSettings Settings(params string[] args) => TrainSettings.From(ParsedArgs.Parse(["train", .. args]));

    private static MemoryPlan SmallNetwork(long features, long dataBytes) => MemoryPlan.For([(int)features, 8, 2], 32, 2, 0, dataBytes);

    private static MemoryBudget Budget(long? limit = null) => new(SmallNetwork, limit);

    private (string Images, string Labels) IdxPair(byte type, int elementSize, int rows = 20, int features = 4, bool gzip = false)
    {
        byte[] payload = new byte[rows * features * elementSize];
        for (int i = 0; i < payload.Length; i += elementSize)
            payload[i + elementSize - 1] = (byte)(i % 7);   // big-endian: the last byte of each element
        byte[] labels = Enumerable.Range(0, rows).Select(i => (byte)(i % 2)).ToArray();
        return (dir.Write($"images-{type}", Idx.File(type, [rows, features], payload), gzip), dir.Write($"labels-{type}", Idx.File(0x08, [rows], labels)));
    }

    [Fact]
    public void Unsigned_byte_images_are_said_to_be_scaled_pixels()
    {
        (string images, string labels) = IdxPair(0x08, 1);
        TrainData data = TrainData.Load(Settings("--idx", images, labels), Budget());
        Assert.EndsWith("20 samples, 4 features, 2 classes, pixels scaled to [0,1]", data.Description);
        Assert.False(data.StandardizeByDefault);
    }

    [Theory]
    [InlineData(0x09, 1, "SignedByte")]
    [InlineData(0x0B, 2, "Int16")]
    [InlineData(0x0C, 4, "Int32")]
    [InlineData(0x0D, 4, "Float32")]
    [InlineData(0x0E, 8, "Float64")]
    public void Other_idx_types_are_said_to_be_kept_as_stored_and_are_standardised(byte type, int size, string name)
    {
        (string images, string labels) = IdxPair(type, size);
        TrainData data = TrainData.Load(Settings("--idx", images, labels), Budget());
        Assert.EndsWith($"20 samples, 4 features, 2 classes, {name} values kept as stored (only unsigned-byte pixels are scaled to [0,1])", data.Description);
        Assert.DoesNotContain("pixels scaled", data.Description);
        Assert.True(data.StandardizeByDefault);
    }

    [Theory]
    [InlineData("a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n", "header row detected (its cells are not numbers); class labels are numbers")]
    [InlineData("1,2,x\n3,4,y\n5,6,x\n7,8,y\n", "no header row detected (the first row's cells are numbers); class labels are text")]
    public void The_data_summary_says_what_was_guessed(string text, string said)
    {
        string csv = dir.Write("guessed.csv", text);
        TrainData data = TrainData.Load(Settings("--csv", csv), Budget());
        Assert.Equal($"guessed.csv: 4 samples, 2 features, 2 classes; {said}", data.Description);
        string header = said.StartsWith("header", StringComparison.Ordinal) ? "yes" : "no";
        TrainData declared = TrainData.Load(Settings("--csv", csv, "--header", header, "--text-labels"), Budget());
        Assert.EndsWith($"header row (--header {header}); class labels taken as text (--text-labels)", declared.Description);
    }

    [Fact]
    public void An_idx_file_too_large_for_memory_is_refused_from_its_header_before_loading()
    {
        // A million zero pixels compress to about a kilobyte; their peak is 8 MB of floats.
        (string images, string labels) = IdxPair(0x08, 1, rows: 1000, features: 1000, gzip: true);
        long limit = SmallNetwork(1, 0).TotalBytes + (4L << 20);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<UsageException>(() => TrainData.Load(Settings("--idx", images, labels), Budget(limit)));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1L << 20, "the images were loaded before the check");
        Assert.StartsWith("training would need about", e.Message);
        Assert.Contains("data at their peak", e.Message);
    }

    [Fact]
    public void A_csv_file_too_large_for_memory_is_stopped_as_it_grows()
    {
        var text = new StringBuilder("a,b,c,label\n");
        for (int i = 0; i < 5000; i++)
            text.Append(CultureInfo.InvariantCulture, $"{i},{i % 3},{i % 5},{i % 2}\n");
        string csv = dir.Write("big.csv", text.ToString());
        long limit = SmallNetwork(1, 0).TotalBytes + 1000 * MemoryPlan.WorstBytesPerValue;
        var e = Assert.Throws<UsageException>(() => TrainData.Load(Settings("--csv", csv), Budget(limit)));
        Assert.StartsWith("big.csv: the data hold more than 1,000 feature values, more than fit in the memory limit of", e.Message);
        Assert.Equal(5000, TrainData.Load(Settings("--csv", csv, "--test-fraction", "0", "--validation-fraction", "0"), Budget()).Training.Count);
    }

    [Fact]
    public void The_plan_counts_the_copies_of_the_data_three_of_the_labels_the_row_numbers_and_the_runtime()
    {
        Assert.Equal(4L * (2 * 1000 + 3 * 10) + 40 * 10, MemoryPlan.DataPeakBytes(1000, 10, 1, MemoryPlan.DecodedFeatureCopies));
        Assert.Equal(4L * (3 * 1000 + 3 * 10 * 2) + 40 * 10, MemoryPlan.DataPeakBytes(1000, 10, 2, MemoryPlan.CsvFeatureCopies));
        MemoryPlan plan = SmallNetwork(4, 4000);
        Assert.Equal(plan.ParameterBytes + plan.StateBytes + plan.WorkspaceBytes + 4000 + MemoryPlan.RuntimeBytes, plan.TotalBytes);
    }

    [Fact]
    public void Splitting_keeps_the_rows_and_their_order_as_dataset_split_does()
    {
        var text = new StringBuilder("a,label\n");
        for (int i = 0; i < 100; i++)
            text.Append(CultureInfo.InvariantCulture, $"{i},{i % 2}\n");
        string csv = dir.Write("rows.csv", text.ToString());
        TrainData data = TrainData.Load(Settings("--csv", csv, "--seed", "7"), Budget());
        Dataset<float> all = CsvLoader.Load(csv);
        (Dataset<float> rest, Dataset<float> test) = all.Split(TrainSettings.From(ParsedArgs.Parse(["train", "--csv", csv])).TestFraction, 7);
        (Dataset<float> training, Dataset<float> validation) = rest.Split(Settings("--csv", csv).ValidationFraction, 8);
        Assert.Equal(test.Features, data.Test!.Features);
        Assert.Equal(validation.Features, data.Validation!.Features);
        Assert.Equal(training.Features, data.Training.Features);
    }
}
