namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// Work fused into GEMM: called once for every finished tile of C (after the last K block), while
/// the tile is still hot in L1, with the tile's position in C. Implemented by structs so the driver,
/// generic over the epilogue, is specialised and the call inlined (no virtual dispatch).
/// </summary>
internal unsafe interface IGemmEpilogue<T> where T : unmanaged
{
    void Apply(T* c, nint ldc, int row, int column, int rows, int columns);
}

/// <summary>Plain GEMM: nothing after the product.</summary>
internal struct NoEpilogue<T> : IGemmEpilogue<T> where T : unmanaged
{
    public readonly unsafe void Apply(T* c, nint ldc, int row, int column, int rows, int columns) { }
}
