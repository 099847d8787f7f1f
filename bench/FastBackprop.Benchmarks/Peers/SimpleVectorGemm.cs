using System.Numerics;

namespace FastBackprop.Benchmarks.Peers;

/// <summary>The easy version a user would write first: an i-p-j loop with <see cref="Vector{T}"/> over
/// rows of B (NN only; the benchmark gives it the same flops whatever the transposes).</summary>
internal static class SimpleVectorGemm
{
    public static void Multiply(int m, int n, int k, float[] a, float[] b, float[] c)
    {
        Array.Clear(c, 0, m * n);
        int width = Vector<float>.Count;
        for (int i = 0; i < m; i++)
        {
            Span<float> row = c.AsSpan(i * n, n);
            for (int p = 0; p < k; p++)
            {
                var aip = new Vector<float>(a[i * k + p]);
                ReadOnlySpan<float> bRow = b.AsSpan(p * n, n);
                int j = 0;
                for (; j <= n - width; j += width)
                    (new Vector<float>(row[j..]) + aip * new Vector<float>(bRow[j..])).CopyTo(row[j..]);
                for (; j < n; j++)
                    row[j] += a[i * k + p] * bRow[j];
            }
        }
    }
}
