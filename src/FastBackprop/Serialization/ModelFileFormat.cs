namespace FastBackprop;

/// <summary>
/// The fixed part of a model file (docs/MODEL_FORMAT.md), named once: the header's fields, then one record per layer.
/// Everything after the records is variable (the parameter count, the parameter or int8 block, the optional blocks, the
/// SHA-256). The reader, the writer's size plan and the fuzzer's targeted edits use these names.
/// </summary>
internal static class ModelFileFormat
{
    /// <summary>Header: "FBPMODEL", u32 format version, u8 element size (4 or 8), u8 flags, u16 reserved (0), i32 input
    /// size, i32 layer count.</summary>
    public const int MagicOffset = 0, VersionOffset = 8, ElementOffset = 12, FlagsOffset = 13, ReservedOffset = 14,
        InputSizeOffset = 16, LayerCountOffset = 20, HeaderBytes = 24;

    /// <summary>A layer record: i32 units, u8 activation, u8 kind (<see cref="ModelFile.Int8DenseKind"/> for an int8
    /// dense layer), u16 reserved (0), f64 the kind's value (<see cref="LayerType.RecordValue"/>).</summary>
    public const int RecordUnits = 0, RecordActivation = 4, RecordKind = 5, RecordReserved = 6, RecordValue = 8, LayerRecordBytes = 16;

    /// <summary>The i64 parameter count after the records.</summary>
    public const int ParameterCountBytes = 8;

    /// <summary>Where layer <paramref name="layer"/>'s record starts.</summary>
    public static int LayerOffset(int layer) => HeaderBytes + LayerRecordBytes * layer;

    /// <summary>Where the parameter count stands, after the records of <paramref name="layers"/> layers.</summary>
    public static long ParameterCountOffset(long layers) => HeaderBytes + LayerRecordBytes * layers;
}
