namespace FastBackprop.Tests;

/// <summary>The finiteness check every training step and prediction runs on its inputs: a NaN or ±∞ anywhere — in the
/// vector body or the scalar tail, for every length around the register widths — is found and named by its index;
/// finite extremes (±MaxValue, subnormals, −0) pass.</summary>
public class GuardTests
{
    [Fact]
    public void Every_non_finite_value_is_found_wherever_it_is() => Check<float>();

    [Fact]
    public void Every_non_finite_double_is_found_wherever_it_is() => Check<double>();

    private static void Check<T>() where T : struct, System.Numerics.IFloatingPointIeee754<T>, System.Numerics.IMinMaxValue<T>
    {
        T[] finite = [T.MaxValue, -T.MaxValue, T.Epsilon, -T.Zero, T.One];
        foreach (int length in new[] { 0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65 })
        {
            var values = new T[length];
            for (int i = 0; i < length; i++)
                values[i] = finite[i % finite.Length];
            Guard.Finite<T>(values, "values");
            for (int at = 0; at < length; at++)
            {
                foreach (T bad in new[] { T.NaN, T.PositiveInfinity, T.NegativeInfinity })
                {
                    T saved = values[at];
                    values[at] = bad;
                    var e = Assert.Throws<ArgumentException>("values", () => Guard.Finite<T>(values, "values"));
                    Assert.Contains($"at index {at}", e.Message);
                    values[at] = saved;
                }
            }
        }
    }
}
