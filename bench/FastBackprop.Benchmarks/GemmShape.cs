using FastBackprop.Primitives;

namespace FastBackprop.Benchmarks;

/// <summary>One benchmarked product: C[m×n] = op(A)·op(B) with op(A) m×k.</summary>
public sealed record GemmShape(string Name, int M, int N, int K, Transpose TransA, Transpose TransB)
{
    public double Flops => 2.0 * M * N * K;

    public override string ToString() =>
        $"{Name}:{M}x{N}x{K}{(TransA == Transpose.Yes ? 'T' : 'N')}{(TransB == Transpose.Yes ? 'T' : 'N')}";

    /// <summary>Squares, then the three products of a 784-512-256-10 MLP at batch 128 (first and last layer).</summary>
    public static IEnumerable<GemmShape> All(bool quick)
    {
        yield return new("square", 256, 256, 256, Transpose.No, Transpose.No);
        yield return new("square", 512, 512, 512, Transpose.No, Transpose.No);
        if (!quick)
        {
            yield return new("square", 1024, 1024, 1024, Transpose.No, Transpose.No);
            yield return new("square", 2048, 2048, 2048, Transpose.No, Transpose.No);
            yield return new("square", 64, 64, 64, Transpose.No, Transpose.No);
        }
        // Layer 1 (784 → 512): forward X·Wᵀ, weight gradient Δᵀ·X, (input delta skipped in training).
        yield return new("fwd", 128, 512, 784, Transpose.No, Transpose.Yes);
        yield return new("dW", 512, 784, 128, Transpose.Yes, Transpose.No);
        // Layer 2 (512 → 256): the backward delta Δ·W the issue names.
        yield return new("dX", 128, 784, 512, Transpose.No, Transpose.No);
        // Output layer (256 → 10): skinny products.
        yield return new("out-fwd", 128, 10, 256, Transpose.No, Transpose.Yes);
        if (!quick)
        {
            yield return new("out-dW", 10, 256, 128, Transpose.Yes, Transpose.No);
            yield return new("out-dX", 128, 256, 10, Transpose.No, Transpose.No);
            yield return new("gemv", 1, 512, 784, Transpose.No, Transpose.Yes);
        }
    }
}
