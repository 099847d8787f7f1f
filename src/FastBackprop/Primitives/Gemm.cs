using System.Numerics;
using System.Runtime.InteropServices;
using FastBackprop.Kernels.Gemm;

namespace FastBackprop.Primitives;

/// <summary>
/// General matrix multiply with BLAS semantics on row-major storage:
/// <c>C[m×n] = α·op(A)[m×k]·op(B)[k×n] + β·C</c>. With β = 0, C is overwritten without being read.
/// A stored operand is <c>rows × cols</c> with consecutive rows <c>ld</c> elements apart
/// (op(A) = A: A is m×k; op(A) = Aᵀ: A is k×m; likewise B). C must not overlap A or B.
/// The same kernels run every network pass; the thread count they use is <see cref="Parallelism.MaxDegreeOfParallelism"/>.
/// </summary>
public static class Gemm
{
    /// <summary>C = α·op(A)·op(B) + β·C in single precision.</summary>
    /// <exception cref="ArgumentException">A size is negative, a leading dimension is smaller than
    /// its row, a span is too short for the shapes, or C overlaps A or B; the message names the argument and the numbers.</exception>
    public static void Multiply(Transpose transA, Transpose transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
        => Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>C = α·op(A)·op(B) + β·C in double precision.</summary>
    /// <exception cref="ArgumentException">A size is negative, a leading dimension is smaller than
    /// its row, a span is too short for the shapes, or C overlaps A or B; the message names the argument and the numbers.</exception>
    public static void Multiply(Transpose transA, Transpose transB, int m, int n, int k,
        double alpha, ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
        double beta, Span<double> c, int ldc)
        => Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    private static unsafe void Run<T>(Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var epilogue = new NoEpilogue<T>();
        RunChecked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, in epilogue);
    }

    /// <summary>Validates the BLAS arguments once, then runs the driver with a fused epilogue.</summary>
    internal static unsafe void RunChecked<T, TEpilogue>(Transpose transA, Transpose transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc,
        in TEpilogue epilogue, PackedOperand<T>? packedB = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        ValidateEnum(transA, nameof(transA));
        ValidateEnum(transB, nameof(transB));
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, $"m must be non-negative (m = {m}).");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, $"n must be non-negative (n = {n}).");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be non-negative (k = {k}).");

        bool ta = transA == Transpose.Yes, tb = transB == Transpose.Yes;
        ValidateOperand(a.Length, lda, ta ? k : m, ta ? m : k, "a", "lda", ta ? "op(A) = Aᵀ, A is k×m" : "A is m×k", m, n, k);
        ValidateOperand(b.Length, ldb, tb ? n : k, tb ? k : n, "b", "ldb", tb ? "op(B) = Bᵀ, B is n×k" : "B is k×n", m, n, k);
        ValidateOperand(c.Length, ldc, m, n, "c", "ldc", "C is m×n", m, n, k);
        if (m > 0 && n > 0 && k > 0)
        {
            // Tiles of C are written while A and B are still being read (in place, for small products): an
            // overlap would feed partial results back into the product.
            ReadOnlySpan<T> cUsed = c[..Needed(m, n, ldc)];
            if (cUsed.Overlaps(a[..Needed(ta ? k : m, ta ? m : k, lda)]) || cUsed.Overlaps(b[..Needed(tb ? n : k, tb ? k : n, ldb)]))
                throw new ArgumentException($"c overlaps a or b: C must be separate storage (m = {m}, n = {n}, k = {k}).", nameof(c));
        }

        fixed (T* pa = &MemoryMarshal.GetReference(a))
        fixed (T* pb = &MemoryMarshal.GetReference(b))
        fixed (T* pc = &MemoryMarshal.GetReference(c))
        {
            GemmDriver<T>.Run(ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, in epilogue, packedB);
        }
    }

    private static int Needed(int rows, int columns, int ld) => rows == 0 || columns == 0 ? 0 : (rows - 1) * ld + columns;

    private static void ValidateEnum(Transpose value, string name)
    {
        if (value is not (Transpose.No or Transpose.Yes))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be Transpose.No or Transpose.Yes (got {(int)value}).");
    }

    private static void ValidateOperand(int length, int ld, int rows, int columns,
        string name, string ldName, string shape, int m, int n, int k)
    {
        if (ld < columns || ld < 0)
            throw new ArgumentException(
                $"{ldName} = {ld} is smaller than the row length {columns} ({shape}, m = {m}, n = {n}, k = {k}).", ldName);
        long needed = rows == 0 || columns == 0 ? 0 : (long)(rows - 1) * ld + columns;
        if (length < needed)
            throw new ArgumentException(
                $"{name} has {length} elements but {needed} are needed ({shape}, m = {m}, n = {n}, k = {k}, {ldName} = {ld}).", name);
    }
}
