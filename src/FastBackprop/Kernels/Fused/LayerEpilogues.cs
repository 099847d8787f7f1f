using System.Numerics;
using System.Numerics.Tensors;
using FastBackprop.Kernels.Elementwise;
using FastBackprop.Kernels.Gemm;

namespace FastBackprop.Kernels.Fused;

/// <summary>Forward epilogue: Z + bias, then g, on each finished tile while it is in L1
/// (one pass over A_l instead of three). A null bias adds nothing; Identity applies nothing.</summary>
internal unsafe struct BiasActivationEpilogue<T>(T* bias, Activation activation) : IGemmEpilogue<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public readonly void Apply(T* c, nint ldc, int row, int column, int rows, int columns)
    {
        for (int i = 0; i < rows; i++)
        {
            var values = new Span<T>(c + i * ldc, columns);
            if (bias != null)
                TensorPrimitives.Add<T>(values, new ReadOnlySpan<T>(bias + column, columns), values);
            ActivationKernels<T>.ApplyInPlace(activation, values);
        }
    }
}

/// <summary>Backward epilogue, the Hadamard δ step: Δ_l = (Δ_{l+1}·W_{l+1}) ⊙ g'(A_l), multiplying each
/// finished tile by the derivative read from the stored activations of the same rows and columns.</summary>
internal unsafe struct DerivativeEpilogue<T>(T* activations, nint ldActivations, Activation activation) : IGemmEpilogue<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public readonly void Apply(T* c, nint ldc, int row, int column, int rows, int columns)
    {
        for (int i = 0; i < rows; i++)
        {
            var delta = new Span<T>(c + i * ldc, columns);
            var a = new ReadOnlySpan<T>(activations + (row + i) * ldActivations + column, columns);
            ActivationKernels<T>.MultiplyByDerivative(activation, delta, a);
        }
    }
}
