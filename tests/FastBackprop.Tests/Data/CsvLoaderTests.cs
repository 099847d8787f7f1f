using System.Text;

namespace FastBackprop.Tests.Data;

/// <summary>CsvLoader on good files (header detection, target by name and index, label mapping, regression, quotes,
/// gzip, streams) and on every kind of bad file, whose exception must name the file and the line.</summary>
public sealed class CsvLoaderTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private Dataset<float> Load(string text, CsvOptions? options = null, string name = "data.csv")
        => CsvLoader.Load(dir.Write(name, text), options);

    private DataFormatException Bad(string text, long? line, CsvOptions? options = null, string name = "bad.csv")
    {
        string path = dir.Write(name, text);
        var e = Assert.Throws<DataFormatException>(() => CsvLoader.Load(path, options));
        Assert.Equal(path, e.FileName);
        Assert.Equal(line, e.Line);
        Assert.StartsWith(line is null ? $"{name}: " : $"{name}, line {line}: ", e.Message);
        return e;
    }

    [Fact]
    public void Header_is_detected_and_string_labels_sort_ordinally()
    {
        Dataset<float> d = Load("width,height,species\n1.5,2,versicolor\n3,-4e-1,setosa\n5,6,versicolor\n");
        Assert.Equal(3, d.Count);
        Assert.Equal(2, d.FeatureCount);
        Assert.Equal([1.5f, 2, 3, -0.4f, 5, 6], d.Features);
        Assert.Equal(["setosa", "versicolor"], d.ClassLabels!);
        Assert.Equal([1, 0, 1], d.ClassIndices!);
    }

    [Fact]
    public void No_header_when_every_feature_cell_is_numeric_even_with_a_text_label()
    {
        Dataset<float> d = Load("1,2,cat\n3,4,dog\n");
        Assert.Equal(2, d.Count);
        Assert.Equal([1f, 2, 3, 4], d.Features);
        Assert.Equal(["cat", "dog"], d.ClassLabels!);
    }

    [Fact]
    public void Integer_labels_sort_numerically()
    {
        Dataset<float> d = Load("0.5,10\n1.5,2\n2.5,1\n3.5,2\n4.5,-3\n");
        Assert.Equal(["-3", "1", "2", "10"], d.ClassLabels!);
        Assert.Equal([3, 2, 1, 2, 0], d.ClassIndices!);
        Assert.Equal(4, d.OutputCount);
    }

    [Fact]
    public void Ordinal_sort_of_mixed_case_labels()
    {
        Dataset<float> d = Load("1,b\n2,B\n3,a\n");
        Assert.Equal(["B", "a", "b"], d.ClassLabels!);
        Assert.Equal([2, 0, 1], d.ClassIndices!);
    }

    [Fact]
    public void Target_by_name_anywhere()
    {
        Dataset<float> d = Load("x1,class,x2\n1,yes,2\n3,no,4\n", new CsvOptions { TargetColumnName = "class" });
        Assert.Equal([1f, 2, 3, 4], d.Features);
        Assert.Equal(["no", "yes"], d.ClassLabels!);
        Assert.Equal([1, 0], d.ClassIndices!);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Target_by_index_from_the_start_or_the_end(int index)
    {
        Dataset<float> d = Load("7,1,2\n8,3,4\n7,5,6\n", new CsvOptions { TargetColumn = index });
        Assert.Equal([1f, 2, 3, 4, 5, 6], d.Features);
        Assert.Equal(["7", "8"], d.ClassLabels!);
        Assert.Equal([0, 1, 0], d.ClassIndices!);
    }

    [Fact]
    public void Regression_targets()
    {
        Dataset<float> d = Load("a;b;y\n1.25;2;-0.5\n3;4;1e3\n", new CsvOptions { Separator = ';', Task = CsvTask.Regression });
        Assert.False(d.IsClassification);
        Assert.Equal(1, d.OutputCount);
        Assert.Equal([-0.5f, 1000f], d.Targets!);
        Assert.Equal([1.25f, 2, 3, 4], d.Features);
    }

    [Fact]
    public void Double_precision_load_keeps_every_digit()
    {
        string path = dir.Write("d.csv", "0.1,0.30000000000000004,1\n2,3,0\n");
        Dataset<double> d = CsvLoader.Load<double>(path, new CsvOptions { Task = CsvTask.Regression });
        Assert.Equal([0.1, 0.30000000000000004, 2, 3], d.Features);
    }

    [Fact]
    public void Quoted_cells_with_separators_doubled_quotes_and_line_breaks()
    {
        string text = "\"x\",\"label\"\r\n1,\"a,b\"\r\n2,\"say \"\"hi\"\"\"\r\n\r\n 3 , \"two\nlines\"\r\n4,plain\r\n5, \"a,b\" \r\n";
        Dataset<float> d = Load(text);
        Assert.Equal([1f, 2, 3, 4, 5], d.Features);
        Assert.Equal(["a,b", "plain", "say \"hi\"", "two\nlines"], d.ClassLabels!);
        Assert.Equal([0, 2, 3, 1, 0], d.ClassIndices!);
    }

    [Fact]
    public void Line_numbers_count_blank_lines_and_lines_inside_quotes()
    {
        DataFormatException e = Bad("f,label\n1,\"multi\nline\"\n\n2,x\n3,y,extra\n", line: 6);
        Assert.Contains("expected 2 cells, found 3", e.Message);
    }

    [Fact]
    public void Fixed_class_labels_map_evaluation_data_to_the_model_classes()
    {
        var options = new CsvOptions { ClassLabels = ["zebra", "ant", "moose"] };
        Dataset<float> d = Load("1,ant\n2,zebra\n3,ant\n", options);
        Assert.Equal(3, d.OutputCount);
        Assert.Equal(["zebra", "ant", "moose"], d.ClassLabels!);
        Assert.Equal([1, 0, 1], d.ClassIndices!);
    }

    [Fact]
    public void Gzip_is_detected_by_magic_not_by_name()
    {
        const string text = "a,b,c\n1,2,0\n3,4,1\n";
        Dataset<float> named = CsvLoader.Load(dir.Write("data.csv.gz", text, gzip: true));
        Dataset<float> unnamed = CsvLoader.Load(dir.Write("data.csv", text, gzip: true));
        Dataset<float> plain = CsvLoader.Load(dir.Write("plain.csv.gz", text));
        foreach (Dataset<float> d in new[] { named, unnamed, plain })
        {
            Assert.Equal([1f, 2, 3, 4], d.Features);
            Assert.Equal([0, 1], d.ClassIndices!);
        }
    }

    [Fact]
    public void Streams_seekable_or_not_plain_or_gzip()
    {
        byte[] text = Encoding.UTF8.GetBytes("\uFEFFa,b,c\n1,2,0\n3,4,1\n");
        foreach (byte[] bytes in new[] { text, TempDir.Gzip(text) })
        {
            foreach (Stream s in new Stream[] { new MemoryStream(bytes), new ForwardOnlyStream(bytes) })
            {
                Dataset<float> d = CsvLoader.Load<float>(s, name: "stream.csv");
                Assert.Equal([1f, 2, 3, 4], d.Features);
                Assert.Equal(["0", "1"], d.ClassLabels!);
                Assert.True(s.CanRead, "the caller's stream stays open");
            }
        }
        var bad = Assert.Throws<DataFormatException>(() => CsvLoader.Load<float>(new ForwardOnlyStream(Encoding.UTF8.GetBytes("1,2\n1,x,3\n")), name: "in.csv"));
        Assert.StartsWith("in.csv, line 2: ", bad.Message);
    }

    [Fact]
    public void Features_only_with_and_without_a_dropped_column()
    {
        string path = dir.Write("predict.csv", "a,b,label\n1,2,x\n3,4,y\n");
        var e = Assert.Throws<DataFormatException>(() => CsvLoader.LoadFeatures(path));
        Assert.Equal("predict.csv, line 2: column 3 ('label'): 'x' is not a number.", e.Message);

        CsvFeatures<float> f = CsvLoader.LoadFeatures(path, new CsvOptions { TargetColumnName = "label" }, dropTargetColumn: true);
        Assert.Equal([1f, 2, 3, 4], f.Features);
        Assert.Equal(2, f.FeatureCount);
        Assert.Equal(2, f.Count);
        Assert.Equal(["a", "b"], f.Header!);

        CsvFeatures<double> g = CsvLoader.LoadFeatures<double>(dir.Write("p2.csv", "5,6,7\n8,9,10\n"));
        Assert.Equal([5.0, 6, 7, 8, 9, 10], g.Features);
        Assert.Equal(3, g.FeatureCount);
        Assert.Null(g.Header);

        CsvFeatures<float> h = CsvLoader.LoadFeatures(dir.Write("p3.csv", "5,6,7\n8,9,10\n"), new CsvOptions { TargetColumn = 0 }, dropTargetColumn: true);
        Assert.Equal([6f, 7, 9, 10], h.Features);
    }

    [Fact]
    public void Header_yes_and_no_override_detection()
    {
        Dataset<float> yes = Load("1,2,3\n4,5,0\n6,7,1\n", new CsvOptions { Header = CsvHeader.Yes });
        Assert.Equal(2, yes.Count);
        Bad("a,b,c\n4,5,0\n", line: 1, new CsvOptions { Header = CsvHeader.No });
    }

    [Fact]
    public void Ragged_row()
    {
        DataFormatException e = Bad("a,b,c\n1,2,0\n3,1\n", line: 3, name: "digits.csv");
        Assert.Equal("digits.csv, line 3: expected 3 cells, found 2.", e.Message);
    }

    [Fact]
    public void Non_numeric_cell_names_line_column_and_text()
    {
        DataFormatException e = Bad("a,b,c\n1,2,0\n3,oops,1\n", line: 3);
        Assert.Contains("column 2 ('b'): 'oops' is not a number", e.Message);
        e = Bad("1,2,0\n3,,1\n", line: 2);
        Assert.Contains("column 2: '' is not a number", e.Message);
        e = Bad("1,2,0\n1\u00a0000,2,1\n", line: 2);
        Bad("1,2,0\n\"1,5\",2,1\n", line: 2);
        Assert.Contains("'∞' is not", Bad("1,2,0\n∞,2,1\n", line: 2).Message);
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("nan")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("1e39")]
    public void Non_finite_cells_are_rejected(string cell)
    {
        DataFormatException e = Bad($"a,b,c\n1,2,0\n3,{cell},1\n", line: 3);
        Assert.Contains("not a finite number", e.Message);
        Bad($"a,b,y\n1,2,0\n3,4,{cell}\n", line: 3, new CsvOptions { Task = CsvTask.Regression });
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n  \r\n")]
    public void Empty_file(string text)
    {
        DataFormatException e = Bad(text, line: null);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void Header_without_data()
    {
        DataFormatException e = Bad("a,b,label\n\n", line: 1);
        Assert.Contains("no data rows", e.Message);
    }

    [Fact]
    public void Missing_target_column_name()
    {
        DataFormatException e = Bad("a,b,label\n1,2,x\n", line: 1, new CsvOptions { TargetColumnName = "class" });
        Assert.Contains("no column is named 'class'", e.Message);
        Assert.Contains("a, b, label", e.Message);
    }

    [Fact]
    public void Target_index_out_of_range()
    {
        DataFormatException e = Bad("1,2,x\n", line: 1, new CsvOptions { TargetColumn = 3 });
        Assert.Contains("target column 3 does not exist", e.Message);
        Bad("1,2,x\n", line: 1, new CsvOptions { TargetColumn = -4 });
    }

    [Fact]
    public void Label_outside_the_fixed_list()
    {
        DataFormatException e = Bad("f,label\n1,ant\n2,bee\n", line: 3, new CsvOptions { ClassLabels = ["ant", "cow"] });
        Assert.Contains("label 'bee' is not one of the 2 known classes (ant, cow)", e.Message);
    }

    [Fact]
    public void A_single_class_is_not_a_classification_set()
    {
        DataFormatException e = Bad("1,a\n2,a\n", line: null);
        Assert.Contains("at least 2 classes", e.Message);
    }

    [Fact]
    public void Malformed_quotes()
    {
        Bad("1,\"never closed\n2,x\n", line: 1);
        DataFormatException e = Bad("1,a\n2,\"x\"y\n", line: 2);
        Assert.Contains("after the closing quote", e.Message);
        Bad("1,a\n2,x\"y\n", line: 2);
    }

    [Fact]
    public void Corrupt_gzip()
    {
        byte[] gz = TempDir.Gzip(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("1,2,3\n4,5,6\n", 200))));
        gz[gz.Length / 2] ^= 0x5A;
        gz[gz.Length / 2 + 1] ^= 0xA5;
        string path = dir.Write("corrupt.csv.gz", gz);
        Exception e = Record.Exception(() => CsvLoader.Load(path));
        // Deflate may or may not notice a flipped byte; if it does, the loader reports it as a format error.
        if (e is not null)
            Assert.IsType<DataFormatException>(e);
    }

    [Fact]
    public void Bad_options_are_argument_errors()
    {
        string path = dir.Write("ok.csv", "1,a\n2,b\n");
        Assert.Throws<ArgumentException>(() => CsvLoader.Load(path, new CsvOptions { Separator = '"' }));
        Assert.Throws<ArgumentException>(() => CsvLoader.Load(path, new CsvOptions { TargetColumnName = "x", Header = CsvHeader.No }));
        Assert.Throws<ArgumentException>(() => CsvLoader.Load(path, new CsvOptions { ClassLabels = ["a"] }));
        Assert.Throws<ArgumentException>(() => CsvLoader.Load(path, new CsvOptions { ClassLabels = ["a", "a"] }));
        Assert.Throws<ArgumentException>(() => CsvLoader.Load(path, new CsvOptions { ClassLabels = ["a", "b"], Task = CsvTask.Regression }));
        Assert.Throws<FileNotFoundException>(() => CsvLoader.Load(dir.File("missing.csv")));
    }

    [Fact]
    public void A_wide_file_round_trips_exactly()
    {
        var random = new Random(5);
        const int rows = 300, columns = 785;
        var expected = new float[rows * (columns - 1)];
        var labels = new int[rows];
        var text = new StringBuilder();
        for (int r = 0; r < rows; r++)
        {
            labels[r] = random.Next(10);
            text.Append(labels[r]);
            for (int c = 0; c < columns - 1; c++)
            {
                float v = random.Next(3) == 0 ? random.Next(256) : (float)(random.NextDouble() * 2e4 - 1e4);
                expected[r * (columns - 1) + c] = v;
                text.Append(',').Append(v.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            }
            text.Append('\n');
        }
        Dataset<float> d = Load(text.ToString(), new CsvOptions { TargetColumn = 0 });
        Bits.Equal<float>(expected, d.Features, "features");
        Assert.Equal(labels, d.ClassIndices!);
    }
}
