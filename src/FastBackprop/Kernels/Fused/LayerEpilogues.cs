using System.Runtime.CompilerServices;
using System.Numerics;
using FastBackprop.Kernels.Elementwise;
using FastBackprop.Kernels.Gemm;
using FastBackprop.Kernels.Simd;

namespace FastBackprop.Kernels.Fused;

/// <summary>Forward epilogue: <c>A = g(Z + b)</c> on each register of the finished tile, so A_l is written
/// once and Z never exists in memory. <typeparamref name="TActivation"/> is a forward operator (z, z) → g(z).</summary>
internal readonly unsafe struct BiasActivationEpilogue<T, TActivation>(T* bias, TActivation activation) : IGemmEpilogue<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TActivation : struct, IBinaryOperator<T>
{
    public static bool Active => true;
    public static bool InRegisters => TActivation.FitsInRegisters;
    public static bool SumsColumns => false;
    public int RowGroup => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* OperandRow(int row) => bias;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* PartialSums(int group) => null;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]

    public TVec Transform<TSimd, TVec>(TVec value, TVec operand) where TSimd : ISimd<T, TVec> where TVec : unmanaged
    {
        TVec z = TSimd.Add(value, operand);
        return activation.Invoke<TSimd, TVec>(z, z);
    }
}

/// <summary>
/// Backward epilogue, the Hadamard δ step: <c>Δ_l = (Δ_{l+1}·W_{l+1}) ⊙ g'(A_l)</c>, the derivative read from
/// the stored activations at the tile's own rows and columns. With <typeparamref name="TBiasGradient"/> on,
/// it also sums the finished Δ over each row group into a partial-sums buffer (⌈batch/RowGroup⌉ × units):
/// the bias gradient then costs one short reduction instead of another pass over Δ, and since the groups
/// follow the tiles, not the threads, the result does not depend on the thread count.
/// </summary>
internal readonly unsafe struct DerivativeEpilogue<T, TDerivative, TBiasGradient>(
    T* activations, nint ldActivations, TDerivative derivative, T* partialSums, nint ldPartialSums, int rowGroup) : IGemmEpilogue<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TDerivative : struct, IBinaryOperator<T>
    where TBiasGradient : struct, ISwitch
{
    public static bool Active => true;
    public static bool InRegisters => TDerivative.FitsInRegisters;
    public static bool SumsColumns => TBiasGradient.On;
    public int RowGroup => rowGroup;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* OperandRow(int row) => activations + row * ldActivations;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* PartialSums(int group) => partialSums + group * ldPartialSums;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]

    public TVec Transform<TSimd, TVec>(TVec value, TVec operand) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => derivative.Invoke<TSimd, TVec>(value, operand);
}
