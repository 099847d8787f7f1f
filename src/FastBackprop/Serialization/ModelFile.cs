using System.Numerics;
using FastBackprop.Kernels.Int8;

namespace FastBackprop;

/// <summary>
/// Saves and loads <see cref="Model{T}"/> in the binary format of docs/MODEL_FORMAT.md: little-endian, versioned,
/// with a trailing SHA-256 over everything before it. Saving to a path is atomic (a crash leaves the previous file
/// intact); loading verifies the checksum first and then validates every field against the bytes that remain before
/// allocating, so a corrupt, truncated or hostile file fails with an <see cref="InvalidDataException"/> naming the
/// offset, field and value, never with a wrong model or an out-of-memory.
/// </summary>
public static partial class ModelFile
{
    /// <summary>The format version this library writes. It reads every version from 1 (version 2 added dropout layers,
    /// version 3 the feature names, version 4 int8 dense layers, version 5 layer normalisation).</summary>
    public const uint FormatVersion = 5;

    /// <summary>The largest model file accepted, in bytes (the largest array .NET can allocate, about 2 GiB).</summary>
    public static long MaxFileBytes => Array.MaxLength;

    /// <summary>The most layers a model file may declare.</summary>
    public const int MaxLayers = 1 << 16;

    /// <summary>The longest class label, in UTF-8 bytes.</summary>
    public const int MaxLabelBytes = ModelChecks.MaxNameBytes;

    /// <summary>The longest feature name, in UTF-8 bytes.</summary>
    public const int MaxFeatureNameBytes = ModelChecks.MaxNameBytes;

    internal static ReadOnlySpan<byte> Magic => "FBPMODEL"u8;

    internal const int HashSize = 32;

    /// <summary>A layer record's kind byte for a dense layer whose weights are int8 (version 4): the dense kind (0) with
    /// the top bit set, clear of the codes of other layer kinds.</summary>
    internal const byte Int8DenseKind = 0x80;

    private const int FlagStandardization = 1, FlagLabels = 2, FlagLoss = 4, FlagTargetStandardization = 8, FlagFeatureNames = 16;

    /// <summary>Saves <paramref name="model"/> to <paramref name="path"/> atomically: the bytes go to a temporary file in
    /// the same directory, which is flushed to disk and then renamed over <paramref name="path"/>. If anything fails the
    /// temporary file is deleted and an existing file at <paramref name="path"/> is left as it was. Only a regular file
    /// is replaced; a symbolic link is followed, and the file it points to replaced.</summary>
    /// <exception cref="ArgumentException">The model breaks a rule of the format (see <see cref="CheckSavable{T}(Model{T})"/>).</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    /// <exception cref="IOException"><paramref name="path"/> exists and is not a regular file (a device, FIFO, socket or
    /// directory), or writing failed; the message names <paramref name="path"/>.</exception>
    public static void Save<T>(string path, Model<T> model) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        byte[] bytes = Serialize(model);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Fails as <see cref="Save{T}(string, Model{T})"/> would for the model itself, so that a long training run
    /// can be checked before it starts (with its initial weights): the rules <see cref="Load{T}(string)"/> applies — at
    /// most <see cref="MaxLayers"/> layers; class labels and feature names distinct, valid UTF-16 and at most
    /// <see cref="MaxLabelBytes"/> and <see cref="MaxFeatureNameBytes"/> bytes in UTF-8; standardisation scales within
    /// what a model file holds (standard deviations from 1e-20 to 1e20); finite values; finite predictions for the
    /// standardised mean and ±1 and ±1000 standard deviations; at most <see cref="MaxFileBytes"/> bytes in all.</summary>
    /// <exception cref="ArgumentException">A rule is broken; the message names the layer, label, name, feature or value.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static void CheckSavable<T>(Model<T> model) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        _ = Plan(model);
    }

    /// <summary>Fails as <see cref="Save{T}(string, Model{T})"/> (and <see cref="OnnxModel.Export{T}(Model{T}, string)"/>)
    /// would for <paramref name="path"/> itself, before anything is written: it exists and is not a regular file (a
    /// device, FIFO, socket or directory, symbolic links followed), which a save refuses to replace.</summary>
    /// <exception cref="IOException">The message names <paramref name="path"/> and what it is.</exception>
    public static void CheckDestination(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _ = RegularFile.WriteTarget(path);
    }

    /// <summary>A model that passed <see cref="Plan"/>: its names in UTF-8 and its size in bytes.</summary>
    private sealed record Layout(byte[][]? Labels, byte[][]? FeatureNames, long Size);

    /// <summary>Checks <paramref name="model"/> against the rules <see cref="Parse"/> applies and works out its layout.
    /// <paramref name="probePredictions"/> false skips only the prediction probe: tests and the fuzzer write the files
    /// of a hostile writer (finite weights that overflow together) to check that loading refuses them.</summary>
    private static Layout Plan<T>(Model<T> model, bool probePredictions = true) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        byte element = ElementCode<T>();
        static ArgumentException Error(string problem) => new($"The model cannot be saved: {problem}", nameof(model));
        Network<T> network = model.Network;
        if (ModelChecks.LayerCountProblem(network.LayerCount) is string layers)
            throw Error(layers);
        byte[][]? labels = EncodeNames(model.ClassLabels, "class label", Error);
        byte[][]? featureNames = EncodeNames(model.FeatureNames, "feature name", Error);
        CheckFinite<T>(network.Parameters, "parameter", Error);
        if (model.Quantized is QuantizedNetwork quantizedNetwork && WeightScaleProblem(quantizedNetwork) is string scale)
            throw Error(scale);
        CheckStandardization(model.InputStandardization, "feature", model.FeatureNames, Error);
        CheckStandardization(model.TargetStandardization, "target", null, Error);

        Standardizer<T>? standardizer = model.InputStandardization, targets = model.TargetStandardization;
        long size = ModelFileFormat.ParameterCountOffset(network.LayerCount) + ModelFileFormat.ParameterCountBytes + StoredParameters(model) * element;
        if (model.Quantized is QuantizedNetwork quantized)
            size += Int8BlockBytes(Int8Weights(quantized), quantized.Stages.Sum(s => s.Quantized is null ? 0L : s.Units));
        if (standardizer is not null)
            size += 4 + 2L * standardizer.FeatureCount * element;
        if (labels is not null)
            size += 4 + labels.Sum(l => 4L + l.Length);
        if (model.Loss is not null)
            size += 2;
        if (targets is not null)
            size += 4 + 2L * targets.FeatureCount * element;
        if (featureNames is not null)
            size += 4 + featureNames.Sum(n => 4L + n.Length);
        size += HashSize;
        if (size > MaxFileBytes)
            throw Error($"it needs {size} bytes, more than the {MaxFileBytes} a model file may have.");
        if (probePredictions && ModelChecks.PredictionProblem(network, model.Quantized, targets) is string prediction)
            throw Error(prediction);
        return new Layout(labels, featureNames, size);
    }

    /// <summary>The count of the parameters block: every parameter of an fp32 model; for a quantized one the weights and
    /// biases of its fp32 layers and the biases of its int8 layers (whose weights follow in the int8 block).</summary>
    private static long StoredParameters<T>(Model<T> model) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => model.Quantized is QuantizedNetwork quantized
            ? quantized.Stages.Sum(s => s.Quantized is null ? s.Float!.Weights.Length + (long)s.Float.Biases.Length : s.Units)
            : model.Network.Parameters.Length;

    /// <summary>The int8 block's weight count: Σ inputs·units over the int8 layers (0 when every layer is kept in fp32).</summary>
    private static long Int8Weights(QuantizedNetwork network) => network.Stages.Sum(s => s.Quantized is null ? 0 : (long)s.Inputs * s.Units);

    /// <summary>The first int8 weight scale a model file cannot hold (weights within 1/128 of float.MaxValue), or null.</summary>
    private static string? WeightScaleProblem(QuantizedNetwork network)
    {
        foreach (QuantizedNetwork.Stage stage in network.Stages)
        {
            if (stage.Quantized is not QuantizedDenseLayer layer)
                continue;
            int j = layer.Scales.IndexOfAnyExceptInRange(Int8Scheme.MinWeightScale, Int8Scheme.MaxWeightScale);
            if (j >= 0)
                return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"layer {stage.Index} unit {j} has the weight scale {layer.Scales[j]:R}; a model file holds {Int8Scheme.MinWeightScale:R} to {Int8Scheme.MaxWeightScale:R} (weights up to float.MaxValue·127/128).");
        }
        return null;
    }

    private static byte[][]? EncodeNames(IReadOnlyList<string>? names, string what, Func<string, Exception> error)
    {
        if (names is null)
            return null;
        var bytes = new byte[names.Count][];
        for (int i = 0; i < names.Count; i++)
            bytes[i] = ModelChecks.Encode(names[i], i, what, error);
        if (ModelChecks.FirstRepeat(names, what) is string repeat)
            throw error(repeat);
        return bytes;
    }

    private static void CheckFinite<T>(ReadOnlySpan<T> values, string what, Func<string, Exception> error) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]))
                throw error($"{what} {i} is {values[i]}, not a finite number.");
        }
    }

    /// <summary>Standardisation scales outside what <see cref="ModelChecks.ScaleProblem"/> accepts come from data whose
    /// spread no model file holds: the message names the column and its standard deviation.</summary>
    private static void CheckStandardization<T>(Standardizer<T>? standardizer, string what, IReadOnlyList<string>? names, Func<string, Exception> error)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (standardizer is null)
            return;
        CheckFinite(standardizer.Mean, $"{what} mean", error);
        for (int i = 0; i < standardizer.FeatureCount; i++)
        {
            double scale = double.CreateTruncating(standardizer.Scale[i]);
            if (ModelChecks.ScaleProblem(scale, i) is not null)
                throw error(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{what} {i}{(names is null ? "" : $" ({ModelChecks.Quote(names[i])})")} has a standard deviation of {1 / scale:G3}; a model file holds standardisations of {1 / ModelChecks.MaxScale:G0} to {1 / ModelChecks.MinScale:G0} (scale {scale:G3} is outside [{ModelChecks.MinScale:G0}, {ModelChecks.MaxScale:G0}]): rescale the {what}, e.g. change its units."));
        }
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="stream"/> (left open, not flushed to disk).</summary>
    public static void Save<T>(Stream stream, Model<T> model) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(model);
        stream.Write(Serialize(model));
    }

    /// <summary>Loads a model. A file of the other element type is converted: float32 parameters widen to double
    /// exactly; float64 parameters are rounded to float (an error if one overflows), so such a model predicts
    /// close to, not bit-identically with, the saved one.</summary>
    /// <exception cref="InvalidDataException">The file is corrupt, truncated, too large, of an unknown version, or inconsistent.</exception>
    public static Model<T> Load<T>(string path) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Parse<T>(ReadFile(path), path);
    }

    /// <summary>Loads a model from a stream (read to its end, at most <see cref="MaxFileBytes"/> bytes; left open).
    /// See <see cref="Load{T}(string)"/>.</summary>
    public static Model<T> Load<T>(Stream stream) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Parse<T>(ReadStream(stream).Span, null);
    }

    /// <summary>Reads a whole file of at most <see cref="MaxFileBytes"/> bytes (also the ONNX importer's reader).</summary>
    internal static byte[] ReadFile(string path)
    {
        RegularFile.CheckReadable(path);   // a FIFO would block the open until a writer appears
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long length = file.Length;
        if (length > MaxFileBytes)
            throw ModelFormatError.Create(path, 0, "file length", $"the file is {length} bytes, more than the {MaxFileBytes} a model file may have.");
        byte[] data = new byte[length];
        int got = file.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (got != length)
            throw ModelFormatError.Create(path, got, "file length", $"the file shrank while being read ({got} of {length} bytes).");
        return data;
    }

    /// <summary>Reads a stream to its end in a growing buffer capped at <see cref="MaxFileBytes"/> bytes.</summary>
    internal static ReadOnlyMemory<byte> ReadStream(Stream stream)
    {
        byte[] buffer = new byte[stream.CanSeek ? (int)Math.Clamp(stream.Length - stream.Position + 1, 1, 1 << 20) : 1 << 16];
        int length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length >= MaxFileBytes)
                    throw ModelFormatError.Create(null, length, "file length", $"the stream holds more than the {MaxFileBytes} bytes a model file may have.");
                Array.Resize(ref buffer, (int)Math.Min(MaxFileBytes, 2L * buffer.Length));
            }
            int n = stream.Read(buffer, length, buffer.Length - length);
            if (n == 0)
                break;
            length += n;
        }
        return buffer.AsMemory(0, length);
    }

    private static byte ElementCode<T>() =>
        typeof(T) == typeof(float) ? (byte)4
        : typeof(T) == typeof(double) ? (byte)8
        : throw new NotSupportedException($"Model files hold float or double parameters, not {typeof(T).Name}.");
}
