using System.Numerics;

namespace FastBackprop;

/// <summary>
/// Scratch memory for <see cref="Network{T}.Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/>, for batches
/// up to <see cref="Capacity"/>: the activations of the hidden layers that write one (dense, layer normalisation), alternating between two buffers of the widest
/// of them (one buffer when there is one such layer, none when there is none). Dropout is the identity at inference and
/// needs no buffer, the input is the caller's and the last layer writes the caller's outputs, so the memory does not
/// grow with the depth. Create one per thread with <see cref="Network{T}.CreateInferenceWorkspace(int)"/>; a workspace
/// must not be used by two calls at once.
/// </summary>
public sealed class InferenceWorkspace<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[][] buffers;

    internal InferenceWorkspace(ParameterLayout layout, int capacity)
    {
        Layout = layout;
        Capacity = capacity;
        int writers = 0, widest = 0;
        // Hidden layer l writes Sizes[l + 1] values per row; the last layer (l = Sizes.Length − 2) writes the caller's outputs.
        for (int l = 0; l < layout.Sizes.Length - 2; l++)
        {
            if (!LayerType.Of(layout.Kind(l))!.WritesAtInference)
                continue;
            writers++;
            widest = Math.Max(widest, layout.Sizes[l + 1]);
        }
        buffers = new T[Math.Min(writers, 2)][];
        for (int i = 0; i < buffers.Length; i++)
            buffers[i] = new T[checked(capacity * widest)];
    }

    internal ParameterLayout Layout { get; }

    /// <summary>The largest batch this workspace serves.</summary>
    public int Capacity { get; }

    /// <summary>Buffer <paramref name="which"/> (0 or 1, the hidden layers that write taking turns).</summary>
    internal Span<T> Buffer(int which, int length) => buffers[which].AsSpan(0, length);
}
