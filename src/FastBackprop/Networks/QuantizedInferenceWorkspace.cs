using FastBackprop.Kernels.Int8;

namespace FastBackprop;

/// <summary>
/// Scratch memory for <see cref="QuantizedNetwork.Predict"/> on batches of up to <see cref="Capacity"/> rows: the
/// activation codes of the int8 layers and each row's scale, alternating between two buffers; fp32 activations where a
/// layer is kept in fp32; and, per thread of a product, the int32 accumulators of a block of up to 64 rows and one row of
/// floats. Create one per thread with <see cref="QuantizedNetwork.CreateInferenceWorkspace"/>; a workspace must not be used
/// by two calls at once.
/// </summary>
public sealed class QuantizedInferenceWorkspace
{
    /// <summary>Accumulator columns are padded to whole panels of the widest path (4 registers of 16 int32).</summary>
    private const int WidestPanel = 64;

    private readonly byte[][] codes;
    private readonly float[][] lows, scales, floats;

    internal QuantizedInferenceWorkspace(QuantizedNetwork network, int capacity)
    {
        Network = network;
        Capacity = capacity;
        int codeWidth = 0, floatWidth = 0, units = 0;
        foreach (QuantizedNetwork.Stage stage in network.Stages)
        {
            units = Math.Max(units, stage.Units);
            if (stage.Quantized is not null)
                codeWidth = Math.Max(codeWidth, Int8Scheme.PaddedDepth(stage.Inputs));
            if (stage.WritesFloats)
                floatWidth = Math.Max(floatWidth, stage.Units);
        }
        codes = [Pinned<byte>(capacity * codeWidth), Pinned<byte>(capacity * codeWidth)];
        lows = [Pinned<float>(capacity), Pinned<float>(capacity)];
        scales = [Pinned<float>(capacity), Pinned<float>(capacity)];
        floats = [Pinned<float>(capacity * floatWidth), Pinned<float>(capacity * floatWidth)];
        Parts = Math.Clamp(Parallelism.MaxDegreeOfParallelism, 1, 64);
        AccumulatorsPerPart = Int8Gemm.MaxBlockRows * ((units + WidestPanel - 1) / WidestPanel * WidestPanel);
        RowScratchPerPart = units;
        Accumulators = Pinned<int>(checked(Parts * AccumulatorsPerPart));
        RowScratch = Pinned<float>(checked(Parts * units));
    }

    private static T[] Pinned<T>(int length) where T : unmanaged => GC.AllocateArray<T>(length, pinned: true);

    /// <summary>The largest batch this workspace serves.</summary>
    public int Capacity { get; }

    internal QuantizedNetwork Network { get; }

    /// <summary>Threads one product may use with this workspace (the thread budget when it was created).</summary>
    internal int Parts { get; }

    internal int[] Accumulators { get; }
    internal int AccumulatorsPerPart { get; }
    internal float[] RowScratch { get; }
    internal int RowScratchPerPart { get; }

    internal byte[] Codes(int which) => codes[which];
    internal float[] Lows(int which) => lows[which];
    internal float[] Scales(int which) => scales[which];
    internal float[] Floats(int which) => floats[which];
}
