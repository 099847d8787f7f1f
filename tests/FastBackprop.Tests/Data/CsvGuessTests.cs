using System.Text;

namespace FastBackprop.Tests.Data;

/// <summary>What CsvLoader guesses about a file — a header row, numeric or text labels — it guesses only where the file
/// is unambiguous, and refuses the rest naming the row, the column and the value: a typo among numeric labels, one
/// number written two ways, a column name used twice, a first data row with a malformed number.</summary>
public sealed class CsvGuessTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>Rows "i,label" with numeric labels 0-9 in turn, then the extra rows.</summary>
    private static string Digits(int rows, params string[] extra)
    {
        var text = new StringBuilder("x,digit\n");
        for (int i = 0; i < rows; i++)
            text.Append($"{i},{i % 10}\n");
        foreach (string row in extra)
            text.Append(row).Append('\n');
        return text.ToString();
    }

    private DataFormatException Refused(string text, CsvOptions? options = null)
    {
        string path = dir.Write("guess.csv", text);
        var e = Assert.Throws<DataFormatException>(() => CsvLoader.Load(path, options));
        Assert.Equal(path, e.FileName);
        return e;
    }

    [Fact]
    public void A_text_label_among_numeric_labels_is_refused_naming_its_row_and_value()
    {
        DataFormatException e = Refused(Digits(40, "40,l"));
        Assert.Equal(42, e.Line);
        Assert.Equal("guess.csv, line 42: column 2 ('digit'): the class labels are numbers in 40 rows but not in 1: 'l' (line 42). A typo? Fix those rows, or take every label as text (CsvOptions.TextLabels, --text-labels).", e.Message);
        Dataset<float> text = CsvLoader.Load(dir.Write("text.csv", Digits(40, "40,l")), new CsvOptions { TextLabels = true });
        Assert.Equal(11, text.OutputCount);
        Assert.Equal("l", text.ClassLabels![^1]);
    }

    [Fact]
    public void Text_labels_in_one_row_in_twenty_or_more_are_classes_not_typos()
    {
        // 1 text row in 21 is under 5%: refused; 1 in 20 is not.
        Refused(Digits(20, "20,other"));
        Dataset<float> d = CsvLoader.Load(dir.Write("ok.csv", Digits(19, "19,other")));
        Assert.Equal(11, d.OutputCount);
        Assert.Equal("other", d.ClassLabels![^1]);
    }

    [Fact]
    public void One_number_written_two_ways_is_refused_not_made_two_classes()
    {
        DataFormatException e = Refused("x,y\n1,1\n2,0\n3,1.0\n4,01\n");
        Assert.Equal(4, e.Line);
        Assert.Equal("guess.csv, line 4: column 2 ('y'): the class label '1.0' is the number '1' of line 2 written another way; as text they would be two classes. Write each class one way, or take every label as text (CsvOptions.TextLabels, --text-labels).", e.Message);
        Dataset<float> text = CsvLoader.Load(dir.Write("text.csv", "x,y\n1,1\n2,0\n3,1.0\n4,01\n"), new CsvOptions { TextLabels = true });
        Assert.Equal(["0", "01", "1", "1.0"], text.ClassLabels!);
    }

    [Fact]
    public void Numeric_labels_written_one_way_still_load_and_sort_as_numbers()
    {
        Dataset<float> d = CsvLoader.Load(dir.Write("ok.csv", Digits(30)));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString()), d.ClassLabels!);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("b")]
    public void A_column_name_used_twice_is_refused_naming_both_columns(string? target)
    {
        DataFormatException e = Refused("a,b,c,b\n1,2,3,x\n4,5,6,y\n", new CsvOptions { TargetColumnName = target });
        Assert.Equal(1, e.Line);
        Assert.EndsWith("line 1: columns 2 and 4 are both named 'b'; column names must be unique (columns are found by name).", e.Message);
        Assert.Throws<DataFormatException>(() => CsvLoader.LoadFeatures(dir.Write("f.csv", "a,a\n1,2\n")));
    }

    [Fact]
    public void A_first_row_with_one_malformed_number_is_a_data_error_not_a_header()
    {
        DataFormatException e = Refused("1..5,2,a\n3,4,b\n5,6,a\n");
        Assert.Equal(1, e.Line);
        Assert.Equal("guess.csv, line 1: column 1: '1..5' is not a number. The first row is read as data, since 1 of its cells are numbers; if it is a header, say so (CsvHeader.Yes, --header yes).", e.Message);
        Dataset<float> declared = CsvLoader.Load(dir.Write("h.csv", "1..5,2,a\n3,4,b\n5,6,a\n"), new CsvOptions { Header = CsvHeader.Yes });
        Assert.Equal(2, declared.Count);
    }

    [Theory]
    [InlineData("width,height,species\n1,2,a\n3,4,b\n", true)]
    [InlineData("1,2,a\n3,4,b\n", false)]
    [InlineData("\"w\",\"h\",label\n1,2,3\n4,5,6\n", true)]
    public void HasHeader_says_what_Load_decides(string text, bool header)
    {
        string path = dir.Write("h.csv", text);
        Assert.Equal(header, CsvLoader.HasHeader(path));
        Assert.Equal(2, CsvLoader.Load(path, new CsvOptions { TextLabels = true }).Count);
        Assert.True(CsvLoader.HasHeader(path, new CsvOptions { Header = CsvHeader.Yes }));
    }
}
