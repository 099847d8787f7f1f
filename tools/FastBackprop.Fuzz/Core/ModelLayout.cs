using System.Buffers.Binary;
using System.Security.Cryptography;

namespace FastBackprop.Fuzz;

/// <summary>
/// Byte offsets of the fields of a valid model file (docs/MODEL_FORMAT.md), read from the file itself so edits can
/// target a field and then re-sign the file: the trailing SHA-256 guards against accidents, not edits, so only a
/// re-signed edit reaches the loader's field checks.
/// </summary>
public sealed class ModelLayout
{
    // The fixed offsets are the library's (ModelFileFormat); this class finds the variable ones in a given file.
    public const int ElementOffset = ModelFileFormat.ElementOffset, FlagsOffset = ModelFileFormat.FlagsOffset, ReservedOffset = ModelFileFormat.ReservedOffset,
        InputSizeOffset = ModelFileFormat.InputSizeOffset, LayerCountOffset = ModelFileFormat.LayerCountOffset, LayersOffset = ModelFileFormat.HeaderBytes;

    public ModelLayout(byte[] file)
    {
        Element = file[ElementOffset];
        byte flags = file[FlagsOffset];
        LayerCount = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(LayerCountOffset));
        ParameterCountOffset = (int)ModelFileFormat.ParameterCountOffset(LayerCount);
        ParameterCount = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(ParameterCountOffset));
        ParametersOffset = ParameterCountOffset + ModelFileFormat.ParameterCountBytes;
        int at = ParametersOffset + (int)ParameterCount * Element;
        if (Enumerable.Range(0, LayerCount).Any(l => file[LayerOffset(l) + ModelFileFormat.RecordKind] == Int8DenseKind))
        {
            Int8CountOffset = at;
            at += 8;
            int inputs = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(InputSizeOffset));
            for (int l = 0; l < LayerCount; l++)
            {
                int units = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(LayerOffset(l)));
                if (file[LayerOffset(l) + ModelFileFormat.RecordKind] == Int8DenseKind)
                {
                    Int8Layers.Add(new Int8Layer(l, units, inputs, at, at + 4 * units));
                    at += (4 + inputs) * units;
                }
                inputs = units;
            }
        }
        if ((flags & 1) != 0)
        {
            StandardizationOffset = at;
            Features = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at));
            at += 4 + 2 * Features * Element;
        }
        if ((flags & 2) != 0)
        {
            LabelsOffset = at;
            int count = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at));
            at += 4;
            for (int i = 0; i < count; i++)
            {
                LabelOffsets.Add(at);
                at += 4 + BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at));
            }
        }
        if ((flags & 4) != 0)
            LossOffset = at;
    }

    /// <summary>The layer kind byte of an int8 dense layer (format version 4), as the library defines it.</summary>
    public const byte Int8DenseKind = ModelFile.Int8DenseKind;

    /// <summary>An int8 dense layer's place in the int8 block: its per-unit float32 scales, then units×inputs int8 codes.</summary>
    public sealed record Int8Layer(int Layer, int Units, int Inputs, int ScalesOffset, int CodesOffset);

    /// <summary>The int8 block's weight count (i64), or −1 when no layer is int8.</summary>
    public int Int8CountOffset { get; } = -1;

    /// <summary>The int8 layers, in order.</summary>
    public List<Int8Layer> Int8Layers { get; } = [];

    /// <summary>4 (float32) or 8 (float64).</summary>
    public int Element { get; }
    public int LayerCount { get; }
    public int ParameterCountOffset { get; }
    public long ParameterCount { get; }
    public int ParametersOffset { get; }
    /// <summary>The standardisation block (feature count, means, scales), or −1.</summary>
    public int StandardizationOffset { get; } = -1;
    public int Features { get; }
    /// <summary>The label block (count, then length + bytes per label), or −1.</summary>
    public int LabelsOffset { get; } = -1;
    /// <summary>Where each label's length field is.</summary>
    public List<int> LabelOffsets { get; } = [];
    /// <summary>The loss kind and reduction bytes, or −1.</summary>
    public int LossOffset { get; } = -1;

    public static int LayerOffset(int layer) => ModelFileFormat.LayerOffset(layer);
    public int MeanOffset(int feature) => StandardizationOffset + 4 + feature * Element;
    public int ScaleOffset(int feature) => StandardizationOffset + 4 + (Features + feature) * Element;
    public int ParameterOffset(long index) => ParametersOffset + (int)index * Element;

    /// <summary>Writes a value as the file's element type.</summary>
    public void WriteValue(byte[] file, int offset, double value)
    {
        if (Element == 4)
            BinaryPrimitives.WriteSingleLittleEndian(file.AsSpan(offset), (float)value);
        else
            BinaryPrimitives.WriteDoubleLittleEndian(file.AsSpan(offset), value);
    }

    /// <summary>Recomputes the trailing SHA-256 over everything before it, so the edited file passes the checksum.</summary>
    public static byte[] Resign(byte[] file)
    {
        if (file.Length >= 32)
            SHA256.HashData(file.AsSpan(0, file.Length - 32), file.AsSpan(file.Length - 32));
        return file;
    }
}
