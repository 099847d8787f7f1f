using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// The packing step that transposes: <c>destination[p·width + q] = source[q·ld + p]</c> for
/// q &lt; count, p &lt; length — count source rows become interleaved lanes of a
/// micro-panel width wide. Done in tiles of <see cref="BlockLength"/> steps so the
/// strided writes stay in a few L1 lines, and with 4×4 (float) / 2×2 (double) register transposes
/// where SSE exists, instead of one scalar store per element.
/// </summary>
internal static unsafe class Transposition<T> where T : unmanaged
{
    /// <summary>Steps of p per tile: 16 floats = one cache line of each source row.</summary>
    private const int BlockLength = 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Interleave(T* source, nint ld, int count, int length, int width, T* destination)
    {
        for (int p0 = 0; p0 < length; p0 += BlockLength)
        {
            int steps = Math.Min(BlockLength, length - p0);
            int q = 0;
            if (Sse.IsSupported && typeof(T) == typeof(float) && steps == BlockLength)
            {
                for (; q <= count - 4; q += 4)
                    for (int p = p0; p < p0 + BlockLength; p += 4)
                        Transpose4x4((float*)source + q * ld + p, ld, (float*)destination + p * width + q, width);
            }
            else if (Sse2.IsSupported && typeof(T) == typeof(double) && steps == BlockLength)
            {
                for (; q <= count - 2; q += 2)
                    for (int p = p0; p < p0 + BlockLength; p += 2)
                        Transpose2x2((double*)source + q * ld + p, ld, (double*)destination + p * width + q, width);
            }
            for (; q < count; q++)
            {
                T* row = source + q * ld;
                for (int p = p0; p < p0 + steps; p++)
                    destination[p * width + q] = row[p];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(float* source, nint ld, float* destination, nint width)
    {
        Vector128<float> r0 = Sse.LoadVector128(source);
        Vector128<float> r1 = Sse.LoadVector128(source + ld);
        Vector128<float> r2 = Sse.LoadVector128(source + 2 * ld);
        Vector128<float> r3 = Sse.LoadVector128(source + 3 * ld);
        Vector128<float> t0 = Sse.UnpackLow(r0, r1);   // a0 b0 a1 b1
        Vector128<float> t1 = Sse.UnpackLow(r2, r3);   // c0 d0 c1 d1
        Vector128<float> t2 = Sse.UnpackHigh(r0, r1);  // a2 b2 a3 b3
        Vector128<float> t3 = Sse.UnpackHigh(r2, r3);  // c2 d2 c3 d3
        Sse.Store(destination, Sse.MoveLowToHigh(t0, t1));
        Sse.Store(destination + width, Sse.MoveHighToLow(t1, t0));
        Sse.Store(destination + 2 * width, Sse.MoveLowToHigh(t2, t3));
        Sse.Store(destination + 3 * width, Sse.MoveHighToLow(t3, t2));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose2x2(double* source, nint ld, double* destination, nint width)
    {
        Vector128<double> r0 = Sse2.LoadVector128(source);
        Vector128<double> r1 = Sse2.LoadVector128(source + ld);
        Sse2.Store(destination, Sse2.UnpackLow(r0, r1));
        Sse2.Store(destination + width, Sse2.UnpackHigh(r0, r1));
    }
}
