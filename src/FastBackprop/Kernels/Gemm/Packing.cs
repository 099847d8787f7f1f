using System.Numerics;
using System.Runtime.CompilerServices;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous micro-panel order the micro-kernel streams
/// through. The transposes are absorbed here, so one micro-kernel serves NN, NT, TN and TT; partial
/// panels are zero-padded so the kernel never needs an edge case in its inner loop.
/// </summary>
internal static unsafe class Packing<T> where T : unmanaged, INumberBase<T>
{
    /// <summary>
    /// Packs op(A)[0..mc, 0..kc] (the block starting at <paramref name="a"/>) into MR-row micro-panels:
    /// panel r, step p holds op(A)[r·MR + 0..MR, p] contiguously.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(bool transposed, T* a, nint lda, int mc, int kc, int mr, T* destination)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            T* panel = destination + (nint)ir * kc;
            if (!transposed)
            {
                // op(A)(i, p) = a[i·lda + p]: each source row becomes one interleaved lane of the panel.
                Transposition<T>.Interleave(a + ir * lda, lda, rows, kc, mr, panel);
            }
            else
            {
                // op(A)(i, p) = a[p·lda + i]: each source row segment is one panel step.
                for (int p = 0; p < kc; p++)
                    CopyShort(a + p * lda + ir, panel + p * mr, rows);
            }
            if (rows < mr)
                ClearLanes(panel, kc, mr, rows);
        }
    }

    /// <summary>
    /// Packs op(B)[0..kc, 0..nc] into NR-column micro-panels: panel j, step p holds
    /// op(B)[p, j·NR + 0..NR] contiguously.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool transposed, T* b, nint ldb, int kc, int nc, int nr, T* destination)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int columns = Math.Min(nr, nc - jr);
            T* panel = destination + (nint)jr * kc;
            if (!transposed)
            {
                // op(B)(p, j) = b[p·ldb + j]: row segments copy straight across.
                for (int p = 0; p < kc; p++)
                    CopyShort(b + p * ldb + jr, panel + p * nr, columns);
            }
            else
            {
                // op(B)(p, j) = b[j·ldb + p]: each source row becomes one interleaved lane of the panel.
                Transposition<T>.Interleave(b + jr * ldb, ldb, columns, kc, nr, panel);
            }
            if (columns < nr)
                ClearLanes(panel, kc, nr, columns);
        }
    }

    /// <summary>Copies one panel row (at most a few registers wide) inline: a Span.CopyTo call per
    /// 32-element row cost more than the copy itself on small products.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyShort(T* source, T* destination, int count)
    {
        int i = 0;
        for (; i <= count - Vector<T>.Count; i += Vector<T>.Count)
            Vector.Store(Vector.Load(source + i), destination + i);
        for (; i < count; i++)
            destination[i] = source[i];
    }

    /// <summary>Zeroes lanes [valid, width) of every step of a partial micro-panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ClearLanes(T* panel, int steps, int width, int valid)
    {
        for (int p = 0; p < steps; p++)
        {
            T* row = panel + p * width;
            for (int lane = valid; lane < width; lane++)
                row[lane] = T.Zero;
        }
    }
}
