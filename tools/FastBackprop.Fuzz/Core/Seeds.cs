using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using FastBackprop.Onnx;

namespace FastBackprop.Fuzz;

/// <summary>A valid CSV file and the options it is meant to be read with.</summary>
public sealed record CsvSeed(string Text, CsvOptions Options, bool Gzip, string Description);

/// <summary>A valid IDX image file and label file (the decompressed bytes; <c>Gzip</c> says whether to compress them).</summary>
public sealed record IdxSeed(byte[] Images, byte[] Labels, bool GzipImages, bool GzipLabels, IdxElementType ImageType, int Count, int Classes, string Description);

/// <summary>A valid model file and what it was built from.</summary>
public sealed record ModelSeed(byte[] Bytes, int InputSize, bool Standardized, bool Labelled, bool HasLoss, bool Double, string Description,
    bool Quantized = false);

/// <summary>A valid ONNX file in the QDQ form and the input size of its network.</summary>
public sealed record OnnxSeed(byte[] Bytes, int InputSize, string Description);

/// <summary>
/// Valid files, generated from a random source: every seed loads without error (the fuzz test checks that). Small on
/// purpose: mutations, not sizes, are what the fuzzer explores; the hostile mutators build the large inputs.
/// </summary>
public static class Seeds
{
    private static readonly string[] Species = ["setosa", "versicolor", "virginica", "x", "long label with spaces"];

    /// <summary>A CSV file: classification with text or numeric labels, or regression; header or not; some quoted cells.</summary>
    public static CsvSeed Csv(Random random)
    {
        int features = random.Next(1, 7);
        int rows = random.Next(6, 41);
        int shape = random.Next(4);   // 0 text labels, 1 numeric labels, 2 regression, 3 quoted cells + text labels
        bool regression = shape == 2;
        bool header = shape is 0 or 3 || random.Next(2) == 0;
        int classes = random.Next(2, 5);
        var text = new StringBuilder();
        if (header)
        {
            for (int f = 0; f < features; f++)
                text.Append(shape == 3 ? $"\"feature, {f}\"," : $"f{f},");
            text.Append(regression ? "target\n" : "label\n");
        }
        for (int r = 0; r < rows; r++)
        {
            for (int f = 0; f < features; f++)
            {
                double value = Math.Round((random.NextDouble() - 0.3) * Math.Pow(10, random.Next(-2, 4)), 4);
                string cell = value.ToString(random.Next(5) == 0 ? "E3" : "R", CultureInfo.InvariantCulture);
                text.Append(shape == 3 && random.Next(3) == 0 ? $"\"{cell}\"" : cell).Append(',');
            }
            int cls = r < classes ? r : random.Next(classes);   // every class occurs
            text.Append(shape switch
            {
                0 => Species[cls],
                1 => cls.ToString(CultureInfo.InvariantCulture),
                2 => (random.NextDouble() * 100 - 50).ToString("R", CultureInfo.InvariantCulture),
                _ => $"\"{Species[cls]}, \"\"q\"\"\"",
            });
            text.Append(random.Next(8) == 0 ? "\r\n" : "\n");
        }
        var options = new CsvOptions
        {
            Header = header ? (random.Next(2) == 0 ? CsvHeader.Yes : CsvHeader.Auto) : (random.Next(2) == 0 ? CsvHeader.No : CsvHeader.Auto),
            Task = regression ? CsvTask.Regression : CsvTask.Classification,
        };
        // Auto-detection of a header is only reliable when a header cell is not a number; a no-header file whose
        // label column is text reads fine with Auto (the label column is skipped by the detection).
        bool gzip = random.Next(3) == 0;
        string[] shapes = ["text labels", "numeric labels", "regression", "quoted cells"];
        return new CsvSeed(text.ToString(), options, gzip,
            $"csv {shapes[shape]}, {rows}×{features}{(header ? ", header" : "")}{(gzip ? ", gzip" : "")}");
    }

    /// <summary>An IDX image + label pair: ubyte images n×r×c (MNIST-like), or float32 / int16 n×f; ubyte labels.</summary>
    public static IdxSeed Idx(Random random)
    {
        int count = random.Next(4, 33);
        int classes = random.Next(2, Math.Min(count, 6) + 1);
        IdxElementType type = random.Next(4) switch
        {
            0 or 1 => IdxElementType.UnsignedByte,
            2 => IdxElementType.Float32,
            _ => IdxElementType.Int16,
        };
        int[] dims = type == IdxElementType.UnsignedByte ? [count, random.Next(2, 7), random.Next(2, 7)] : [count, random.Next(1, 9)];
        long elements = dims.Aggregate(1L, (a, d) => a * d);
        int size = type switch { IdxElementType.UnsignedByte => 1, IdxElementType.Int16 => 2, _ => 4 };
        byte[] images = Header(type, dims, elements * size);
        Span<byte> data = images.AsSpan(4 + 4 * dims.Length);
        for (long i = 0; i < elements; i++)
        {
            switch (type)
            {
                case IdxElementType.UnsignedByte: data[(int)i] = (byte)random.Next(256); break;
                case IdxElementType.Int16: BinaryPrimitives.WriteInt16BigEndian(data[(int)(2 * i)..], (short)random.Next(-1000, 1000)); break;
                default: BinaryPrimitives.WriteSingleBigEndian(data[(int)(4 * i)..], (float)(random.NextDouble() * 2 - 1)); break;
            }
        }
        byte[] labels = Header(IdxElementType.UnsignedByte, [count], count);
        for (int i = 0; i < count; i++)
            labels[8 + i] = (byte)(i < classes ? i : random.Next(classes));
        bool gzipImages = random.Next(3) == 0, gzipLabels = random.Next(3) == 0;
        return new IdxSeed(images, labels, gzipImages, gzipLabels, type, count, classes,
            $"idx {type} {string.Join('×', dims)}, {classes} classes{(gzipImages ? ", images gzip" : "")}{(gzipLabels ? ", labels gzip" : "")}");
    }

    /// <summary>An IDX header followed by room for <paramref name="dataBytes"/> bytes of values.</summary>
    public static byte[] Header(IdxElementType type, int[] dims, long dataBytes)
    {
        var bytes = new byte[4 + 4 * dims.Length + dataBytes];
        bytes[2] = (byte)type;
        bytes[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        return bytes;
    }

    /// <summary>A model file: a tiny network trained for a few steps, with or without standardisation, labels and loss;
    /// float32 or (sometimes) float64; a third of the float32 ones quantized (int8 layer records, format version 4), some
    /// with the output layer kept in fp32.</summary>
    public static ModelSeed Model(Random random)
    {
        bool asDouble = random.Next(4) == 0;
        if (asDouble)
            return Model<double>(random);
        ModelSeed seed = Model<float>(random);
        if (random.Next(3) != 0)
            return seed;
        bool keepOutput = random.Next(3) == 0;
        Model<float> quantized = ModelFile.Load<float>(new MemoryStream(seed.Bytes)).Quantize(new QuantizationOptions { KeepOutputLayerInFloat = keepOutput });
        if (!Enumerable.Range(0, quantized.Quantized!.LayerCount).Any(quantized.Quantized.IsQuantized))
            return seed;   // a single layer kept in fp32: the fp32 file
        using var stream = new MemoryStream();
        ModelFile.Save(stream, quantized);
        return seed with
        {
            Bytes = stream.ToArray(),
            Quantized = true,
            Description = seed.Description + (keepOutput ? ", int8 (output fp32)" : ", int8"),
        };
    }

    private static ModelSeed Model<T>(Random random) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        int inputs = random.Next(1, 7);
        int hidden = random.Next(0, 3);
        var layers = new List<LayerSpec>();
        for (int l = 0; l < hidden; l++)
        {
            Activation activation = random.Next(5) switch
            {
                0 => Activation.ReLU,
                1 => Activation.Tanh,
                2 => Activation.Sigmoid,
                3 => Activation.LeakyReLU(Math.Round(0.01 + random.NextDouble() * 0.3, 3)),
                _ => Activation.Identity,
            };
            layers.Add(new LayerSpec(random.Next(1, 9), activation));
            if (random.Next(3) == 0)
                layers.Add(LayerSpec.LayerNorm(random.Next(2) == 0 ? 1e-5 : 0.1));
        }
        int output = random.Next(3);   // 0 softmax classes, 1 sigmoid binary, 2 identity regression
        int classes = random.Next(2, 5);
        layers.Add(output switch
        {
            0 => new LayerSpec(classes, Activation.Softmax),
            1 => new LayerSpec(1, Activation.Sigmoid),
            _ => new LayerSpec(random.Next(1, 3), Activation.Identity),
        });
        Loss loss = output switch { 0 => Loss.SoftmaxCrossEntropy, 1 => Loss.BinaryCrossEntropy, _ => Loss.MeanSquaredError };
        var network = new Network<T>(inputs, layers, seed: random.Next());

        // A few real training steps, so parameters are not just the initialisation.
        const int batch = 8;
        var x = new T[batch * inputs];
        for (int i = 0; i < x.Length; i++)
            x[i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        const double rate = 0.05;
        for (int step = 0; step < 3; step++)
        {
            if (output == 0)
                network.TrainStep(x, Enumerable.Range(0, batch).Select(i => i % classes).ToArray(), batch, loss, rate);
            else
                network.TrainStep(x, Enumerable.Range(0, batch * network.OutputSize).Select(i => T.CreateChecked(i % 2)).ToArray(), batch, loss, rate);
        }

        bool standardized = random.Next(3) != 0;
        Standardizer<T>? standardizer = standardized
            ? new Standardizer<T>(
                Enumerable.Range(0, inputs).Select(_ => T.CreateChecked(Math.Round((random.NextDouble() - 0.5) * 200, 3))).ToArray(),
                Enumerable.Range(0, inputs).Select(_ => T.CreateChecked(0.01 + random.NextDouble() * 10)).ToArray())
            : null;
        bool labelled = output != 2 && random.Next(3) != 0;
        string[]? labels = labelled ? Enumerable.Range(0, output == 0 ? classes : 2).Select(i => Species[i]).ToArray() : null;
        bool hasLoss = random.Next(4) != 0;
        var model = new Model<T>(network, standardizer, labels, hasLoss ? loss : null);
        using var stream = new MemoryStream();
        ModelFile.Save(stream, model);
        string shape = string.Join('-', new[] { inputs.ToString(System.Globalization.CultureInfo.InvariantCulture) }
            .Concat(layers.Select(l => l.Kind == LayerKind.Dense ? l.Units.ToString(System.Globalization.CultureInfo.InvariantCulture) : LayerType.Of(l.Kind)!.Name)));
        return new ModelSeed(stream.ToArray(), inputs, standardized, labelled, hasLoss, typeof(T) == typeof(double),
            $"model {typeof(T).Name} {shape} {layers[^1].Activation}{(standardized ? ", standardised" : "")}{(labelled ? ", labels" : "")}{(hasLoss ? ", loss" : "")}");
    }

    /// <summary>Gzip-compresses <paramref name="bytes"/>.</summary>
    public static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest))
            gz.Write(bytes);
        return output.ToArray();
    }
    /// <summary>An MLP in the QDQ form quantize_static writes: per layer a DequantizeLinear of int8 weight codes (one scale,
    /// or one per unit; zero points packed in int32_data, unpacked, or raw), MatMul + Add or Gemm with a dequantized int32
    /// bias, an activation, and now and then an activation's QuantizeLinear → DequantizeLinear pair.</summary>
    public static OnnxSeed Qdq(Random random)
    {
        int layers = random.Next(1, 4), inputs = random.Next(1, 9), width = inputs;
        string[] storage = ["packed", "unpacked", "raw"];
        var g = new Tests.Onnx.OnnxGraphBuilder { Opset = random.Next(13, 22) };
        g.Input("x", null, inputs);
        string current = "x";
        var description = new StringBuilder($"QDQ {inputs}");
        for (int l = 0; l < layers; l++)
        {
            int units = l == layers - 1 ? random.Next(1, 5) : random.Next(1, 10);
            bool perUnit = random.Next(2) == 0, gemm = random.Next(2) == 0;
            sbyte[] codes = [.. Enumerable.Range(0, width * units).Select(_ => (sbyte)random.Next(-127, 128))];
            float[] scales = [.. Enumerable.Range(0, perUnit ? units : 1).Select(_ => (float)Math.Pow(10, -1 - 2 * random.NextDouble()))];
            long[] scaleDims = perUnit ? [units] : [];
            g.Int8Initializer($"W{l}_q", gemm ? [units, width] : [width, units], codes).Initializer($"W{l}_scale", scaleDims, scales)
                .IntegerInitializer($"W{l}_zero", scaleDims, OnnxFields.DataTypeInt8, new int[scales.Length], storage[random.Next(3)]);
            (string, object)[] axis = perUnit ? [("axis", gemm ? 0 : 1)] : [];
            g.Node("DequantizeLinear", $"W{l}_dq", [$"W{l}_q", $"W{l}_scale", $"W{l}_zero"], $"W{l}", axis);
            if (random.Next(3) == 0)
            {
                g.Initializer($"a{l}_scale", [], [0.05f]).IntegerInitializer($"a{l}_zero", [], OnnxFields.DataTypeUInt8, [128], storage[random.Next(3)])
                    .Node("QuantizeLinear", $"a{l}_q", [current, $"a{l}_scale", $"a{l}_zero"], $"a{l}_quantized")
                    .Node("DequantizeLinear", $"a{l}_dq", [$"a{l}_quantized", $"a{l}_scale", $"a{l}_zero"], $"a{l}_dequantized");
                current = $"a{l}_dequantized";
            }
            int[] bias = [.. Enumerable.Range(0, units).Select(_ => random.Next(-5000, 5001))];
            g.IntegerInitializer($"b{l}_q", [units], OnnxFields.DataTypeInt32, bias, storage[random.Next(3)]).Initializer($"b{l}_scale", [], [1e-4f])
                .Node("DequantizeLinear", $"b{l}_dq", [$"b{l}_q", $"b{l}_scale"], $"b{l}");
            if (gemm)
                g.Node("Gemm", $"fc{l}", [current, $"W{l}", $"b{l}"], $"z{l}", ("transB", 1));
            else
                g.Node("MatMul", $"fc{l}", [current, $"W{l}"], $"m{l}").Node("Add", $"bias{l}", [$"m{l}", $"b{l}"], $"z{l}");
            string activation = l == layers - 1 ? (units > 1 ? "Softmax" : "Sigmoid") : random.Next(2) == 0 ? "Relu" : "Tanh";
            g.Node(activation, $"act{l}", [$"z{l}"], l == layers - 1 ? "y" : $"h{l}");
            current = $"h{l}";
            description.Append($"-{units}{(gemm ? "g" : "m")}{(perUnit ? "c" : "t")}");
            width = units;
        }
        g.Output("y", null, width);
        return new OnnxSeed(g.Build(), inputs, description.ToString());
    }
}
