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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* OperandRow(int row) => bias;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Transform<TSimd, TVec>(TVec value, TVec operand) where TSimd : ISimd<T, TVec> where TVec : unmanaged
    {
        TVec z = TSimd.Add(value, operand);
        return activation.Invoke<TSimd, TVec>(z, z);
    }
}

/// <summary>
/// Backward epilogue, the Hadamard δ step: <c>Δ_l = (Δ_{l+1}·W_{l+1}) ⊙ g'(A_l)</c>, the derivative read from
/// the stored activations at the tile's own rows and columns. (The bias gradient, Δ's column sums, is not summed here:
/// tiles cover MR rows, which differ between instruction sets, and a sum must not; it is one pass over Δ in row order.)
/// </summary>
internal readonly unsafe struct DerivativeEpilogue<T, TDerivative>(T* activations, nint ldActivations, TDerivative derivative) : IGemmEpilogue<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TDerivative : struct, IBinaryOperator<T>
{
    public static bool Active => true;
    public static bool InRegisters => TDerivative.FitsInRegisters;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T* OperandRow(int row) => activations + row * ldActivations;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TVec Transform<TSimd, TVec>(TVec value, TVec operand) where TSimd : ISimd<T, TVec> where TVec : unmanaged
        => derivative.Invoke<TSimd, TVec>(value, operand);
}
