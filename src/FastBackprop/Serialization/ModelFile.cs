using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using FastBackprop.Kernels.Int8;
using FastBackprop.Primitives;

namespace FastBackprop;

/// <summary>
/// Saves and loads <see cref="Model{T}"/> in the binary format of docs/MODEL_FORMAT.md: little-endian, versioned,
/// with a trailing SHA-256 over everything before it. Saving to a path is atomic (a crash leaves the previous file
/// intact); loading verifies the checksum first and then validates every field against the bytes that remain before
/// allocating, so a corrupt, truncated or hostile file fails with an <see cref="InvalidDataException"/> naming the
/// offset, field and value, never with a wrong model or an out-of-memory.
/// </summary>
public static class ModelFile
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
        long size = 24 + 16L * network.LayerCount + 8 + StoredParameters(model) * element;
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

    internal static byte[] Serialize<T>(Model<T> model, bool probePredictions = true) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        byte element = ElementCode<T>();
        (byte[][]? labels, byte[][]? featureNames, long size) = Plan(model, probePredictions);
        Network<T> network = model.Network;
        Standardizer<T>? standardizer = model.InputStandardization, targets = model.TargetStandardization;
        var data = new byte[size];
        var w = new Writer(data);
        w.Bytes(Magic);
        w.U32(FormatVersion);
        w.U8(element);
        w.U8((byte)((standardizer is not null ? FlagStandardization : 0) | (labels is not null ? FlagLabels : 0) | (model.Loss is not null ? FlagLoss : 0)
            | (targets is not null ? FlagTargetStandardization : 0) | (featureNames is not null ? FlagFeatureNames : 0)));
        w.U16(0);
        w.I32(network.InputSize);
        w.I32(network.LayerCount);
        for (int l = 0; l < network.LayerCount; l++)
        {
            LayerSpec spec = network.Layer(l);
            w.I32(spec.Units);
            w.U8((byte)spec.Activation.Kind);
            w.U8(model.Quantized?.IsQuantized(l) == true ? Int8DenseKind : (byte)spec.Kind);
            w.U16(0);
            w.F64(LayerType.Of(spec.Kind)!.RecordValue(spec));
        }
        w.I64(StoredParameters(model));
        if (model.Quantized is QuantizedNetwork quantized)
            w.Int8Layers(quantized);
        else
            w.Values<T>(network.Parameters);
        if (standardizer is not null)
        {
            w.I32(standardizer.FeatureCount);
            w.Values(standardizer.Mean);
            w.Values(standardizer.Scale);
        }
        if (labels is not null)
            w.Names(labels);
        if (model.Loss is Loss loss)
        {
            w.U8((byte)loss.Kind);
            w.U8((byte)loss.Reduction);
        }
        if (targets is not null)
        {
            w.I32(targets.FeatureCount);
            w.Values(targets.Mean);
            w.Values(targets.Scale);
        }
        if (featureNames is not null)
            w.Names(featureNames);
        SHA256.HashData(data.AsSpan(0, w.Position), data.AsSpan(w.Position, HashSize));
        return data;
    }

    internal static Model<T> Parse<T>(ReadOnlySpan<byte> data, string? name) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        _ = ElementCode<T>();   // float or double only
        if (data.Length < Magic.Length || !data[..Magic.Length].SequenceEqual(Magic))
            throw ModelFormatError.Create(name, 0, "magic", data.Length < Magic.Length
                ? $"the file is {data.Length} bytes, too short to be a model file."
                : $"not a FastBackprop model file: it starts with {Convert.ToHexString(data[..Magic.Length])}, not \"FBPMODEL\".");
        if (data.Length < 12)
            throw ModelFormatError.Create(name, data.Length, "format version", $"the file ends after {data.Length} bytes, inside the header (truncated).");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
        if (version is < 1 or > FormatVersion)
            throw ModelFormatError.Create(name, 8, "format version",
                $"version {version} is not supported; this library reads versions 1 to {FormatVersion}{(version > FormatVersion ? " (the file was written by a newer library)" : "")}.");
        const int minimum = 24 + 16 + 8 + HashSize;
        if (data.Length < minimum)
            throw ModelFormatError.Create(name, data.Length, "file length", $"the file is {data.Length} bytes; the smallest model file is {minimum} (truncated).");
        int end = data.Length - HashSize;
        Span<byte> hash = stackalloc byte[HashSize];
        SHA256.HashData(data[..end], hash);
        if (!hash.SequenceEqual(data[end..]))
            throw ModelFormatError.Create(name, end, "SHA-256",
                $"the checksum does not match the {end} bytes before it: the file is corrupt or truncated (stored {Convert.ToHexStringLower(data[end..])}, computed {Convert.ToHexStringLower(hash)}).");

        var r = new Reader(data[..end], name) { Position = 12 };
        long at = r.Position;
        byte element = r.U8("element type");
        if (element is not (4 or 8))
            throw r.Error(at, "element type", $"{element} is neither 4 (float32) nor 8 (float64).");
        at = r.Position;
        byte flags = r.U8("flags");
        int known = FlagStandardization | FlagLabels | FlagLoss | FlagTargetStandardization | (version >= 3 ? FlagFeatureNames : 0);
        if ((flags & ~known) != 0)
            throw r.Error(at, "flags", $"0x{flags:x2} sets unknown bits (known in version {version}: 0x01 standardisation, 0x02 labels, 0x04 loss, 0x08 target standardisation{(version >= 3 ? ", 0x10 feature names" : "")}).");
        if ((flags & FlagTargetStandardization) != 0 && (flags & FlagLabels) != 0)
            throw r.Error(at, "flags", $"0x{flags:x2} sets both class labels (0x02) and target standardisation (0x08), which only a regression model has.");
        at = r.Position;
        if (r.U16("reserved") is ushort reserved and not 0)
            throw r.Error(at, "reserved", $"{reserved} must be 0.");

        at = r.Position;
        int inputSize = r.I32("input size");
        if (inputSize <= 0)
            throw r.Error(at, "input size", $"{inputSize} must be positive.");
        at = r.Position;
        int layerCount = r.I32("layer count");
        if (ModelChecks.LayerCountProblem(layerCount) is not null)
            throw r.Error(at, "layer count", $"{layerCount} must be in [1, {MaxLayers}].");
        if (16L * layerCount > r.Remaining)
            throw r.Error(at, "layer count", $"{layerCount} layers need {16L * layerCount} bytes, only {r.Remaining} remain.");

        var specs = new LayerSpec[layerCount];
        var int8 = new bool[layerCount];
        long parameters = 0, codes = 0, int8Units = 0;
        int fanIn = inputSize;
        for (int l = 0; l < layerCount; l++)
        {
            string field = $"layer {l} units";
            long unitsAt = r.Position;
            int units = r.I32(field);
            if (units <= 0)
                throw r.Error(unitsAt, field, $"{units} must be positive.");
            at = r.Position;
            field = $"layer {l} activation";
            var kind = (ActivationKind)r.U8(field);
            if (!Enum.IsDefined(kind))
                throw r.Error(at, field, $"unknown activation kind {(int)kind}.");
            if (kind == ActivationKind.Softmax && l != layerCount - 1)
                throw r.Error(at, field, $"softmax is only allowed on the output layer, but layer {l} of {layerCount} uses it.");
            byte kindCode = r.U8($"layer {l} kind");
            int8[l] = version >= 4 && kindCode == Int8DenseKind;
            var layerKind = int8[l] ? LayerKind.Dense : (LayerKind)kindCode;
            LayerType? type = LayerType.Of(layerKind) is { } registered && registered.FileVersion <= version ? registered : null;
            if (type is null)
                throw r.Error(at + 1, $"layer {l} kind", version == 1
                    ? "the 3 reserved bytes after the activation must be 0 in a version-1 file."
                    : $"unknown layer kind {kindCode} ({string.Join(", ", LayerType.All.Where(t => t.FileVersion <= version).Select(t => $"{(int)t.Kind} {t.Name}"))}{(version >= 4 ? $", {Int8DenseKind} int8 dense" : "")}).");
            if (int8[l] && Int8LayerProblem<T>(element, fanIn) is string int8Problem)
                throw r.Error(at + 1, $"layer {l} kind", int8Problem);
            if (r.U16(field) != 0)
                throw r.Error(at + 2, field, "the 2 reserved bytes after the layer kind must be 0.");
            if (type.KeepsWidth)
            {
                // Dropout, layer normalisation: as wide as the input, no activation, never last; the record's value is the kind's own.
                if (units != fanIn)
                    throw r.Error(unitsAt, $"layer {l} units", $"{units}, but a {type.Name} layer is as wide as its input ({fanIn}).");
                if (kind != ActivationKind.Identity)
                    throw r.Error(at, field, $"a {type.Name} layer has no activation (0), not {kind}.");
                if (l == layerCount - 1)
                    throw r.Error(at + 1, $"layer {l} kind", $"the last layer must be dense (it feeds the loss), not {type.Name}.");
                at = r.Position;
                string valueField = $"layer {l} {type.ValueName}";
                double value = r.F64(valueField);
                if (!type.ValueInRange(value))
                    throw r.Error(at, valueField, $"{value} must be in {type.ValueRange}.");
                specs[l] = type.FromRecordValue(value);
                var (weights, biases) = type.ParameterShape(fanIn, units);
                parameters += weights + biases;
                if (weights + biases > 0 && parameters * element + Int8BlockBytes(codes, int8Units) > r.Remaining)
                    throw r.Error(unitsAt, $"layer {l} units", $"{units} units bring the parameters to {parameters}, more than the {r.Remaining} bytes left can hold.");
                continue;
            }
            if (int8[l])
            {
                parameters += units;
                codes += (long)fanIn * units;
                int8Units += units;
            }
            else
            {
                parameters += ((long)fanIn + 1) * units;
            }
            if (parameters > Array.MaxLength || codes > Array.MaxLength || parameters * element + Int8BlockBytes(codes, int8Units) > r.Remaining)
                throw r.Error(unitsAt, $"layer {l} units", $"{units} units (after {fanIn} inputs) bring the parameters to {parameters}{(codes > 0 ? $" and the int8 weights to {codes}" : "")}, more than the {r.Remaining} bytes left can hold.");
            at = r.Position;
            field = $"layer {l} alpha";
            double alpha = r.F64(field);
            if (kind == ActivationKind.LeakyReLU ? !(alpha > 0 && alpha <= Activation.MaxLeakySlope) : BitConverter.DoubleToInt64Bits(alpha) != 0)
                throw r.Error(at, field, $"{alpha} is invalid for {kind} (leaky ReLU needs a slope in (0, {Activation.MaxLeakySlope}], other kinds 0).");
            specs[l] = new LayerSpec(units, Activation.FromKind(kind, kind == ActivationKind.LeakyReLU ? alpha : 0.01));
            fanIn = units;
        }
        at = r.Position;
        long storedCount = r.I64("parameter count");
        if (storedCount != parameters)
            throw r.Error(at, "parameter count", $"{storedCount}, but the architecture implies {parameters}.");

        Network<T>? network = null;
        QuantizedNetwork? quantized = null;
        if (codes == 0)
        {
            network = new Network<T>(inputSize, specs, seed: 0);
            r.Values(network.Parameters, element, "parameters");
        }
        else
        {
            quantized = ReadQuantized(ref r, inputSize, specs, int8, parameters, codes);
        }

        Standardizer<T>? standardizer = null;
        if ((flags & FlagStandardization) != 0)
        {
            at = r.Position;
            int features = r.I32("standardisation feature count");
            if (features != inputSize)
                throw r.Error(at, "standardisation feature count", $"{features}, but the network takes {inputSize} inputs.");
            standardizer = ReadMeansAndScales<T>(ref r, element, features, "standardisation");
        }

        string[]? labels = null;
        if ((flags & FlagLabels) != 0)
        {
            at = r.Position;
            int count = r.I32("label count");
            int expected = specs[^1].Units == 1 ? 2 : specs[^1].Units;
            if (count != expected)
                throw r.Error(at, "label count", $"{count}, but {specs[^1].Units} output unit(s) give {expected} classes.");
            labels = ReadNames(ref r, count, "label", "class label");
        }

        Loss? loss = null;
        if ((flags & FlagLoss) != 0)
        {
            at = r.Position;
            var kind = (LossKind)r.U8("loss kind");
            var reduction = (Reduction)r.U8("loss reduction");
            if (!Enum.IsDefined(kind))
                throw r.Error(at, "loss kind", $"unknown loss kind {(int)kind}.");
            if (!Enum.IsDefined(reduction))
                throw r.Error(at + 1, "loss reduction", $"unknown reduction {(int)reduction}.");
            loss = new Loss(kind, reduction);
            try
            {
                LossRules.ValidatePairing(specs[^1].Activation, loss.Value);
            }
            catch (ArgumentException e)
            {
                throw ModelFormatError.Create(name, at, "loss kind", $"{kind} does not fit the output layer: {e.Message}", e);
            }
        }
        Standardizer<T>? targetStandardizer = (flags & FlagTargetStandardization) != 0
            ? ReadTargetStandardization<T>(ref r, element, specs[^1]) : null;
        string[]? featureNames = null;
        if ((flags & FlagFeatureNames) != 0)
        {
            at = r.Position;
            int count = r.I32("feature name count");
            if (count != inputSize)
                throw r.Error(at, "feature name count", $"{count}, but the network takes {inputSize} inputs.");
            featureNames = ReadNames(ref r, count, "feature name", "feature name");
        }
        if (r.Remaining != 0)
            throw r.Error(r.Position, "end of data", $"{r.Remaining} unexpected byte(s) before the checksum.");
        Model<T> model = network is not null
            ? new Model<T>(network, standardizer, labels, loss, targetStandardizer) { FeatureNames = featureNames }
            : new Model<T>(quantized!, standardizer, labels, loss, targetStandardizer) { FeatureNames = featureNames };
        ModelChecks.CheckPrediction(model, name, parametersOffset: 32 + 16L * layerCount);
        return model;
    }

    /// <summary>Why a dense layer with <paramref name="inputs"/> inputs cannot be int8 in a file of element size
    /// <paramref name="element"/>, or null: its biases are float32 (the int8 path's), and its depth keeps the int32 sums exact.</summary>
    private static string? Int8LayerProblem<T>(byte element, int inputs)
        => element != 4 ? $"an int8 dense layer's biases are float32 (element type 4), but this file's values are float64 ({element})."
        : typeof(T) != typeof(float) ? $"an int8 dense layer runs in float: load the file as Model<Single>, not Model<{typeof(T).Name}>."
        : inputs > Int8Scheme.MaxDepth ? $"an int8 dense layer takes at most {Int8Scheme.MaxDepth} inputs (so its int32 sums cannot overflow), this one has {inputs}."
        : null;

    /// <summary>The int8 block's size: its count, then per int8 layer a float32 scale per unit and a byte per weight.</summary>
    private static long Int8BlockBytes(long codes, long units) => codes == 0 ? 0 : 8 + 4 * units + codes;

    /// <summary>A quantized network's parameters block and int8 block (element type 4, so T is float): per dense layer in
    /// order, fp32 W and b or an int8 layer's b; then the count of codes and, per int8 layer, its scales (each in
    /// [<see cref="Int8Scheme.MinWeightScale"/>, <see cref="Int8Scheme.MaxWeightScale"/>]) and its codes (each in [−127, 127]).</summary>
    private static QuantizedNetwork ReadQuantized(ref Reader r, int inputSize, LayerSpec[] specs, bool[] int8, long parameters, long codeCount)
    {
        var values = new float[parameters];
        r.Values<float>(values, 4, "parameters");
        long at = r.Position;
        long storedCodes = r.I64("int8 weight count");
        if (storedCodes != codeCount)
            throw r.Error(at, "int8 weight count", $"{storedCodes}, but the int8 layers imply {codeCount}.");
        var stages = new List<QuantizedNetwork.Stage>();
        int fanIn = inputSize, next = 0;
        for (int l = 0; l < specs.Length; l++)
        {
            if (specs[l].Kind != LayerKind.Dense)
            {
                // A width-keeping kind (dropout, layer normalisation) runs in fp32, with its parameters (if any) from the block.
                specs[l] = specs[l] with { Units = fanIn };   // its width, as a network states it
                LayerType type = LayerType.Of(specs[l].Kind)!;
                var (weightCount, biasCount) = type.ParameterShape(fanIn, fanIn);
                float[] layerWeights = values.AsSpan(next, (int)weightCount).ToArray(), layerBiases = values.AsSpan(next + (int)weightCount, (int)biasCount).ToArray();
                next += (int)(weightCount + biasCount);
                if (type.WritesAtInference)
                    stages.Add(new(l, fanIn, fanIn, null, new QuantizedNetwork.FloatLayer(type, specs[l], l, layerWeights, layerBiases)));
                continue;
            }
            int units = specs[l].Units;
            if (!int8[l])
            {
                float[] weights = values.AsSpan(next, units * fanIn).ToArray(), biases = values.AsSpan(next + units * fanIn, units).ToArray();
                next += (fanIn + 1) * units;
                stages.Add(new(l, fanIn, units, null, new QuantizedNetwork.FloatDense(weights, biases, fanIn, units, specs[l].Activation)));
            }
            else
            {
                var scales = new float[units];
                at = r.Position;
                r.Values<float>(scales, 4, $"layer {l} weight scales");
                for (int j = 0; j < units; j++)
                {
                    if (!(scales[j] >= Int8Scheme.MinWeightScale && scales[j] <= Int8Scheme.MaxWeightScale))
                        throw r.Error(at + 4L * j, $"layer {l} weight scales", string.Create(System.Globalization.CultureInfo.InvariantCulture,
                            $"scale {j} is {scales[j]:R}, outside [{Int8Scheme.MinWeightScale:R}, {Int8Scheme.MaxWeightScale:R}] (positive, and 127 times it a finite float)."));
                }
                at = r.Position;
                ReadOnlySpan<sbyte> layerCodes = MemoryMarshal.Cast<byte, sbyte>(r.Bytes(units * fanIn, $"layer {l} weight codes"));
                int bad = layerCodes.IndexOf(sbyte.MinValue);
                if (bad >= 0)
                    throw r.Error(at + bad, $"layer {l} weight codes", $"code {bad} (unit {bad / fanIn}, input {bad % fanIn}) is -128; int8 weights are symmetric, in [-127, 127].");
                stages.Add(new(l, fanIn, units, new QuantizedDenseLayer(layerCodes, scales, values.AsSpan(next, units), fanIn, units, specs[l].Activation), null));
                next += units;
            }
            fanIn = units;
        }
        return new QuantizedNetwork(inputSize, specs, stages);
    }

    /// <summary>A block of <paramref name="count"/> names (class labels or feature names), each a length in
    /// [0, <see cref="ModelChecks.MaxNameBytes"/>] and that many bytes of UTF-8, all different. Fields are named
    /// "<paramref name="field"/> i length" and "<paramref name="field"/> i".</summary>
    private static string[] ReadNames(ref Reader r, int count, string field, string what)
    {
        if (4L * count > r.Remaining)
            throw r.Error(r.Position - 4, $"{field} count", $"{count} names need at least {4L * count} bytes, only {r.Remaining} remain.");
        var names = new string[count];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            long at = r.Position;
            int length = r.I32($"{field} {i} length");
            if (length < 0 || length > ModelChecks.MaxNameBytes || length > r.Remaining)
                throw r.Error(at, $"{field} {i} length", $"{length} must be in [0, {Math.Min(ModelChecks.MaxNameBytes, r.Remaining)}] (at most {ModelChecks.MaxNameBytes}, and {r.Remaining} bytes remain).");
            at = r.Position;
            names[i] = ModelChecks.Decode(r.Bytes(length, $"{field} {i}")) ?? throw r.Error(at, $"{field} {i}", $"the {what} is not valid UTF-8.");
            if (ModelChecks.RepeatProblem(seen, names, i, what) is string repeat)
                throw r.Error(at, $"{field} {i}", repeat);
        }
        return names;
    }

    /// <summary>The target standardisation block (flag 0x08): one mean and one positive scale per output unit.</summary>
    private static Standardizer<T> ReadTargetStandardization<T>(ref Reader r, byte element, LayerSpec output)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long at = r.Position;
        int count = r.I32("target standardisation count");
        if (count != output.Units)
            throw r.Error(at, "target standardisation count", $"{count}, but the network has {output.Units} output unit(s).");
        if (output.Activation.Kind == ActivationKind.Softmax)
            throw r.Error(at, "target standardisation count", "a softmax output gives class probabilities, which are not standardised targets.");
        if (2L * count * element > r.Remaining)
            throw r.Error(at, "target standardisation count", $"{count} means and scales need {2L * count * element} bytes, only {r.Remaining} remain.");
        return ReadMeansAndScales<T>(ref r, element, count, "target standardisation");
    }

    /// <summary>A standardisation's means, then its scales (1/standard deviation, within <see cref="ModelChecks.MinScale"/>
    /// and <see cref="ModelChecks.MaxScale"/>): the body of both standardisation blocks. Fields are named
    /// "<paramref name="block"/> mean" and "<paramref name="block"/> scale".</summary>
    private static Standardizer<T> ReadMeansAndScales<T>(ref Reader r, byte element, int count, string block)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var mean = new T[count];
        var scale = new T[count];
        r.Values<T>(mean, element, $"{block} mean");
        long at = r.Position;
        r.Values<T>(scale, element, $"{block} scale");
        for (int i = 0; i < scale.Length; i++)
        {
            if (ModelChecks.ScaleProblem(double.CreateTruncating(scale[i]), i) is string problem)
                throw r.Error(at + (long)i * element, $"{block} scale", problem);
        }
        return new Standardizer<T>(mean, scale);
    }

    private ref struct Writer(Span<byte> data)
    {
        private readonly Span<byte> data = data;

        public int Position { get; private set; }

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(data[Position..]);
            Position += bytes.Length;
        }

        public void U8(byte value) => data[Position++] = value;

        public void U16(ushort value)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(data[Position..], value);
            Position += 2;
        }

        public void U32(uint value)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data[Position..], value);
            Position += 4;
        }

        public void I32(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(data[Position..], value);
            Position += 4;
        }

        public void I64(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(data[Position..], value);
            Position += 8;
        }

        public void F64(double value)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(data[Position..], value);
            Position += 8;
        }

        /// <summary>A quantized network's parameters block (per dense layer, fp32 W and b, or an int8 layer's b), then its
        /// int8 block: the count of codes, then per int8 layer its scales and its codes.</summary>
        public void Int8Layers(QuantizedNetwork network)
        {
            foreach (QuantizedNetwork.Stage stage in network.Stages)
            {
                if (stage.Float is QuantizedNetwork.FloatStage floats)
                {
                    Values(floats.Weights);
                    Values(floats.Biases);
                }
                else
                {
                    Values(stage.Quantized!.Biases);
                }
            }
            long codes = Int8Weights(network);
            if (codes == 0)
                return;   // every layer kept in fp32: the file of an fp32 model
            I64(codes);
            foreach (QuantizedNetwork.Stage stage in network.Stages)
            {
                if (stage.Quantized is QuantizedDenseLayer layer)
                {
                    Values(layer.Scales);
                    Bytes(MemoryMarshal.AsBytes(layer.Codes));
                }
            }
        }

        /// <summary>A block of names: their count, then each one's length and UTF-8 bytes.</summary>
        public void Names(byte[][] names)
        {
            I32(names.Length);
            foreach (byte[] name in names)
            {
                I32(name.Length);
                Bytes(name);
            }
        }

        public void Values<T>(ReadOnlySpan<T> values) where T : unmanaged
        {
            Span<byte> target = data.Slice(Position, values.Length * Unsafe.SizeOf<T>());
            if (BitConverter.IsLittleEndian)
                MemoryMarshal.AsBytes(values).CopyTo(target);
            else if (typeof(T) == typeof(float))
                for (int i = 0; i < values.Length; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(target[(4 * i)..], (float)(object)values[i]);
            else
                for (int i = 0; i < values.Length; i++)
                    BinaryPrimitives.WriteDoubleLittleEndian(target[(8 * i)..], (double)(object)values[i]);
            Position += target.Length;
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> data, string? name)
    {
        private readonly ReadOnlySpan<byte> data = data;

        public int Position { get; set; }

        public readonly long Remaining => data.Length - Position;

        public readonly InvalidDataException Error(long offset, string field, string problem) => ModelFormatError.Create(name, offset, field, problem);

        public ReadOnlySpan<byte> Bytes(int count, string field)
        {
            if (count > Remaining)
                throw Error(Position, field, $"needs {count} bytes, only {Remaining} remain before the checksum.");
            ReadOnlySpan<byte> span = data.Slice(Position, count);
            Position += count;
            return span;
        }

        public byte U8(string field) => Bytes(1, field)[0];

        public ushort U16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2, field));

        public int I32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4, field));

        public long I64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Bytes(8, field));

        public double F64(string field) => BinaryPrimitives.ReadDoubleLittleEndian(Bytes(8, field));

        /// <summary>Reads values stored as float32 (element 4) or float64 (8) into T, rejecting non-finite ones.</summary>
        public void Values<T>(Span<T> destination, byte element, string field) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        {
            int start = Position;
            ReadOnlySpan<byte> raw = Bytes(checked(destination.Length * element), field);
            if (element == Unsafe.SizeOf<T>() && BitConverter.IsLittleEndian)
                raw.CopyTo(MemoryMarshal.AsBytes(destination));
            else if (element == 4)
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = T.CreateTruncating(BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]));
            else
                for (int i = 0; i < destination.Length; i++)
                    destination[i] = T.CreateTruncating(BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]));
            for (int i = 0; i < destination.Length; i++)
            {
                if (!T.IsFinite(destination[i]))
                {
                    string stored = element == 4 ? BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]).ToString("R", System.Globalization.CultureInfo.InvariantCulture)
                        : BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                    throw Error(start + (long)i * element, field, $"value {i} is {stored}, which is not finite as {typeof(T).Name}.");
                }
            }
        }
    }
}
