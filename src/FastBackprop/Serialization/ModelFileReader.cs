using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using FastBackprop.Kernels.Int8;

namespace FastBackprop;

// A model from its bytes: the checksum first, then every field checked against the bytes that remain before anything
// is allocated (docs/MODEL_FORMAT.md), each refusal naming the offset, the field and the value.
public static partial class ModelFile
{
    internal static Model<T> Parse<T>(ReadOnlySpan<byte> data, string? name) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        _ = ElementCode<T>();   // float or double only
        if (data.Length < Magic.Length || !data[..Magic.Length].SequenceEqual(Magic))
            throw ModelFormatError.Create(name, 0, "magic", data.Length < Magic.Length
                ? $"the file is {data.Length} bytes, too short to be a model file."
                : $"not a FastBackprop model file: it starts with {Convert.ToHexString(data[..Magic.Length])}, not \"FBPMODEL\".");
        if (data.Length < ModelFileFormat.ElementOffset)
            throw ModelFormatError.Create(name, data.Length, "format version", $"the file ends after {data.Length} bytes, inside the header (truncated).");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(data[ModelFileFormat.VersionOffset..]);
        if (version is < 1 or > FormatVersion)
            throw ModelFormatError.Create(name, ModelFileFormat.VersionOffset, "format version",
                $"version {version} is not supported; this library reads versions 1 to {FormatVersion}{(version > FormatVersion ? " (the file was written by a newer library)" : "")}.");
        const int minimum = ModelFileFormat.HeaderBytes + ModelFileFormat.LayerRecordBytes + ModelFileFormat.ParameterCountBytes + HashSize;
        if (data.Length < minimum)
            throw ModelFormatError.Create(name, data.Length, "file length", $"the file is {data.Length} bytes; the smallest model file is {minimum} (truncated).");
        int end = data.Length - HashSize;
        Span<byte> hash = stackalloc byte[HashSize];
        SHA256.HashData(data[..end], hash);
        if (!hash.SequenceEqual(data[end..]))
            throw ModelFormatError.Create(name, end, "SHA-256",
                $"the checksum does not match the {end} bytes before it: the file is corrupt or truncated (stored {Convert.ToHexStringLower(data[end..])}, computed {Convert.ToHexStringLower(hash)}).");

        var r = new Reader(data[..end], name) { Position = ModelFileFormat.ElementOffset };
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
        if ((long)ModelFileFormat.LayerRecordBytes * layerCount > r.Remaining)
            throw r.Error(at, "layer count", $"{layerCount} layers need {(long)ModelFileFormat.LayerRecordBytes * layerCount} bytes, only {r.Remaining} remain.");

        var (specs, int8, parameters, codes) = ReadLayers<T>(ref r, version, element, inputSize, layerCount);
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
        ModelChecks.CheckPrediction(model, name, parametersOffset: ModelFileFormat.ParameterCountOffset(layerCount) + ModelFileFormat.ParameterCountBytes);
        return model;
    }

    /// <summary>The layer records (16 bytes each): every kind's rules, the running parameter count checked against the bytes
    /// left. Returns the specs (width-keeping kinds with units 0, as a spec states them), which layers are int8, the
    /// parameters the records imply and the int8 codes.</summary>
    private static (LayerSpec[] Specs, bool[] Int8, long Parameters, long Codes) ReadLayers<T>(ref Reader r, uint version, byte element,
        int inputSize, int layerCount) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        long at;
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
            if (ActivationRegistry.Of(kind).OutputOnly && l != layerCount - 1)
                throw r.Error(at, field, $"{kind.ToString().ToLowerInvariant()} is only allowed on the output layer, but layer {l} of {layerCount} uses it.");
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
        return (specs, int8, parameters, codes);
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
