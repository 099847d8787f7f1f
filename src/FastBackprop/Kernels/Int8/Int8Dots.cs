using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FastBackprop.Kernels.Int8;

/// <summary>
/// One int8 multiply instruction seen by the tile kernel (<see cref="Int8Gemm"/>): a register holds
/// <see cref="Columns"/> int32 accumulators, one per output column, and one step adds, into each, the dot product of four
/// activation codes (the same four for every column, broadcast) with that column's four weight codes, which lie side by
/// side in the packed panel. Structs with static members, so the kernel is specialised per instruction and inlined.
/// </summary>
internal unsafe interface IInt8Dot<TAcc, TReg> where TAcc : unmanaged where TReg : unmanaged
{
    /// <summary>int32 accumulators (output columns) per register.</summary>
    static abstract int Columns { get; }

    /// <summary>Rows of a register tile: what fits the register file beside 4 accumulators per row, the broadcast codes of
    /// every row, a weight register and the instruction's temporaries.</summary>
    static abstract int MaxRows { get; }

    static abstract TAcc Zero { get; }

    /// <summary><see cref="Columns"/>×4 weight codes.</summary>
    static abstract TReg LoadWeights(sbyte* source);

    /// <summary>Four activation codes repeated in every 32-bit lane.</summary>
    static abstract TReg Broadcast(byte* source);

    /// <summary>acc[c] += Σ_{t&lt;4} x[t]·w[4c + t], exactly.</summary>
    static abstract TAcc Accumulate(TAcc acc, TReg x, TReg w);

    /// <summary>Lane-wise sum of two sets of accumulators (exact).</summary>
    static abstract TAcc Add(TAcc a, TAcc b);

    /// <summary>Stores the <see cref="Columns"/> accumulators.</summary>
    static abstract void Store(TAcc acc, int* destination);
}

/// <summary>AVX-VNNI vpdpbusd: u8×s8, four products into each int32 lane, not saturating.</summary>
internal unsafe struct VnniDot : IInt8Dot<Vector256<int>, Vector256<byte>>
{
    public static int Columns => 8;
    public static int MaxRows => 3;   // 12 accumulators + 3 broadcasts + 1 weight register = 16
    public static Vector256<int> Zero => Vector256<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<byte> LoadWeights(sbyte* source) => Vector256.Load((byte*)source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<byte> Broadcast(byte* source) => Vector256.Create(*(uint*)source).AsByte();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Accumulate(Vector256<int> acc, Vector256<byte> x, Vector256<byte> w) => AvxVnni.MultiplyWideningAndAdd(acc, x, w.AsSByte());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> Add(Vector256<int> a, Vector256<int> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<int> acc, int* destination) => acc.Store(destination);
}

/// <summary>AVX2 vpmaddubsw (u7×s8 pairs into int16: at most 32,258, never saturating) + vpmaddwd with ones (pairs into
/// int32) + vpaddd.</summary>
internal unsafe struct Avx2Dot : IInt8Dot<Vector256<int>, Vector256<byte>>
{
    public static int Columns => 8;
    public static int MaxRows => 2;   // 8 accumulators + 2 broadcasts + weight + ones + 2 temporaries
    public static Vector256<int> Zero => Vector256<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<byte> LoadWeights(sbyte* source) => Vector256.Load((byte*)source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<byte> Broadcast(byte* source) => Vector256.Create(*(uint*)source).AsByte();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Accumulate(Vector256<int> acc, Vector256<byte> x, Vector256<byte> w)
        => Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w.AsSByte()), Vector256<short>.One));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<int> Add(Vector256<int> a, Vector256<int> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<int> acc, int* destination) => acc.Store(destination);
}

/// <summary>The AVX2 sequence on 512-bit registers (AVX-512BW), 32 registers.</summary>
internal unsafe struct Avx512Dot : IInt8Dot<Vector512<int>, Vector512<byte>>
{
    public static int Columns => 16;
    public static int MaxRows => 4;   // 16 accumulators + 4 broadcasts + weight + ones + temporaries, of 32
    public static Vector512<int> Zero => Vector512<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<byte> LoadWeights(sbyte* source) => Vector512.Load((byte*)source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<byte> Broadcast(byte* source) => Vector512.Create(*(uint*)source).AsByte();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Accumulate(Vector512<int> acc, Vector512<byte> x, Vector512<byte> w)
        => Avx512F.Add(acc, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x, w.AsSByte()), Vector512<short>.One));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<int> Add(Vector512<int> a, Vector512<int> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<int> acc, int* destination) => acc.Store(destination);
}

/// <summary>Arm64 SDOT: s8×s8, four products into each int32 lane (the 7-bit activation codes are valid signed bytes).</summary>
internal unsafe struct ArmDot : IInt8Dot<Vector128<int>, Vector128<byte>>
{
    public static int Columns => 4;
    public static int MaxRows => 4;   // 16 accumulators of 32 registers
    public static Vector128<int> Zero => Vector128<int>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<byte> LoadWeights(sbyte* source) => Vector128.Load((byte*)source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<byte> Broadcast(byte* source) => Vector128.Create(*(uint*)source).AsByte();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Accumulate(Vector128<int> acc, Vector128<byte> x, Vector128<byte> w) => Dp.DotProduct(acc, x.AsSByte(), w.AsSByte());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<int> Add(Vector128<int> a, Vector128<int> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<int> acc, int* destination) => acc.Store(destination);
}

/// <summary>Two registers of int32 partial sums for four columns: (c0 k0+k1, c0 k2+k3, c1 k0+k1, c1 k2+k3) and the same
/// for c2, c3; <see cref="PortableDot.Store"/> adds the halves.</summary>
internal readonly record struct PairSums(Vector128<int> Low, Vector128<int> High);

/// <summary>Portable Vector128 (any host): codes widened to int16, multiplied (|u·q| ≤ 16,129), adjacent int16 products
/// added into int32 with two arithmetic shifts (vpmaddwd written portably).</summary>
internal unsafe struct PortableDot : IInt8Dot<PairSums, Vector128<byte>>
{
    public static int Columns => 4;
    public static int MaxRows => 2;   // 2 rows × 4 accumulator pairs = 16 registers
    public static PairSums Zero => default;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<byte> LoadWeights(sbyte* source) => Vector128.Load((byte*)source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<byte> Broadcast(byte* source) => Vector128.Create(*(uint*)source).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PairSums Accumulate(PairSums acc, Vector128<byte> x, Vector128<byte> w)
    {
        Vector128<short> codes = Vector128.WidenLower(x).AsInt16();   // x0..x3 twice
        Vector128<short> low = codes * Vector128.WidenLower(w.AsSByte()), high = codes * Vector128.WidenUpper(w.AsSByte());
        return new(acc.Low + AddPairs(low.AsInt32()), acc.High + AddPairs(high.AsInt32()));
    }

    /// <summary>Each int32 lane holds two int16 products (little-endian: low half first); their sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> AddPairs(Vector128<int> v)
        => Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(v, 16), 16) + Vector128.ShiftRightArithmetic(v, 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PairSums Add(PairSums a, PairSums b) => new(a.Low + b.Low, a.High + b.High);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(PairSums acc, int* destination)
    {
        destination[0] = acc.Low.GetElement(0) + acc.Low.GetElement(1);
        destination[1] = acc.Low.GetElement(2) + acc.Low.GetElement(3);
        destination[2] = acc.High.GetElement(0) + acc.High.GetElement(1);
        destination[3] = acc.High.GetElement(2) + acc.High.GetElement(3);
    }
}
