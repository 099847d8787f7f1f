using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastBackprop.Kernels.Simd;

/// <summary>
/// One lane, so a sweep written against <see cref="ISimd{T, TVec}"/> runs its ragged tail (and all of it for element types
/// no register holds, such as Half) with the operations of its vector body. Add, Subtract, Multiply, Divide and Sqrt each
/// round once as IEEE 754 requires, so they give the bits every vector width gives (Max, Abs, CopySign and the selects
/// do not round at all). Two members do not: <see cref="MultiplyAdd"/> is a multiply then an add (two roundings) where the vector
/// widths fuse them (one rounding) on hardware with FMA, and <see cref="Exp"/> is the runtime's scalar e^x rather than
/// <see cref="FloatExp"/>. A sweep whose tail must match its body bit for bit (the optimizers) uses neither.
/// </summary>
internal unsafe struct SimdScalar<T> : ISimd<T, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Count => 1;
    public static T Zero => T.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Load(T* source) => *source;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T* destination, T value) => *destination = value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Broadcast(T value) => value;
    /// <summary>a·b + c unfused: a multiply and an add, each rounded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T MultiplyAdd(T a, T b, T c) => a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Multiply(T a, T b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Add(T a, T b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Subtract(T a, T b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SelectWherePositive(T condition, T whenPositive, T otherwise) => condition > T.Zero ? whenPositive : otherwise;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T SelectWhereLess(T left, T right, T whenLess, T otherwise) => left < right ? whenLess : otherwise;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Divide(T a, T b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sqrt(T x) => T.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Max(T a, T b) => T.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Abs(T a) => T.Abs(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T CopySign(T magnitude, T sign) => T.CopySign(magnitude, sign);
    /// <summary>The runtime's scalar e^x: within about 1 ulp like the vector widths', but not their bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Exp(T x) => T.Exp(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(T x) => x;
    /// <summary>x in lane 0 and zeros above, so summing the lanes gives x back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> FoldTo128(T x) => Vector128.CreateScalar(x);
}
