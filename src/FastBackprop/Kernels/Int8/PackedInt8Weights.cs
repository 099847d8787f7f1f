using System.Runtime.CompilerServices;

namespace FastBackprop.Kernels.Int8;

/// <summary>
/// A layer's int8 weight codes (units×inputs, row-major) packed once in the order one <see cref="Int8Path"/> reads them:
/// panels of <see cref="PanelWidth"/> output columns (four registers of <see cref="Int8Gemm.Columns"/>, the last panel
/// zero-padded), each holding, for every group of four inputs k = 4g..4g+3, the panel's columns side by side with their
/// four codes adjacent: byte (p, g, c, t) = q[p·NR + c, 4g + t] at ((p·G + g)·NR + c)·4 + t, G = ⌈K/4⌉ (inputs past K are
/// zero). So one step of the tile kernel reads NR·4 contiguous bytes (four registers) and multiplies each by the same
/// broadcast four activation codes: the operand order of vpdpbusd, vpmaddubsw + vpmaddwd and SDOT alike.
/// Immutable once built; pinned, since the kernels read it through pointers.
/// </summary>
internal sealed unsafe class PackedInt8Weights
{
    private readonly sbyte[] storage;

    public PackedInt8Weights(ReadOnlySpan<sbyte> codes, int units, int inputs, Int8Path path)
    {
        Path = path;
        Units = units;
        Inputs = inputs;
        PanelWidth = Int8Gemm.PanelWidth(path);
        Groups = Int8Scheme.PaddedDepth(inputs) / 4;
        Panels = (units + PanelWidth - 1) / PanelWidth;
        storage = GC.AllocateArray<sbyte>(checked(Panels * Groups * PanelWidth * 4), pinned: true);
        for (int j = 0; j < units; j++)
        {
            int panel = j / PanelWidth, column = j % PanelWidth;
            ReadOnlySpan<sbyte> row = codes.Slice(j * inputs, inputs);
            for (int k = 0; k < inputs; k++)
                storage[((panel * Groups + k / 4) * PanelWidth + column) * 4 + k % 4] = row[k];
        }
    }

    public Int8Path Path { get; }
    public int Units { get; }
    public int Inputs { get; }

    /// <summary>Output columns per panel (NR).</summary>
    public int PanelWidth { get; }

    /// <summary>Groups of four inputs (G).</summary>
    public int Groups { get; }

    public int Panels { get; }

    /// <summary>Panel <paramref name="panel"/>'s first byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public sbyte* Panel(int panel) => (sbyte*)Unsafe.AsPointer(ref storage[0]) + (nint)panel * Groups * PanelWidth * 4;
}
