namespace FastBackprop.Primitives;

/// <summary>Whether a GEMM operand is used as stored or transposed (BLAS <c>op(X)</c>).</summary>
public enum Transpose
{
    /// <summary>op(X) = X.</summary>
    No,
    /// <summary>op(X) = Xᵀ.</summary>
    Yes,
}
