using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FastBackprop.Hardware;

namespace FastBackprop.Kernels.Simd;

/// <summary>A piece of work written once for every register width: <see cref="VectorDispatch{T}"/> runs it with the
/// width the <see cref="KernelConfiguration"/> chose. A struct carrying its arguments, so the call is specialised and
/// inlined.</summary>
internal interface IVectorWork<T> where T : unmanaged
{
    void Run<TSimd, TVec>() where TSimd : ISimd<T, TVec> where TVec : unmanaged;
}

/// <summary>The one place that maps the configured instruction set to a register type (the GEMM driver maps it to
/// micro-kernels the same way, from the same configuration). Element types no register holds (Half) get
/// <see cref="SimdScalar{T}"/>, one lane at a time.</summary>
internal static class VectorDispatch<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TWork>(ref TWork work) where TWork : struct, IVectorWork<T>
    {
        if (!Vector128<T>.IsSupported)
        {
            work.Run<SimdScalar<T>, T>();
            return;
        }
        switch (KernelConfiguration.Active.InstructionSet)
        {
            case InstructionSet.Avx512:
                work.Run<Simd512<T>, Vector512<T>>();
                break;
            case InstructionSet.Avx2:
                work.Run<Simd256<T>, Vector256<T>>();
                break;
            default:
                work.Run<Simd128<T>, Vector128<T>>();
                break;
        }
    }
}
