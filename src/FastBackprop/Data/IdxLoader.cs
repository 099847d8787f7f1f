using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Numerics.Tensors;

namespace FastBackprop;

/// <summary>The element types of the IDX format (the third byte of the file).</summary>
public enum IdxElementType : byte
{
    /// <summary>Unsigned byte (0x08), as MNIST's pixels and labels.</summary>
    UnsignedByte = 0x08,
    /// <summary>Signed byte (0x09).</summary>
    SignedByte = 0x09,
    /// <summary>Big-endian 16-bit integer (0x0B).</summary>
    Int16 = 0x0B,
    /// <summary>Big-endian 32-bit integer (0x0C).</summary>
    Int32 = 0x0C,
    /// <summary>Big-endian IEEE float32 (0x0D).</summary>
    Float32 = 0x0D,
    /// <summary>Big-endian IEEE float64 (0x0E).</summary>
    Float64 = 0x0E,
}

/// <summary>The content of an IDX image (or any feature) file.</summary>
/// <param name="Features">Count×FeatureCount values, row-major, finite, scaled.</param>
/// <param name="Count">Items in the file (its first dimension).</param>
/// <param name="FeatureCount">Values per item (the product of the other dimensions; 1 for a one-dimensional file).</param>
/// <param name="Dimensions">All dimensions as the header gives them (e.g. 60000, 28, 28).</param>
/// <param name="ElementType">How the values are stored in the file.</param>
public sealed record IdxImages(float[] Features, int Count, int FeatureCount, int[] Dimensions, IdxElementType ElementType);

/// <summary>What an IDX file's header declares (<see cref="IdxLoader.ReadHeader(string, DataLimits?)"/>).</summary>
/// <param name="ElementType">How the values are stored.</param>
/// <param name="Dimensions">All dimensions (e.g. 60000, 28, 28).</param>
public sealed record IdxHeader(IdxElementType ElementType, int[] Dimensions)
{
    /// <summary>Items in the file (its first dimension).</summary>
    public int Count => Dimensions[0];

    /// <summary>Values per item (the product of the other dimensions; 1 for a one-dimensional file).</summary>
    public long FeatureCount => Dimensions.Skip(1).Aggregate(1L, (product, d) => product * d);
}

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST: two zero bytes, an element-type byte, a dimension-count byte,
/// the dimensions as big-endian int32, then the values, big-endian. Gzip-compressed files are recognised by their
/// magic bytes (1f 8b), not by their name. A corrupt or hostile file fails with a <see cref="DataFormatException"/>
/// naming the byte offset (in the decompressed data): wrong magic, unknown type, no or too many dimensions,
/// dimensions whose product exceeds <see cref="MaxElements"/>, fewer or more data bytes than the header promises.
/// Memory is bounded by the data actually present: a plain file's length is checked before anything is
/// allocated, and a compressed one is read into a buffer that grows only as data arrive.
/// </summary>
public static class IdxLoader
{
    /// <summary>The most values one file may hold (the largest array .NET can allocate).</summary>
    public static long MaxElements => Array.MaxLength;

    /// <summary>The most dimensions a file may declare.</summary>
    public const int MaxDimensions = 16;

    /// <summary>Loads an image file as floats.</summary>
    /// <param name="path">The IDX file, gzip-compressed or not.</param>
    /// <param name="scale">Multiplier applied to every value (finite, positive); null for the default: 1/255 for
    /// unsigned bytes (so pixels land in [0, 1]), 1 for every other type.</param>
    /// <exception cref="DataFormatException">The file is not a well-formed IDX file (the message names the offset).</exception>
    /// <param name="limits">Bounds on bytes and values; null for <see cref="DataLimits.Default"/>.</param>
    public static IdxImages LoadImages(string path, float? scale = null, DataLimits? limits = null)
    {
        using FileStream file = DataStreams.OpenRegularFile(path, nameof(path));
        return LoadImages(file, scale, path, limits);
    }

    /// <summary>Loads an image file from a stream (left open); see <see cref="LoadImages(string, float?, DataLimits?)"/>.</summary>
    /// <param name="stream">The IDX data, gzip-compressed or not.</param>
    /// <param name="scale">As for <see cref="LoadImages(string, float?, DataLimits?)"/>.</param>
    /// <param name="name">The name used in error messages; null for "&lt;stream&gt;".</param>
    /// <param name="limits">Bounds on bytes and values; null for <see cref="DataLimits.Default"/>.</param>
    public static IdxImages LoadImages(Stream stream, float? scale = null, string? name = null, DataLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (scale is float s && !(s > 0 && float.IsFinite(s)))
            throw new ArgumentOutOfRangeException(nameof(scale), s, $"scale must be positive and finite (got {s}).");
        return Read(stream, name, limits, (header, source) =>
        {
            float[] values = ReadValues<float>(source, header, name, Convert);
            float factor = scale ?? (header.Type == IdxElementType.UnsignedByte ? 1f / 255f : 1f);
            if (factor != 1f)
                TensorPrimitives.Multiply(values, factor, values);
            if (!TensorPrimitives.IsFiniteAll<float>(values))
            {
                int i = Array.FindIndex(values, v => !float.IsFinite(v));
                throw new DataFormatException(name, null, header.Size + (long)i * header.ElementSize,
                    $"value {i} is not finite as float after scaling by {factor} ({values[i]}).");
            }
            int count = header.Dimensions[0];
            return new IdxImages(values, count, (int)(header.Elements / count), header.Dimensions, header.Type);
        });
    }

    /// <summary>Reads only the header: the element type and dimensions a file declares, checked as
    /// <see cref="LoadImages(string, float?, DataLimits?)"/> checks them (against the limits, and against the length of a
    /// plain file), so that what loading will allocate is known before it is.</summary>
    /// <param name="path">The IDX file, gzip-compressed or not.</param>
    /// <param name="limits">Bounds on values; null for <see cref="DataLimits.Default"/>.</param>
    /// <exception cref="DataFormatException">The header is malformed or declares too many values.</exception>
    public static IdxHeader ReadHeader(string path, DataLimits? limits = null)
    {
        using FileStream file = DataStreams.OpenRegularFile(path, nameof(path));
        return Read(file, path, limits, (header, _) => new IdxHeader(header.Type, header.Dimensions));
    }

    /// <summary>Loads a label file (an integer type, one value per item).</summary>
    /// <exception cref="DataFormatException">The file is not a well-formed IDX file of integers.</exception>
    /// <param name="path">The IDX file, gzip-compressed or not.</param>
    /// <param name="limits">Bounds on bytes and values; null for <see cref="DataLimits.Default"/>.</param>
    public static int[] LoadLabels(string path, DataLimits? limits = null)
    {
        using FileStream file = DataStreams.OpenRegularFile(path, nameof(path));
        return LoadLabels(file, path, limits);
    }

    /// <summary>Loads a label file from a stream (left open); see <see cref="LoadLabels(string, DataLimits?)"/>.</summary>
    /// <param name="stream">The IDX data, gzip-compressed or not.</param>
    /// <param name="name">The name used in error messages; null for "&lt;stream&gt;".</param>
    /// <param name="limits">Bounds on bytes and values; null for <see cref="DataLimits.Default"/>.</param>
    public static int[] LoadLabels(Stream stream, string? name = null, DataLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return LoadLabelsWithHeader(stream, name, limits).Labels;
    }

    /// <summary>Loads images and their labels as a classification set.</summary>
    /// <param name="imagesPath">The image file.</param>
    /// <param name="labelsPath">The label file, one label per image.</param>
    /// <param name="classCount">Number of classes (at least 2); null to infer the largest label + 1, which then requires every
    /// label from 0 up to it to occur and at least two classes (as the CSV loader does). Pass it for a set that may lack some
    /// class, such as a small test set.</param>
    /// <param name="scale">As for <see cref="LoadImages(string, float?, DataLimits?)"/>.</param>
    /// <param name="limits">Bounds on bytes, values and classes; null for <see cref="DataLimits.Default"/>.</param>
    /// <exception cref="DataFormatException">A file is malformed, the counts differ, a label is outside [0, classCount), 
    /// inferred classes are fewer than two, skip a label or exceed <see cref="DataLimits.MaxClasses"/>.</exception>
    public static Dataset<float> LoadDataset(string imagesPath, string labelsPath, int? classCount = null, float? scale = null,
        DataLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        limits = (limits ?? DataLimits.Default).Validated();
        if (classCount is int c && (c < 2 || c > limits.MaxClasses))
            throw new ArgumentOutOfRangeException(nameof(classCount), c, $"classCount must be in [2, {limits.MaxClasses}] (got {c}; DataLimits.MaxClasses bounds it).");
        (int[] labels, Header labelHeader) = LoadLabelsWithHeader(labelsPath, limits);
        IdxImages images = LoadImages(imagesPath, scale, limits);
        if (labels.Length != images.Count)
            throw new DataFormatException(labelsPath, null, 4,
                $"the file holds {labels.Length} labels but {Path.GetFileName(imagesPath)} holds {images.Count} images.");
        if (classCount is null && labels.Length > 0 && labels.Max() is int largest && largest >= limits.MaxClasses)
            throw new DataFormatException(labelsPath, null, labelHeader.Size + (long)Array.IndexOf(labels, largest) * labelHeader.ElementSize,
                $"label {Array.IndexOf(labels, largest)} is {largest}, which would make {(long)largest + 1:N0} classes: {DataLimits.Raise(nameof(DataLimits.MaxClasses), "classes", limits.MaxClasses)}.");
        int classes = classCount ?? (labels.Length == 0 ? 2 : labels.Max() + 1);
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new DataFormatException(labelsPath, null, labelHeader.Size + (long)i * labelHeader.ElementSize,
                    $"label {i} is {labels[i]}, outside [0, {classes}).");
        }
        if (classCount is null)
            CheckInferredClasses(labels, classes, labelsPath);
        return new Dataset<float>(images.Features, images.FeatureCount, labels, classes);
    }

    /// <summary>Classes inferred from the labels follow the CSV loader's rules: at least two, and every label from 0 to the
    /// largest present — a label file of zeros is not a two-class problem, and a stray 255 does not make 256 classes. A set
    /// that may lack some class (a small test set) passes <c>classCount</c> instead.</summary>
    private static void CheckInferredClasses(int[] labels, int classes, string labelsPath)
    {
        var present = new bool[classes];
        foreach (int label in labels)
            present[label] = true;
        int distinct = present.Count(p => p);
        if (distinct < 2)
            throw new DataFormatException(labelsPath, null, 8,
                $"every label is {(labels.Length == 0 ? "absent" : labels[0].ToString(System.Globalization.CultureInfo.InvariantCulture))}: a classifier needs at least two classes.");
        int missing = Array.IndexOf(present, false);
        if (missing >= 0)
            throw new DataFormatException(labelsPath, null, 8,
                $"the labels run from 0 to {classes - 1} but {classes - distinct} of those never occur (the first is {missing}); give classCount to declare classes a set lacks.");
    }

    private static (int[] Labels, Header Header) LoadLabelsWithHeader(string path, DataLimits limits)
    {
        using FileStream file = DataStreams.OpenRegularFile(path, nameof(path));
        return LoadLabelsWithHeader(file, path, limits);
    }

    private static (int[] Labels, Header Header) LoadLabelsWithHeader(Stream stream, string? name, DataLimits? limits) => Read(stream, name, limits, (header, source) =>
    {
        if (header.Type is IdxElementType.Float32 or IdxElementType.Float64)
            throw new DataFormatException(name, null, 2, $"labels must be integers, but the file holds {header.Type}.");
        if (header.Elements != header.Dimensions[0])
            throw new DataFormatException(name, null, 8,
                $"a label file holds one value per item, but its dimensions are {string.Join('×', header.Dimensions)}.");
        return (ReadValues<int>(source, header, name, Convert), header);
    });

    private sealed record Header(IdxElementType Type, int[] Dimensions, long Elements, int ElementSize, long? Remaining)
    {
        public int Size => 4 + 4 * Dimensions.Length;
        public long DataBytes => Elements * ElementSize;
    }

    private static TResult Read<TResult>(Stream stream, string? name, DataLimits? limits, Func<Header, Stream, TResult> body)
    {
        limits = (limits ?? DataLimits.Default).Validated();
        Stream source = DataStreams.MaybeDecompress(stream, leaveOpen: true, limits.MaxBytes, name, out long? knownLength);
        try
        {
            Header header = ReadHeader(source, knownLength, name, limits);
            return body(header, source);
        }
        finally
        {
            source.Dispose();
        }
    }

    private static Header ReadHeader(Stream source, long? length, string? name, DataLimits limits)
    {
        Span<byte> start = stackalloc byte[4];
        int got = source.ReadAtLeast(start, 4, throwOnEndOfStream: false);
        if (got < 4)
            throw new DataFormatException(name, null, got, got == 0
                ? "the file is empty; an IDX file starts with a 4-byte header."
                : $"the file ends after {got} byte(s), inside the 4-byte IDX header (truncated).");
        if (start[0] != 0 || start[1] != 0)
            throw new DataFormatException(name, null, 0,
                $"not an IDX file: it starts with {start[0]:x2} {start[1]:x2}, where IDX (or gzip, 1f 8b) data start with 00 00.");
        var type = (IdxElementType)start[2];
        if (!Enum.IsDefined(type))
            throw new DataFormatException(name, null, 2,
                $"unknown element type 0x{start[2]:x2} (known: 08 ubyte, 09 sbyte, 0b int16, 0c int32, 0d float32, 0e float64).");
        int rank = start[3];
        if (rank is 0 or > MaxDimensions)
            throw new DataFormatException(name, null, 3, $"the header declares {rank} dimensions; 1 to {MaxDimensions} are allowed.");

        Span<byte> dims = stackalloc byte[4 * MaxDimensions];
        dims = dims[..(4 * rank)];
        got = source.ReadAtLeast(dims, dims.Length, throwOnEndOfStream: false);
        if (got < dims.Length)
            throw new DataFormatException(name, null, 4 + got,
                $"the file ends inside the header: {rank} dimensions need {dims.Length} bytes, found {got} (truncated).");
        int elementSize = ElementSize(type);
        var dimensions = new int[rank];
        long elements = 1;
        for (int i = 0; i < rank; i++)
        {
            int d = BinaryPrimitives.ReadInt32BigEndian(dims[(4 * i)..]);
            if (d <= 0)
                throw new DataFormatException(name, null, 4 + 4 * i, $"dimension {i} is {d}; every dimension must be positive.");
            dimensions[i] = d;
            elements *= d;   // both factors are below 2^31 and the running product stays below MaxElements: no overflow.
            if (elements > MaxElements)
                throw new DataFormatException(name, null, 4 + 4 * i,
                    $"dimensions {string.Join('×', dimensions[..(i + 1)])} hold more than {MaxElements} values, more than one array can hold.");
            if (elements > limits.MaxValues)
                throw new DataFormatException(name, null, 4 + 4 * i,
                    $"dimensions {string.Join('×', dimensions[..(i + 1)])} hold {elements:N0} values: {DataLimits.Raise(nameof(DataLimits.MaxValues), "values", limits.MaxValues)}.");
        }
        var header = new Header(type, dimensions, elements, elementSize, length is long l ? l - (4 + 4 * rank) : null);
        if (header.Remaining is long remaining && remaining < header.DataBytes)
            throw new DataFormatException(name, null, header.Size,
                $"the header ({string.Join('×', dimensions)} {type}) promises {header.DataBytes} bytes of data, but the file has {remaining} (truncated).");
        return header;
    }

    private static int ElementSize(IdxElementType type) => type switch
    {
        IdxElementType.UnsignedByte or IdxElementType.SignedByte => 1,
        IdxElementType.Int16 => 2,
        IdxElementType.Int32 or IdxElementType.Float32 => 4,
        _ => 8,
    };

    // Raw bytes per read; a multiple of every element size.
    private const int ReadBlock = 1 << 16;
    // A stream of unknown length must deliver this fraction of the promised bytes before the result is allocated.
    private const long ProofFraction = 16;

    private delegate void Converter<T>(ReadOnlySpan<byte> raw, IdxElementType type, Span<T> destination);

    /// <summary>Reads the values the header promises, converting them straight into the result through a small buffer,
    /// so the file's raw bytes are never held whole beside it. The result is allocated once the data have shown they
    /// exist: at once when the length is known (a plain seekable file, checked already), else (gzip, or a stream that
    /// cannot seek) once a sixteenth of the promised bytes has arrived — the raw bytes read until then are kept and
    /// converted — so a short stream that claims billions of values fails before anything of the claimed size exists.</summary>
    private static T[] ReadValues<T>(Stream source, Header header, string? name, Converter<T> convert)
    {
        int size = header.ElementSize;
        long need = header.DataBytes;
        long proof = header.Remaining is not null ? 0 : need / ProofFraction;
        var early = new List<byte[]>();
        T[]? values = null;
        byte[] buffer = new byte[(int)Math.Min(need, ReadBlock)];
        long done = 0;
        while (done < need)
        {
            int wanted = (int)Math.Min(ReadBlock, need - done);
            bool keep = values is null && done + wanted <= proof;
            byte[] block = keep ? new byte[wanted] : buffer;
            int got = source.ReadAtLeast(block.AsSpan(0, wanted), wanted, throwOnEndOfStream: false);
            if (got < wanted)
                throw Truncated(header, name, done + got);
            if (!keep)
            {
                values ??= Allocate(header, early, convert);
                convert(block.AsSpan(0, got), header.Type, values.AsSpan((int)(done / size), got / size));
            }
            else
            {
                early.Add(block);
            }
            done += got;
        }
        values ??= Allocate(header, early, convert);
        Span<byte> probe = stackalloc byte[1];
        if (source.ReadAtLeast(probe, 1, throwOnEndOfStream: false) > 0)
        {
            string more = header.Remaining is long remaining ? $"{remaining - need} byte(s)" : "more bytes";
            throw new DataFormatException(name, null, header.Size + need,
                $"{more} follow the {need} bytes of data the header promises; the header or the file is corrupt.");
        }
        return values;
    }

    /// <summary>The result array, with the raw blocks read before it existed converted into its start.</summary>
    private static T[] Allocate<T>(Header header, List<byte[]> early, Converter<T> convert)
    {
        var values = new T[header.Elements];
        long element = 0;
        foreach (byte[] block in early)
        {
            convert(block, header.Type, values.AsSpan((int)element, block.Length / header.ElementSize));
            element += block.Length / header.ElementSize;
        }
        early.Clear();
        return values;
    }

    private static DataFormatException Truncated(Header header, string? name, long found) =>
        new(name, null, header.Size + found,
            $"the data end after {found} of the {header.DataBytes} bytes the header ({string.Join('×', header.Dimensions)} {header.Type}) promises (truncated).");

    /// <summary>Big-endian elements of <paramref name="type"/> to <typeparamref name="TOut"/>: features to float, labels
    /// to int (label files of float types are refused before this is called).</summary>
    private static void Convert<TOut>(ReadOnlySpan<byte> raw, IdxElementType type, Span<TOut> destination)
        where TOut : struct, INumberBase<TOut>
    {
        switch (type)
        {
            case IdxElementType.UnsignedByte when typeof(TOut) == typeof(float):
                TensorPrimitives.ConvertTruncating<byte, float>(raw, MemoryMarshal.Cast<TOut, float>(destination));
                break;
            case IdxElementType.UnsignedByte:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = TOut.CreateTruncating(raw[i]);
                break;
            case IdxElementType.SignedByte:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = TOut.CreateTruncating((sbyte)raw[i]);
                break;
            case IdxElementType.Int16:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = TOut.CreateTruncating(BinaryPrimitives.ReadInt16BigEndian(raw[(2 * i)..]));
                break;
            case IdxElementType.Int32:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = TOut.CreateTruncating(BinaryPrimitives.ReadInt32BigEndian(raw[(4 * i)..]));
                break;
            case IdxElementType.Float32:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = TOut.CreateTruncating(BinaryPrimitives.ReadSingleBigEndian(raw[(4 * i)..]));
                break;
            default:
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = TOut.CreateTruncating(BinaryPrimitives.ReadDoubleBigEndian(raw[(8 * i)..]));
                break;
        }
    }
}
