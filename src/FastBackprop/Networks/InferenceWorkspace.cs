using System.Numerics;

namespace FastBackprop;

/// <summary>
/// Scratch memory for <see cref="Network{T}.Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/>: two
/// buffers the hidden layers' activations alternate between, for batches up to <see cref="Capacity"/>.
/// Create one per thread with <see cref="Network{T}.CreateInferenceWorkspace(int)"/>; a workspace must not
/// be used by two calls at once.
/// </summary>
public sealed class InferenceWorkspace<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[][] buffers;

    internal InferenceWorkspace(ParameterLayout layout, int capacity)
    {
        Layout = layout;
        Capacity = capacity;
        int widest = 1;
        for (int l = 1; l < layout.Sizes.Length - 1; l++)
            widest = Math.Max(widest, layout.Sizes[l]);
        buffers = [new T[checked(capacity * widest)], new T[checked(capacity * widest)]];
    }

    internal ParameterLayout Layout { get; }

    /// <summary>The largest batch this workspace serves.</summary>
    public int Capacity { get; }

    internal Span<T> Buffer(int which, int length) => buffers[which].AsSpan(0, length);
}
