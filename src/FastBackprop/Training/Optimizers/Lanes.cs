using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FastBackprop.Hardware;

namespace FastBackprop;

/// <summary>
/// One register of <typeparamref name="T"/> lanes with the arithmetic the optimizers need, so an update is
/// written once (generic over <typeparamref name="TSelf"/>) and the JIT specialises it for Vector512,
/// Vector256, Vector128 and a one-lane scalar. The scalar instantiation runs the tail of the same sweep with
/// the same operations in the same order (no fused multiply-add anywhere), so every element gets the same
/// bits whichever path updates it.
/// </summary>
internal interface ILanes<TSelf, T>
    where TSelf : struct, ILanes<TSelf, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Whether the optimizers sweep with this width: the width the <see cref="KernelConfiguration"/> chose.</summary>
    static abstract bool IsAccelerated { get; }
    static abstract int Count { get; }
    static abstract TSelf Load(ref T source, nuint offset);
    static abstract void Store(TSelf value, ref T destination, nuint offset);
    static abstract TSelf Create(T value);
    static abstract TSelf Sqrt(TSelf x);
    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);
}

internal readonly struct Lanes512<T>(Vector512<T> value) : ILanes<Lanes512<T>, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector512<T> v = value;
    public static bool IsAccelerated => KernelConfiguration.Active.InstructionSet == InstructionSet.Avx512 && Vector512<T>.IsSupported;
    public static int Count => Vector512<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> Load(ref T source, nuint offset) => new(Vector512.LoadUnsafe(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes512<T> value, ref T destination, nuint offset) => value.v.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> Create(T value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> Sqrt(Lanes512<T> x) => new(Vector512.Sqrt(x.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> operator +(Lanes512<T> a, Lanes512<T> b) => new(a.v + b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> operator -(Lanes512<T> a, Lanes512<T> b) => new(a.v - b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> operator *(Lanes512<T> a, Lanes512<T> b) => new(a.v * b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512<T> operator /(Lanes512<T> a, Lanes512<T> b) => new(a.v / b.v);
}

internal readonly struct Lanes256<T>(Vector256<T> value) : ILanes<Lanes256<T>, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector256<T> v = value;
    public static bool IsAccelerated => KernelConfiguration.Active.InstructionSet == InstructionSet.Avx2 && Vector256<T>.IsSupported;
    public static int Count => Vector256<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> Load(ref T source, nuint offset) => new(Vector256.LoadUnsafe(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes256<T> value, ref T destination, nuint offset) => value.v.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> Create(T value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> Sqrt(Lanes256<T> x) => new(Vector256.Sqrt(x.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> operator +(Lanes256<T> a, Lanes256<T> b) => new(a.v + b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> operator -(Lanes256<T> a, Lanes256<T> b) => new(a.v - b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> operator *(Lanes256<T> a, Lanes256<T> b) => new(a.v * b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256<T> operator /(Lanes256<T> a, Lanes256<T> b) => new(a.v / b.v);
}

internal readonly struct Lanes128<T>(Vector128<T> value) : ILanes<Lanes128<T>, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Vector128<T> v = value;
    public static bool IsAccelerated => KernelConfiguration.Active.InstructionSet == InstructionSet.Vector128 && Vector128<T>.IsSupported;
    public static int Count => Vector128<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128<T> Load(ref T source, nuint offset) => new(Vector128.LoadUnsafe(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes128<T> value, ref T destination, nuint offset) => value.v.StoreUnsafe(ref destination, offset);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128<T> Create(T value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128<T> Sqrt(Lanes128<T> x) => new(Vector128.Sqrt(x.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128<T> operator +(Lanes128<T> a, Lanes128<T> b) => new(a.v + b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128<T> operator -(Lanes128<T> a, Lanes128<T> b) => new(a.v - b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128<T> operator *(Lanes128<T> a, Lanes128<T> b) => new(a.v * b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128<T> operator /(Lanes128<T> a, Lanes128<T> b) => new(a.v / b.v);
}

/// <summary>One lane: the scalar tail (and the whole sweep where no vector width is accelerated).</summary>
internal readonly struct Scalar<T>(T value) : ILanes<Scalar<T>, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T v = value;
    public static bool IsAccelerated => true;
    public static int Count => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar<T> Load(ref T source, nuint offset) => new(Unsafe.Add(ref source, offset));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Scalar<T> value, ref T destination, nuint offset) => Unsafe.Add(ref destination, offset) = value.v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar<T> Create(T value) => new(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar<T> Sqrt(Scalar<T> x) => new(T.Sqrt(x.v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar<T> operator +(Scalar<T> a, Scalar<T> b) => new(a.v + b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar<T> operator -(Scalar<T> a, Scalar<T> b) => new(a.v - b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar<T> operator *(Scalar<T> a, Scalar<T> b) => new(a.v * b.v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar<T> operator /(Scalar<T> a, Scalar<T> b) => new(a.v / b.v);
}
