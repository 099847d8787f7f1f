using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>
/// Makes case <c>index</c> of a kind from the run's seed, deterministically: a valid seed file, then either format-blind
/// byte mutations, a hostile edit that knows the format (huge or negative IDX dimensions, CSV lines of megabytes, a
/// label per row, NaN cells, BOMs, control characters, model fields edited and re-signed), or a gzip bomb.
/// </summary>
public sealed class CaseGenerator(FuzzSettings settings)
{
    private (int RunSeed, ModelSeed Model)? servingModel;

    public FuzzCase Create(FuzzKind kind, int runSeed, int index)
    {
        var random = new Random(CaseSeed(runSeed, kind, index));
        return kind switch
        {
            FuzzKind.Csv => Csv(random, runSeed, index),
            FuzzKind.Idx => Idx(random, runSeed, index),
            FuzzKind.Onnx => Onnx(random, runSeed, index),
            FuzzKind.Gzip => GzipCases.Create(random, runSeed, index),
            FuzzKind.Cancel => CancelCases.Create(random, runSeed, index),
            FuzzKind.Special => SpecialFileCases.Create(random, runSeed, index),
            FuzzKind.Deep => DeepCases.Create(random, runSeed, index),
            FuzzKind.Serving => ServingCases.Create(random, runSeed, index, ServingModel(runSeed)),
            FuzzKind.Columns => ColumnCases.Create(random, runSeed, index),
            _ => Model(random, runSeed, index),
        };
    }

    /// <summary>The model the serving sample runs for this run seed (made once).</summary>
    private ModelSeed ServingModel(int runSeed)
    {
        if (servingModel is not { } cached || cached.RunSeed != runSeed)
            servingModel = cached = (runSeed, ServingCases.Model(runSeed));
        return cached.Model;
    }

    /// <summary>A 32-bit seed mixed from the three numbers (SplitMix64's finaliser), the same in every process.</summary>
    public static int CaseSeed(int runSeed, FuzzKind kind, int index)
    {
        ulong z = (ulong)(uint)runSeed * 0x9E3779B97F4A7C15UL ^ ((ulong)kind << 40) ^ (ulong)(uint)index;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }

    // ---- CSV ---------------------------------------------------------------------------------------------

    private FuzzCase Csv(Random random, int runSeed, int index)
    {
        CsvSeed seed = Seeds.Csv(random);
        byte[] plain = Encoding.UTF8.GetBytes(seed.Text);
        var what = new StringBuilder();
        FuzzFile file;
        int roll = random.Next(100);
        if (roll < settings.BombPercent)
            file = CsvBomb(random, seed, what);
        else if (roll < 30)
            file = FuzzFile.FromBytes(Gzip(CsvHostile(random, seed, plain, what), seed.Gzip));
        else if (seed.Gzip && random.Next(2) == 0)
        {
            what.Append("gzip bytes: ");
            file = FuzzFile.FromBytes(ByteMutations.Mutate(Seeds.Gzip(plain), random, what));
        }
        else
            file = FuzzFile.FromBytes(Gzip(ByteMutations.Mutate(plain, random, what), seed.Gzip));
        return new FuzzCase(FuzzKind.Csv, runSeed, index, seed.Description, what.ToString(), [("data.csv", file)], seed.Options);
    }

    private static byte[] Gzip(byte[] bytes, bool gzip) => gzip ? Seeds.Gzip(bytes) : bytes;

    private FuzzFile CsvBomb(Random random, CsvSeed seed, StringBuilder what)
    {
        (string pattern, string name) = random.Next(5) switch
        {
            0 => ("\0", "zero bytes (one endless line)"),
            1 => ("7", "digits (one endless cell)"),
            2 => ("0,0\n", "'0,0' rows (one class)"),
            3 => ("0,1\n1,0\n", "'0,1'/'1,0' rows (valid two-class data)"),
            _ => ("\n", "blank lines"),
        };
        bool quote = random.Next(6) == 0;
        string prefix = quote ? "a,b\n\"" : "a,b\n";
        what.Append($"gzip bomb: {(quote ? "an unclosed quote, then " : "")}{settings.BombBytes:N0} bytes of {name}");
        return new GzipBomb(Encoding.UTF8.GetBytes(prefix), Encoding.UTF8.GetBytes(pattern), settings.BombBytes);
    }

    private byte[] CsvHostile(Random random, CsvSeed seed, byte[] plain, StringBuilder what)
    {
        string text = seed.Text;
        string[] lines = text.Split('\n');
        switch (random.Next(9))
        {
            case 0:
                {
                    int length = random.Next(1 << 10, Math.Max(1 << 11, settings.HostileRows * 64));
                    int line = random.Next(lines.Length);
                    what.Append($"a cell of {length:N0} digits on line {line + 1}");
                    lines[line] = new string('9', length) + "," + lines[line];
                    return Encoding.UTF8.GetBytes(string.Join('\n', lines));
                }
            case 1:
                {
                    int cells = random.Next(2) == 0 ? random.Next(1 << 10, Math.Max(1 << 11, settings.HostileRows * 16)) : random.Next(1000, 5000);
                    int rows = random.Next(1, 4);
                    what.Append($"{rows} row(s) of {cells:N0} cells");
                    var sb = new StringBuilder();
                    for (int r = 0; r < rows; r++)
                    {
                        for (int c = 0; c < cells - 1; c++)
                            sb.Append("0,");
                        sb.Append(r % 2).Append('\n');
                    }
                    return Encoding.UTF8.GetBytes(sb.ToString());
                }
            case 2:
                {
                    int rows = random.Next(2) == 0 ? random.Next(settings.HostileRows / 10, settings.HostileRows + 1) : random.Next(50, 500);
                    what.Append($"a label per row: {rows:N0} rows, {rows:N0} classes");
                    var sb = new StringBuilder("x,label\n");
                    for (int r = 0; r < rows; r++)
                        sb.Append(r % 7).Append(",c").Append(r).Append('\n');
                    return Encoding.UTF8.GetBytes(sb.ToString());
                }
            case 3:
                {
                    string[] values = ["NaN", "nan", "Infinity", "-Infinity", "∞", "1e39", "-1e400", "1e-46", "0x10", "1_000", "١٢", "+.e1", "", "  ", "- 1"];
                    string value = values[random.Next(values.Length)];
                    int line = random.Next(lines.Length);
                    string[] cells = lines[line].Split(',');
                    int cell = random.Next(cells.Length);
                    what.Append($"line {line + 1} cell {cell + 1} := '{value}'");
                    cells[cell] = value;
                    lines[line] = string.Join(',', cells);
                    return Encoding.UTF8.GetBytes(string.Join('\n', lines));
                }
            case 4:
                {
                    (byte[] bom, string name) = random.Next(5) switch
                    {
                        0 => (new byte[] { 0xEF, 0xBB, 0xBF }, "UTF-8"),
                        1 => ([0xFF, 0xFE], "UTF-16 LE"),
                        2 => ([0xFE, 0xFF], "UTF-16 BE"),
                        3 => ([0xFF, 0xFE, 0, 0], "UTF-32 LE"),
                        _ => ([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF], "two UTF-8"),
                    };
                    bool middle = random.Next(3) == 0;
                    int at = middle ? random.Next(plain.Length + 1) : 0;
                    what.Append($"{name} BOM at {at}");
                    return [.. plain.AsSpan(0, at), .. bom, .. plain.AsSpan(at)];
                }
            case 5:
                {
                    string[] controls = ["\0", "\u001b[31m", "\v", "\f", "\u0085", "\u2028", "\r", "\b", "\u00a0", "\ud800"];
                    string control = controls[random.Next(controls.Length)];
                    int at = random.Next(text.Length + 1);
                    what.Append($"insert U+{(int)control[0]:X4}{(control.Length > 1 ? "…" : "")} at char {at}");
                    return Encoding.UTF8.GetBytes(text.Insert(at, control));
                }
            case 6:
                {
                    // Large files are rarer: under a reader that is quadratic in the open cell's length each is a hang.
                    int rows = random.Next(4) == 0 ? settings.HostileRows : random.Next(2, 200);
                    what.Append($"an unclosed quote on line 2 of {rows:N0} rows");
                    var sb = new StringBuilder("a,b,c,d,label\n\"");
                    for (int r = 0; r < rows; r++)
                        sb.Append("0.5,1.5,2.5,3.5,").Append(r % 2).Append('\n');
                    return Encoding.UTF8.GetBytes(sb.ToString());
                }
            case 7:
                {
                    string[] shapes = ["", "\n\n  \n\t\n", "a,b,label\n", "label\n1\n2\n", "1\n0\n", ",,,\n,,,\n", "\"\"\n", "a,b\n1,2\n3\n", "\"a\"b,c\n1,2\n"];
                    int shape = random.Next(shapes.Length);
                    what.Append($"degenerate file '{shapes[shape].Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal)}'");
                    return Encoding.UTF8.GetBytes(shapes[shape]);
                }
            default:
                {
                    // Separators the options do not expect, or a different number of cells on one row.
                    int line = random.Next(lines.Length);
                    string replacement = random.Next(3) switch { 0 => lines[line].Replace(',', ';'), 1 => lines[line] + ",", _ => lines[line] + "," + lines[line] };
                    what.Append($"line {line + 1} := '{CsvLoaderShorten(replacement)}'");
                    lines[line] = replacement;
                    return Encoding.UTF8.GetBytes(string.Join('\n', lines));
                }
        }
    }

    private static string CsvLoaderShorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    // ---- IDX ---------------------------------------------------------------------------------------------

    private FuzzCase Idx(Random random, int runSeed, int index)
    {
        IdxSeed seed = Seeds.Idx(random);
        var what = new StringBuilder();
        byte[] images = seed.Images, labels = seed.Labels;
        FuzzFile? bomb = null;
        bool bombIsImages = false;
        int roll = random.Next(100);
        if (roll < settings.BombPercent)
            (bomb, bombIsImages) = IdxBomb(random, seed, what);
        else if (roll < 35)
            (images, labels) = IdxHostile(random, seed, what);
        else
        {
            bool mutateImages = random.Next(3) != 0;
            what.Append(mutateImages ? "images: " : "labels: ");
            if (mutateImages)
                images = ByteMutations.Mutate(images, random, what);
            else
                labels = ByteMutations.Mutate(labels, random, what);
        }
        FuzzFile imageFile = bomb is not null && bombIsImages ? bomb : FuzzFile.FromBytes(Gzip(images, seed.GzipImages));
        FuzzFile labelFile = bomb is not null && !bombIsImages ? bomb : FuzzFile.FromBytes(Gzip(labels, seed.GzipLabels));
        return new FuzzCase(FuzzKind.Idx, runSeed, index, seed.Description, what.ToString(), [("images.idx", imageFile), ("labels.idx", labelFile)]);
    }

    private (FuzzFile Bomb, bool IsImages) IdxBomb(Random random, IdxSeed seed, StringBuilder what)
    {
        long bytes = settings.BombBytes;
        switch (random.Next(3))
        {
            case 0:
                {
                    // Images whose header promises exactly what the bomb holds (capped at one array's worth of values).
                    int count = (int)Math.Min(bytes / 784, (Array.MaxLength - 1) / 784);
                    what.Append($"images gzip bomb: header {count:N0}×28×28 ubyte, {784L * count:N0} zero bytes of data");
                    return (new GzipBomb(Seeds.Header(IdxElementType.UnsignedByte, [count, 28, 28], 0), [0], 16 + 784L * count), true);
                }
            case 1:
                {
                    int count = (int)Math.Min(bytes, Array.MaxLength - 1);
                    what.Append($"labels gzip bomb: header {count:N0} ubyte labels, all zero");
                    return (new GzipBomb(Seeds.Header(IdxElementType.UnsignedByte, [count], 0), [0], 8L + count), false);
                }
            default:
                {
                    // A valid small file followed by gigabytes it does not declare.
                    what.Append($"images gzip bomb: the seed's header and data, then zeros up to {bytes:N0} bytes");
                    return (new GzipBomb(seed.Images, [0], bytes), true);
                }
        }
    }

    private static (byte[] Images, byte[] Labels) IdxHostile(Random random, IdxSeed seed, StringBuilder what)
    {
        byte[] images = (byte[])seed.Images.Clone();
        byte[] labels = (byte[])seed.Labels.Clone();
        int labelData = 8;
        switch (random.Next(8))
        {
            case 0:
            case 1:
                {
                    bool onImages = random.Next(3) != 0;
                    byte[] target = onImages ? images : labels;
                    int rank = target[3];
                    int dim = random.Next(rank);
                    int value = random.Next(9) switch
                    {
                        0 => 0,
                        1 => -1,
                        2 => int.MinValue,
                        3 => int.MaxValue,
                        4 => 65536,
                        5 => 1 << 30,
                        6 => seed.Count + 1,
                        7 => seed.Count - 1,
                        _ => BinaryPrimitives.ReadInt32BigEndian(target.AsSpan(4 + 4 * dim)) * 1000,
                    };
                    what.Append($"{(onImages ? "images" : "labels")} dimension {dim} := {value}");
                    BinaryPrimitives.WriteInt32BigEndian(target.AsSpan(4 + 4 * dim), value);
                    break;
                }
            case 2:
                {
                    bool onImages = random.Next(2) == 0;
                    byte[] target = onImages ? images : labels;
                    bool rank = random.Next(2) == 0;
                    byte value = (byte)(rank ? (random.Next(2) == 0 ? 0 : random.Next(17, 256)) : random.Next(256));
                    if (rank && random.Next(2) == 0)
                        value = (byte)(target[3] + (random.Next(2) == 0 ? 1 : -1));
                    what.Append($"{(onImages ? "images" : "labels")} {(rank ? "rank" : "element type")} := 0x{value:X2}");
                    target[rank ? 3 : 2] = value;
                    break;
                }
            case 3:
                {
                    string[] names = ["all labels 0", "one label 255", "labels skip a class", "labels all equal to the largest class"];
                    int which = random.Next(names.Length);
                    what.Append(names[which]);
                    for (int i = 0; i < seed.Count; i++)
                    {
                        labels[labelData + i] = which switch
                        {
                            0 => 0,
                            1 => i == seed.Count - 1 ? (byte)255 : labels[labelData + i],
                            2 => labels[labelData + i] == 1 ? (byte)seed.Classes : labels[labelData + i],
                            _ => (byte)(seed.Classes - 1),
                        };
                    }
                    break;
                }
            case 4:
                {
                    // Signed labels: a negative class index.
                    bool int32 = random.Next(2) == 0;
                    what.Append(int32 ? "labels as int32 with one label −1" : "labels as sbyte with one label −1 (0xFF)");
                    if (int32)
                    {
                        labels = Seeds.Header(IdxElementType.Int32, [seed.Count], 4L * seed.Count);
                        for (int i = 0; i < seed.Count; i++)
                            BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(8 + 4 * i), i == 0 ? -1 : seed.Labels[8 + i]);
                    }
                    else
                    {
                        labels[2] = (byte)IdxElementType.SignedByte;
                        labels[8] = 0xFF;
                    }
                    break;
                }
            case 5:
                {
                    if (seed.ImageType != IdxElementType.Float32)
                        goto case 0;
                    float[] values = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, float.Epsilon, -float.MaxValue];
                    float value = values[random.Next(values.Length)];
                    int header = 4 + 4 * images[3];
                    int at = random.Next((images.Length - header) / 4);
                    what.Append($"image value {at} := {value.ToString(CultureInfo.InvariantCulture)}");
                    BinaryPrimitives.WriteSingleBigEndian(images.AsSpan(header + 4 * at), value);
                    break;
                }
            case 6:
                {
                    // One item fewer in one file, consistently (the counts then disagree).
                    bool onImages = random.Next(2) == 0;
                    what.Append($"{(onImages ? "images" : "labels")}: the last item removed");
                    if (onImages)
                    {
                        int rank = images[3];
                        long per = (images.Length - (4 + 4 * rank)) / seed.Count;
                        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), seed.Count - 1);
                        images = images[..(int)(images.Length - per)];
                    }
                    else
                    {
                        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), seed.Count - 1);
                        labels = labels[..^1];
                    }
                    break;
                }
            default:
                {
                    // The header promises more than the file holds, by a lot (allocation before reading?).
                    int rank = images[3];
                    int value = random.Next(2) == 0 ? 1 << 24 : Array.MaxLength / Math.Max(1, (images.Length - (4 + 4 * rank)) / seed.Count);
                    what.Append($"images dimension 0 := {value:N0}, labels too (data unchanged)");
                    BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), value);
                    BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), value);
                    break;
                }
        }
        return (images, labels);
    }

    // ---- Model -------------------------------------------------------------------------------------------

    private static FuzzCase Model(Random random, int runSeed, int index)
    {
        ModelSeed seed = Seeds.Model(random);
        var what = new StringBuilder();
        byte[] bytes;
        int roll = random.Next(100);
        if (roll < 10)
            bytes = ByteMutations.Mutate(seed.Bytes, random, what);
        else if (roll < 40)
        {
            what.Append("re-signed: ");
            bytes = ModelLayout.Resign(ByteMutations.Mutate(seed.Bytes, random, what));
        }
        else
        {
            what.Append("re-signed: ");
            bytes = (byte[])seed.Bytes.Clone();
            var layout = new ModelLayout(bytes);
            int edits = random.Next(1, 3);
            for (int e = 0; e < edits; e++)
            {
                if (e > 0)
                    what.Append("; ");
                EditField(random, bytes, layout, what);
            }
            ModelLayout.Resign(bytes);
        }
        return new FuzzCase(FuzzKind.Model, runSeed, index, seed.Description, what.ToString(), [("model.fbpm", FuzzFile.FromBytes(bytes))],
            ModelInputSize: seed.InputSize);
    }

    // ---- ONNX --------------------------------------------------------------------------------------------

    /// <summary>A seed model exported to ONNX (or, one case in four, a QDQ graph: <see cref="Seeds.Qdq"/>), then byte
    /// mutations (protobuf has no checksum: every mutation reaches the parser) or a hostile length: a length-delimited
    /// field's length replaced by a huge or off-by-one varint.</summary>
    private static FuzzCase Onnx(Random random, int runSeed, int index)
    {
        byte[] bytes;
        string description;
        int inputSize;
        if (random.Next(4) == 0)
        {
            OnnxSeed qdq = Seeds.Qdq(random);
            (bytes, description, inputSize) = (qdq.Bytes, qdq.Description, qdq.InputSize);
        }
        else
        {
            ModelSeed seed = Seeds.Model(random);
            using var exported = new MemoryStream();
            OnnxModel.Export(ModelFile.Load<float>(new MemoryStream(seed.Bytes)), exported);
            (bytes, description, inputSize) = (exported.ToArray(), "onnx export of " + seed.Description, seed.InputSize);
        }
        var what = new StringBuilder();
        if (random.Next(4) > 0)
            bytes = ByteMutations.Mutate(bytes, random, what);
        else
        {
            // Field keys with wire type 2 whose length varint is a single byte (most in these small files).
            var candidates = Enumerable.Range(0, bytes.Length - 1).Where(i => (bytes[i] & 7) == 2 && bytes[i] < 0x80 && bytes[i + 1] < 0x80).ToArray();
            int at = candidates[random.Next(candidates.Length)];
            ulong length = random.Next(4) switch { 0 => (ulong)bytes[at + 1] + 1, 1 => int.MaxValue, 2 => ulong.MaxValue, _ => 1UL << 40 };
            var varint = new List<byte>();
            for (ulong v = length; ; v >>= 7)
            {
                varint.Add((byte)(v < 0x80 ? v : v & 0x7F | 0x80));
                if (v < 0x80)
                    break;
            }
            what.Append($"length of the field at {at} := {length}");
            bytes = [.. bytes.AsSpan(0, at + 1), .. varint, .. bytes.AsSpan(at + 2)];
        }
        return new FuzzCase(FuzzKind.Onnx, runSeed, index, description, what.ToString(),
            [("model.onnx", FuzzFile.FromBytes(bytes))], ModelInputSize: inputSize);
    }

    private static readonly double[] HugeValues = [1e30, 1e38, -1e38, 3.4e38, 1e300, double.MaxValue, double.NaN, double.PositiveInfinity];
    private static readonly double[] TinyValues = [1e-38, 1e-45, 1e-300, double.Epsilon, 0.0, -0.0, -1.0, 1e-20];
    private static readonly double[] Slopes = [1e308, 1e38, 3.5e38, 1e10, 1000, 1e-320, double.Epsilon, double.NaN, double.PositiveInfinity, -0.01, 0.0, 1.0];

    private static void EditField(Random random, byte[] bytes, ModelLayout layout, StringBuilder what)
    {
        Span<byte> span = bytes;
        int layer = random.Next(layout.LayerCount);
        int at = ModelLayout.LayerOffset(layer);
        int choice = random.Next(layout.Int8Layers.Count > 0 ? 20 : 16);
        switch (choice)
        {
            case 0:
                {
                    int old = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
                    int value = random.Next(6) switch { 0 => 0, 1 => -1, 2 => int.MaxValue, 3 => old + 1, 4 => Math.Max(1, old - 1), _ => 1 << 20 };
                    what.Append($"layer {layer} units {old} := {value}");
                    BinaryPrimitives.WriteInt32LittleEndian(span[at..], value);
                    break;
                }
            case 1:
                {
                    byte kind = (byte)(random.Next(4) == 0 ? random.Next(7, 256) : random.Next(7));
                    what.Append($"layer {layer} activation kind := {kind}");
                    span[at + ModelFileFormat.RecordActivation] = kind;
                    break;
                }
            case 2:
            case 3:
            case 4:
                {
                    // Make the layer leaky ReLU (if it is not) with an extreme slope: the issue's 1e308 case.
                    double slope = Slopes[random.Next(Slopes.Length)];
                    what.Append($"layer {layer} := leaky ReLU, alpha {slope.ToString("R", CultureInfo.InvariantCulture)}");
                    span[at + ModelFileFormat.RecordActivation] = (byte)ActivationKind.LeakyReLU;
                    BinaryPrimitives.WriteDoubleLittleEndian(span[(at + ModelFileFormat.RecordValue)..], slope);
                    break;
                }
            case 5:
                {
                    double value = random.Next(2) == 0 ? 0.01 : HugeValues[random.Next(HugeValues.Length)];
                    what.Append($"layer {layer} alpha := {value.ToString("R", CultureInfo.InvariantCulture)} (kind unchanged)");
                    BinaryPrimitives.WriteDoubleLittleEndian(span[(at + ModelFileFormat.RecordValue)..], value);
                    break;
                }
            case 6:
            case 7:
                {
                    double value = HugeValues[random.Next(HugeValues.Length)];
                    bool all = random.Next(3) == 0;
                    long index = random.NextInt64(layout.ParameterCount);
                    what.Append(all ? $"every parameter := {value.ToString("R", CultureInfo.InvariantCulture)}" : $"parameter {index} := {value.ToString("R", CultureInfo.InvariantCulture)}");
                    for (long i = all ? 0 : index; i < (all ? layout.ParameterCount : index + 1); i++)
                        layout.WriteValue(bytes, layout.ParameterOffset(i), value);
                    break;
                }
            case 8:
            case 9:
                {
                    if (layout.StandardizationOffset < 0)
                        goto case 6;
                    int feature = random.Next(layout.Features);
                    bool scale = random.Next(3) != 0;
                    double value = scale
                        ? (random.Next(2) == 0 ? TinyValues[random.Next(TinyValues.Length)] : HugeValues[random.Next(HugeValues.Length)])
                        : HugeValues[random.Next(HugeValues.Length)];
                    bool all = random.Next(2) == 0;
                    what.Append($"standardisation {(scale ? "scale" : "mean")}{(all ? "s all" : $"[{feature}]")} := {value.ToString("R", CultureInfo.InvariantCulture)}");
                    for (int f = all ? 0 : feature; f < (all ? layout.Features : feature + 1); f++)
                        layout.WriteValue(bytes, scale ? layout.ScaleOffset(f) : layout.MeanOffset(f), value);
                    break;
                }
            case 10:
                {
                    if (layout.StandardizationOffset < 0)
                        goto case 0;
                    int value = layout.Features + (random.Next(2) == 0 ? 1 : -1);
                    what.Append($"standardisation feature count := {value}");
                    BinaryPrimitives.WriteInt32LittleEndian(span[layout.StandardizationOffset..], value);
                    break;
                }
            case 11:
                {
                    if (layout.LabelsOffset < 0)
                        goto case 1;
                    int old = BinaryPrimitives.ReadInt32LittleEndian(span[layout.LabelsOffset..]);
                    int which = random.Next(4);
                    if (which == 3 && layout.LabelOffsets.Count >= 2)
                    {
                        // Duplicate class names: copy label 0's bytes over label 1 where the lengths allow.
                        int a = layout.LabelOffsets[0], b = layout.LabelOffsets[1];
                        int la = BinaryPrimitives.ReadInt32LittleEndian(span[a..]), lb = BinaryPrimitives.ReadInt32LittleEndian(span[b..]);
                        int n = Math.Min(la, lb);
                        what.Append($"label 1 := label 0's first {n} bytes, label 0 truncated to match");
                        span.Slice(a + 4, n).CopyTo(span[(b + 4)..]);
                        for (int i = n; i < la; i++) span[a + 4 + i] = (byte)' ';
                        for (int i = n; i < lb; i++) span[b + 4 + i] = (byte)' ';
                        break;
                    }
                    int value = which switch { 0 => old + 1, 1 => old - 1, _ => random.Next(2) == 0 ? -1 : int.MaxValue };
                    what.Append($"label count {old} := {value}");
                    BinaryPrimitives.WriteInt32LittleEndian(span[layout.LabelsOffset..], value);
                    break;
                }
            case 12:
                {
                    if (layout.LabelOffsets.Count == 0)
                        goto case 5;
                    int label = random.Next(layout.LabelOffsets.Count);
                    int offset = layout.LabelOffsets[label];
                    if (random.Next(2) == 0)
                    {
                        int value = random.Next(4) switch { 0 => -1, 1 => 4097, 2 => int.MaxValue, _ => BinaryPrimitives.ReadInt32LittleEndian(span[offset..]) + 1 };
                        what.Append($"label {label} length := {value}");
                        BinaryPrimitives.WriteInt32LittleEndian(span[offset..], value);
                    }
                    else
                    {
                        byte value = (byte)(random.Next(2) == 0 ? 0xFF : random.Next(0x20));
                        what.Append($"label {label} first byte := 0x{value:X2}");
                        if (BinaryPrimitives.ReadInt32LittleEndian(span[offset..]) > 0)
                            span[offset + 4] = value;
                    }
                    break;
                }
            case 13:
                {
                    if (layout.LossOffset < 0)
                        goto case 14;
                    bool kind = random.Next(3) != 0;
                    byte value = (byte)(random.Next(4) == 0 ? random.Next(3, 256) : random.Next(3));
                    what.Append($"loss {(kind ? "kind" : "reduction")} := {value}");
                    span[layout.LossOffset + (kind ? 0 : 1)] = value;
                    break;
                }
            case 14:
                {
                    int field = random.Next(5);
                    switch (field)
                    {
                        case 0:
                            byte flags = (byte)(span[ModelLayout.FlagsOffset] ^ (1 << random.Next(4)));
                            what.Append($"flags := 0x{flags:X2}");
                            span[ModelLayout.FlagsOffset] = flags;
                            break;
                        case 1:
                            byte element = (byte)(random.Next(3) switch { 0 => 12 - span[ModelLayout.ElementOffset], 1 => 2, _ => 16 });
                            what.Append($"element type := {element}");
                            span[ModelLayout.ElementOffset] = element;
                            break;
                        case 2:
                            int input = random.Next(4) switch { 0 => 0, 1 => -1, 2 => int.MaxValue, _ => BinaryPrimitives.ReadInt32LittleEndian(span[ModelLayout.InputSizeOffset..]) + 1 };
                            what.Append($"input size := {input}");
                            BinaryPrimitives.WriteInt32LittleEndian(span[ModelLayout.InputSizeOffset..], input);
                            break;
                        case 3:
                            int layers = random.Next(4) switch { 0 => 0, 1 => 65537, 2 => 1 << 30, _ => layout.LayerCount + (random.Next(2) == 0 ? 1 : -1) };
                            what.Append($"layer count := {layers}");
                            BinaryPrimitives.WriteInt32LittleEndian(span[ModelLayout.LayerCountOffset..], layers);
                            break;
                        default:
                            long count = random.Next(3) switch { 0 => -1, 1 => long.MaxValue, _ => layout.ParameterCount + 1 };
                            what.Append($"parameter count := {count}");
                            BinaryPrimitives.WriteInt64LittleEndian(span[layout.ParameterCountOffset..], count);
                            break;
                    }
                    break;
                }
            case 16:
            case 17:
                {
                    // An int8 layer's weight scales: NaN, ∞, negative, zero, denormal, huge (one or all of the layer's).
                    ModelLayout.Int8Layer int8 = layout.Int8Layers[random.Next(layout.Int8Layers.Count)];
                    double value = random.Next(2) == 0 ? TinyValues[random.Next(TinyValues.Length)] : HugeValues[random.Next(HugeValues.Length)];
                    bool all = random.Next(3) == 0;
                    int unit = random.Next(int8.Units);
                    what.Append($"layer {int8.Layer} weight scale{(all ? "s all" : $" {unit}")} := {value.ToString("R", CultureInfo.InvariantCulture)}");
                    for (int u = all ? 0 : unit; u < (all ? int8.Units : unit + 1); u++)
                        BinaryPrimitives.WriteSingleLittleEndian(span[(int8.ScalesOffset + 4 * u)..], (float)value);
                    break;
                }
            case 18:
                {
                    // An int8 layer's codes: −128 (outside the symmetric range), or every code at ±127 (the largest sums).
                    ModelLayout.Int8Layer int8 = layout.Int8Layers[random.Next(layout.Int8Layers.Count)];
                    int count = int8.Units * int8.Inputs;
                    if (random.Next(2) == 0)
                    {
                        int code = random.Next(count);
                        what.Append($"layer {int8.Layer} weight code {code} := -128");
                        span[int8.CodesOffset + code] = 0x80;
                    }
                    else
                    {
                        sbyte value = random.Next(2) == 0 ? (sbyte)127 : (sbyte)-127;
                        what.Append($"layer {int8.Layer} weight codes all := {value}");
                        span.Slice(int8.CodesOffset, count).Fill((byte)value);
                    }
                    break;
                }
            case 19:
                {
                    // The int8 block's weight count, or a layer's kind toggled between dense and int8 dense.
                    if (random.Next(2) == 0)
                    {
                        long old = BinaryPrimitives.ReadInt64LittleEndian(span[layout.Int8CountOffset..]);
                        long count = random.Next(4) switch { 0 => -1, 1 => long.MaxValue, 2 => old + 1, _ => old - 1 };
                        what.Append($"int8 weight count {old} := {count}");
                        BinaryPrimitives.WriteInt64LittleEndian(span[layout.Int8CountOffset..], count);
                    }
                    else
                    {
                        byte kind = span[at + ModelFileFormat.RecordKind] == ModelLayout.Int8DenseKind ? (byte)LayerKind.Dense : ModelLayout.Int8DenseKind;
                        what.Append($"layer {layer} kind := {kind}");
                        span[at + ModelFileFormat.RecordKind] = kind;
                    }
                    break;
                }
            default:
                {
                    // Reserved bytes that must be zero.
                    int offset = random.Next(2) == 0 ? ModelLayout.ReservedOffset : at + 5 + random.Next(3);
                    what.Append($"reserved byte {offset} := 1");
                    span[offset] = 1;
                    break;
                }
        }
    }
}
