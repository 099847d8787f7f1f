namespace FastBackprop.Tests.Data;

/// <summary>
/// The data limits as a specification: the defaults, the smallest value each limit accepts (1, and 2 for the classes)
/// and the value just below it, and the message tail that tells how to raise a limit.
/// </summary>
public class DataLimitsSpecTests
{
    [Fact]
    public void Defaults_hold_every_data_set_the_library_is_meant_for()
    {
        DataLimits d = DataLimits.Default;
        Assert.Equal((1 << 24, 1 << 20, 8L << 30, 1L << 30, 10_000), (d.MaxRecordCharacters, d.MaxCellsPerRow, d.MaxBytes, d.MaxValues, d.MaxClasses));
        Assert.Same(d, d.Validated());
    }

    [Fact]
    public void Each_limit_accepts_its_smallest_value()
    {
        var smallest = new DataLimits { MaxRecordCharacters = 1, MaxCellsPerRow = 1, MaxBytes = 1, MaxValues = 1, MaxClasses = 2 };
        Assert.Same(smallest, smallest.Validated());
    }

    public static TheoryData<DataLimits> JustBelow => new()
    {
        new DataLimits { MaxRecordCharacters = 0 },
        new DataLimits { MaxCellsPerRow = 0 },
        new DataLimits { MaxBytes = 0 },
        new DataLimits { MaxValues = 0 },
        new DataLimits { MaxClasses = 1 },
        new DataLimits { MaxValues = -1 },
    };

    [Theory]
    [MemberData(nameof(JustBelow))]
    public void A_limit_below_its_smallest_value_is_refused(DataLimits limits)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => limits.Validated());
        Assert.Equal(nameof(DataLimits), e.ParamName);
        Assert.Contains(limits.ToString(), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_description_lists_every_limit()
        => Assert.Equal("MaxRecordCharacters 10, MaxCellsPerRow 20, MaxBytes 30, MaxValues 40, MaxClasses 50",
            new DataLimits { MaxRecordCharacters = 10, MaxCellsPerRow = 20, MaxBytes = 30, MaxValues = 40, MaxClasses = 50 }.ToString());

    [Fact]
    public void The_message_tail_names_the_limit_its_value_and_the_command_line_option()
    {
        string tail = DataLimits.Raise(nameof(DataLimits.MaxValues), "values", 1234567);
        Assert.Contains("DataLimits.MaxValues", tail, StringComparison.Ordinal);
        Assert.Contains("1,234,567", tail, StringComparison.Ordinal);
        Assert.Contains("--limit values=N", tail, StringComparison.Ordinal);
    }
}
