using System.Runtime.CompilerServices;

namespace FastBackprop.Kernels.Gemm;

/// <summary>
/// One pinned, 64-byte aligned scratch buffer per thread for the packed panels, grown on demand and
/// then reused, so GEMM allocates nothing in steady state and threads never share packing space.
/// </summary>
internal static unsafe class PackBuffers<T> where T : unmanaged
{
    private const int Alignment = 64;

    [ThreadStatic] private static T[]? buffer;

    /// <summary>Rounds an element count up so the next region starts on a cache line.</summary>
    public static nint RoundToCacheLine(nint elements)
    {
        nint perLine = Alignment / Unsafe.SizeOf<T>();
        return (elements + perLine - 1) / perLine * perLine;
    }

    /// <summary>A cache-line aligned pointer to at least <paramref name="elements"/> elements, valid
    /// until the next call on this thread (the array lives on the pinned object heap).</summary>
    public static T* Get(nint elements)
    {
        nint needed = elements + Alignment / Unsafe.SizeOf<T>();
        T[]? current = buffer;
        if (current is null || current.Length < needed)
        {
            current = GC.AllocateUninitializedArray<T>(checked((int)needed), pinned: true);
            buffer = current;
        }
        nint address = (nint)Unsafe.AsPointer(ref current[0]);
        nint aligned = (address + Alignment - 1) & ~(nint)(Alignment - 1);
        return (T*)aligned;
    }
}
