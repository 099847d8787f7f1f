using System.IO.Compression;
using System.Text;
using Xunit;

namespace FastBackprop.Tests.Data;

/// <summary>Every size a data file controls is bounded: a file past a limit fails with a
/// <see cref="DataFormatException"/> that names the limit and how to raise it, after work and memory proportional to the
/// limit, never to what the file claims or holds.</summary>
public class DataLimitsTests
{
    private static MemoryStream Text(string s) => new(Encoding.UTF8.GetBytes(s));

    /// <summary>A gzip stream that decompresses to <paramref name="length"/> copies of <paramref name="pattern"/>.</summary>
    private static MemoryStream Bomb(string pattern, long length)
    {
        var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            byte[] block = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(pattern, (1 << 16) / pattern.Length)));
            for (long written = 0; written < length; written += block.Length)
                gzip.Write(block);
        }
        compressed.Position = 0;
        return compressed;
    }

    private static DataFormatException Rejected(Func<object> load, string limit, string cliName, long maxAllocated = 256L << 20)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DataFormatException>(load);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"DataLimits.{limit}", e.Message);
        Assert.Contains($"--limit {cliName}=N", e.Message);
        Assert.True(allocated < maxAllocated, $"allocated {allocated:N0} bytes before failing: {e.Message}");
        return e;
    }

    [Fact]
    public void A_gzip_bomb_of_one_endless_line_stops_at_the_record_limit()
    {
        // 200 MB of zeros in about 200 KB: the default limit (16 Mi characters) stops it with ~32 MB of line buffer.
        using MemoryStream bomb = Bomb("0", 200L << 20);
        DataFormatException e = Rejected(() => CsvLoader.Load<float>(bomb, name: "b.csv.gz"), nameof(DataLimits.MaxRecordCharacters), "line");
        Assert.StartsWith("b.csv.gz, line 1: the record is longer than 16,777,216 characters", e.Message);
    }

    [Fact]
    public void A_quoted_cell_left_open_stops_at_the_record_limit()
    {
        var options = new CsvOptions { Limits = new DataLimits { MaxRecordCharacters = 1000 } };
        string file = "a,b\n\"open," + string.Concat(Enumerable.Repeat("x\n", 2000));
        Rejected(() => CsvLoader.Load<float>(Text(file), options), nameof(DataLimits.MaxRecordCharacters), "line");
        // Within the limit the same shape is read (the cell closes).
        Dataset<float> ok = CsvLoader.Load<float>(Text("a,b\n1,\"x\ny\"\n2,\"z\"\n"), options);
        Assert.Equal(2, ok.Count);
    }

    [Fact]
    public void Blank_lines_stop_at_the_byte_limit()
    {
        using MemoryStream bomb = Bomb("\n", 64L << 20);
        var options = new CsvOptions { Limits = new DataLimits { MaxBytes = 1 << 20 } };
        Rejected(() => CsvLoader.Load<float>(bomb, options), nameof(DataLimits.MaxBytes), "bytes", maxAllocated: 8L << 20);
    }

    [Fact]
    public void Rows_stop_at_the_cell_limit()
    {
        string wide = string.Join(',', Enumerable.Range(0, 300)) + "\n";
        var options = new CsvOptions { Limits = new DataLimits { MaxCellsPerRow = 200 } };
        Rejected(() => CsvLoader.Load<float>(Text(wide + wide), options), nameof(DataLimits.MaxCellsPerRow), "cells");
        Rejected(() => CsvLoader.LoadFeatures<float>(Text(wide), options), nameof(DataLimits.MaxCellsPerRow), "cells");
        string other = string.Join(',', Enumerable.Range(1, 300)) + "\n";
        Assert.Equal(299, CsvLoader.Load<float>(Text(wide + other), new CsvOptions { Limits = new DataLimits { MaxCellsPerRow = 300 } }).FeatureCount);
    }

    [Fact]
    public void Files_stop_at_the_value_limit()
    {
        string rows = string.Concat(Enumerable.Range(0, 20).Select(i => $"{i},{i},{i % 2}\n"));
        Rejected(() => CsvLoader.Load<float>(Text(rows), new CsvOptions { Limits = new DataLimits { MaxValues = 39 } }), nameof(DataLimits.MaxValues), "values");
        Assert.Equal(20, CsvLoader.Load<float>(Text(rows), new CsvOptions { Limits = new DataLimits { MaxValues = 40 } }).Count);
    }

    [Fact]
    public void Class_labels_stop_at_the_class_limit_and_numeric_ones_suggest_regression()
    {
        var options = new CsvOptions { Limits = new DataLimits { MaxClasses = 10 } };
        string numeric = "x,y\n" + string.Concat(Enumerable.Range(0, 30).Select(i => $"{i % 7},{i * 1.5}\n"));
        DataFormatException e = Rejected(() => CsvLoader.Load<float>(Text(numeric), options), nameof(DataLimits.MaxClasses), "classes");
        Assert.Contains("line 12", e.Message);
        Assert.Contains("--regression", e.Message);
        string words = "x,y\n" + string.Concat(Enumerable.Range(0, 30).Select(i => $"{i % 7},c{i}\n"));
        Assert.DoesNotContain("--regression", Rejected(() => CsvLoader.Load<float>(Text(words), options), nameof(DataLimits.MaxClasses), "classes").Message);
    }

    [Fact]
    public void Idx_headers_stop_at_the_value_limit_and_labels_at_the_class_limit()
    {
        byte[] images = [0, 0, 8, 2, 0, 0, 0x03, 0xe8, 0, 0, 0x03, 0xe8, .. new byte[1000 * 1000]];
        var e = Rejected(() => IdxLoader.LoadImages(new MemoryStream(images), limits: new DataLimits { MaxValues = 999_999 }),
            nameof(DataLimits.MaxValues), "values");
        Assert.Contains("offset 8", e.Message);
        Assert.Equal(1000, IdxLoader.LoadImages(new MemoryStream(images), limits: new DataLimits { MaxValues = 1_000_000 }).Count);

        using var dir = new TempDir();
        string imagePath = dir.File("i.idx"), labelPath = dir.File("l.idx");
        File.WriteAllBytes(imagePath, [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 1, 7, 9]);
        // Two int32 labels, the second 2,000,000,000: inferring classes from it would allocate gigabytes.
        File.WriteAllBytes(labelPath, [0, 0, 0x0c, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0x77, 0x35, 0x94, 0x00]);
        Rejected(() => IdxLoader.LoadDataset(imagePath, labelPath), nameof(DataLimits.MaxClasses), "classes", maxAllocated: 1 << 20);
    }

    [Fact]
    public void Line_endings_of_every_kind_still_read()
    {
        Dataset<float> d = CsvLoader.Load<float>(Text("1,2,a\r\n3,4,b\r5,6,a\n7,8,b"));
        Assert.Equal(4, d.Count);
        Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8], d.Features);
    }

    [Fact]
    public void Blank_lines_are_skipped_in_bulk_and_still_counted()
    {
        string file = "a,b,c\n\r\n  \n\t\n1,2,x\n" + string.Concat(Enumerable.Repeat("\n", 1_000_000)) + " 3,4,y\r\n\r\n5,6\n";
        var e = Assert.Throws<DataFormatException>(() => CsvLoader.Load<float>(Text(file)));
        Assert.Equal(1_000_008, e.Line);
        Assert.Contains("expected 3 cells, found 2", e.Message);
        Dataset<float> d = CsvLoader.Load<float>(Text(file[..^4]));
        Assert.Equal([1f, 2, 3, 4], d.Features);
        // With tabs as separators a leading tab is an (empty) cell, never skipped.
        var tabs = new CsvOptions { Separator = '\t', Header = CsvHeader.No };
        Assert.Contains("expected 3 cells, found 4", Assert.Throws<DataFormatException>(() => CsvLoader.Load<float>(Text("1\t2\ta\n\n\t1\t2\tb\n"), tabs)).Message);
    }

    [Fact]
    public void Limits_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CsvLoader.Load<float>(Text("1,a\n2,b\n"), new CsvOptions { Limits = new DataLimits { MaxValues = 0 } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => CsvLoader.Load<float>(Text("1,a\n2,b\n"), new CsvOptions { Limits = new DataLimits { MaxClasses = 1 } }));
    }

    [Fact]
    public void A_network_too_large_for_one_array_is_an_argument_error_naming_its_shape()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Network<float>(2, [new(65536, Activation.ReLU), new(65536, Activation.ReLU), new(2, Activation.Softmax)]));
        Assert.Equal("layers", e.ParamName);
        Assert.Contains("[2-65536-65536-2]", e.Message);
        Assert.Contains("4,295,", e.Message);
    }
}
