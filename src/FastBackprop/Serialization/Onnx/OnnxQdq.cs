using System.Globalization;
using FastBackprop.Kernels.Int8;

namespace FastBackprop.Onnx;

/// <summary>How a constant was dequantized: the integer codes of data type <paramref name="DataType"/>, the zero points and
/// scales (one of each for the whole tensor, or one per index of <paramref name="Axis"/>), and the DequantizeLinear node
/// that did it, as error messages name it.</summary>
internal sealed record OnnxQuantization(int DataType, int[] Codes, int[] ZeroPoints, float[] Scales, int Axis, string Node);

/// <summary>
/// Graphs in the QDQ form (what onnxruntime's <c>quantize_static</c> writes with <c>QuantFormat.QDQ</c>, and what
/// quantization-aware training exports): weights stored as integer codes behind a DequantizeLinear, activations passed
/// through QuantizeLinear → DequantizeLinear pairs. A DequantizeLinear of constants is folded into the float constant it
/// computes, remembering its codes, so a Gemm or MatMul whose weights come from symmetric int8 codes imports as an int8
/// layer with exactly those codes and scales (<see cref="Int8Weights"/>), and a dequantized bias as its float values. An
/// activation's QuantizeLinear → DequantizeLinear pair (read by <see cref="OnnxChain"/>) fixes one scale for the whole
/// tensor, calibrated in advance; this library quantizes each row by its own range at run time instead, so the pair is
/// read as that, and the predictions are close to, not the same as, ONNX Runtime's.
/// </summary>
internal static class OnnxQdq
{
    /// <summary>Folds every DequantizeLinear whose inputs are all initializers into an initializer named after its output
    /// (float32 values computed as ONNX defines them, <c>(float)(x − zero point) · scale</c>, with
    /// <see cref="OnnxTensor.Dequantized"/> set); returns the folded nodes, which the chain then skips. A malformed one is
    /// refused naming it.</summary>
    public static HashSet<OnnxNode> FoldConstants(OnnxGraph graph, string? name)
    {
        var folded = new HashSet<OnnxNode>();
        for (int k = 0; k < graph.Nodes.Count; k++)
        {
            OnnxNode node = graph.Nodes[k];
            if (node.OpType != "DequantizeLinear" || node.Domain is not ("" or "ai.onnx") || node.Inputs.Count is < 2 or > 3
                || !node.Inputs.All(i => i.Length == 0 || graph.Initializers.ContainsKey(i)) || node.Inputs[0].Length == 0)
                continue;
            string what = node.Describe(k);
            InvalidDataException Error(string problem) => ModelFormatError.Create(name, node.Offset, what, problem);
            OnnxTensor dequantized = Dequantize(graph, node, what, Error);
            if (node.Outputs.Count != 1 || node.Outputs[0].Length == 0)
                throw Error($"the node has {node.Outputs.Count} outputs; DequantizeLinear has one.");
            if (!graph.Initializers.TryAdd(dequantized.Name, dequantized) || graph.Inputs.Any(i => i.Name == dequantized.Name))
                throw Error($"its output '{dequantized.Name}' is also an initializer or a graph input: the graph names two values alike.");
            folded.Add(node);
        }
        return folded;
    }

    private static OnnxTensor Dequantize(OnnxGraph graph, OnnxNode node, string what, Func<string, InvalidDataException> error)
    {
        foreach (OnnxAttribute a in node.Attributes)
        {
            if (a.Name is not ("axis" or "block_size" or "output_dtype"))
                throw error($"attribute '{a.Name}' is not supported on DequantizeLinear (only axis, block_size 0 and output_dtype float).");
            if (a.Name == "block_size" && a.I != 0)
                throw error($"block_size = {a.I}: blocked quantization (a scale per block of {a.I} values) is not supported; one scale per tensor or per channel is.");
            if (a.Name == "output_dtype" && a.I is not (0 or OnnxFields.DataTypeFloat))
                throw error($"output_dtype = {a.I}: only float32 (1) is supported.");
        }
        OnnxTensor x = graph.Initializers[node.Inputs[0]], scale = graph.Initializers[node.Inputs[1]];
        OnnxTensor? zero = node.Inputs.Count == 3 && node.Inputs[2].Length > 0 ? graph.Initializers[node.Inputs[2]] : null;
        if (x.Integers is null)
            throw error($"its codes '{x.Name}' have data type {x.DataType}; uint8 (2), int8 (3), uint16 (4), int16 (5) or int32 (6) is needed.");
        if (scale.Floats is null || scale.Floats.Length == 0)
            throw error($"its scale '{scale.Name}' has data type {scale.DataType}{(scale.Floats is null ? "" : " and no values")}; float32 (1) is needed.");
        for (int i = 0; i < scale.Floats.Length; i++)
        {
            if (!(float.IsFinite(scale.Floats[i]) && scale.Floats[i] > 0))
                throw error(string.Create(CultureInfo.InvariantCulture, $"its scale '{scale.Name}' holds {scale.Floats[i]:R} at index {i}; a scale must be positive and finite."));
        }
        int channels = scale.Floats.Length, axis = -1;
        // One value (a scalar, or [1], as ONNX Runtime reads it) is one scale for the whole tensor.
        bool perTensor = channels == 1 && scale.Dims.Length <= 1;
        if (!perTensor)
        {
            long a = node.Attributes.FirstOrDefault(t => t.Name == "axis")?.I ?? 1;
            if (a < 0)
                a += x.Dims.Length;
            if (a < 0 || a >= x.Dims.Length || scale.Dims.Length != 1 || scale.Dims[0] != x.Dims[a])
                throw error($"its scale '{scale.Name}' has dims [{string.Join(", ", scale.Dims)}]; one value, or one per index of axis {a} of the codes [{string.Join(", ", x.Dims)}], is needed.");
            axis = (int)a;
        }
        int[] zeroPoints = new int[channels];
        if (zero is not null)
        {
            if (zero.DataType != x.DataType || zero.Integers is null || zero.Integers.Length != channels)
                throw error($"its zero point '{zero.Name}' must have the codes' data type ({x.DataType}) and as many values as the scale ({channels}); it has data type {zero.DataType} and {zero.Integers?.Length ?? 0} values.");
            zeroPoints = zero.Integers;
        }

        // Channel c of value i along the axis: (i / stride) mod dims[axis], stride = the product of the later dims.
        long stride = 1;
        for (int d = axis + 1; axis >= 0 && d < x.Dims.Length; d++)
            stride *= x.Dims[d];
        var values = new float[x.Integers.Length];
        for (int i = 0; i < values.Length; i++)
        {
            int c = axis < 0 ? 0 : (int)(i / stride % x.Dims[axis]);
            // As ONNX defines it, in float32: the difference in int32, converted, then one rounded multiplication.
            values[i] = (float)(x.Integers[i] - zeroPoints[c]) * scale.Floats[c];
            if (!float.IsFinite(values[i]))
                throw error(string.Create(CultureInfo.InvariantCulture, $"its value {i}, ({x.Integers[i]} − {zeroPoints[c]}) · {scale.Floats[c]:R}, overflows float32."));
        }
        return new OnnxTensor
        {
            Offset = node.Offset, Name = node.Outputs.Count > 0 ? node.Outputs[0] : "", Dims = x.Dims, DataType = OnnxFields.DataTypeFloat,
            Floats = values, Dequantized = new OnnxQuantization(x.DataType, x.Integers, zeroPoints, scale.Floats, axis, what),
        };
    }

    /// <summary>
    /// The codes (units×inputs, row-major) and per-unit scales of a dense layer whose weights are int8 codes with scales —
    /// dequantized by a DequantizeLinear (QDQ) or multiplied after MatMulInteger (quantize_dynamic's form): symmetric (zero
    /// point 0), in [−127, 127] (what the int8 kernels' no-overflow arithmetic assumes), with one scale for the tensor or one
    /// per unit (the axis of units: 0 when the weights are stored units×inputs, as Gemm with transB = 1 has them, else 1),
    /// each within <see cref="Int8Scheme"/>'s range. Anything else is refused, <paramref name="source"/> naming the weights;
    /// the layer is not silently imported in float.
    /// </summary>
    public static (sbyte[] Codes, float[] Scales) Int8Weights(OnnxQuantization q, string source, bool unitsFirst, int units, int inputs,
        Func<string, InvalidDataException> error)
    {
        if (q.DataType != OnnxFields.DataTypeInt8)
            throw error($"{source} have codes of data type {q.DataType}; an int8 layer takes int8 codes (3) with zero point 0.");
        if (Array.FindIndex(q.ZeroPoints, z => z != 0) is var nonzero and >= 0)
            throw error($"{source} have zero point {q.ZeroPoints[nonzero]}; int8 weights here are symmetric (zero point 0).");
        if (Array.IndexOf(q.Codes, sbyte.MinValue) is var low and >= 0)
            throw error($"{source} hold -128 at index {low}; int8 weights here are symmetric, in [-127, 127].");
        int unitAxis = unitsFirst ? 0 : 1;
        if (q.Axis >= 0 && q.Axis != unitAxis)
            throw error($"{source} have a scale per index of axis {q.Axis}, the inputs; an int8 layer has one scale per unit (axis {unitAxis}) or one for all.");
        if (inputs > Int8Scheme.MaxDepth)
            throw error($"{source} take {inputs} inputs; an int8 layer takes at most {Int8Scheme.MaxDepth}.");
        var scales = new float[units];
        for (int j = 0; j < units; j++)
        {
            scales[j] = q.Scales[q.Axis < 0 ? 0 : j];
            if (!(scales[j] >= Int8Scheme.MinWeightScale && scales[j] <= Int8Scheme.MaxWeightScale))
                throw error(string.Create(CultureInfo.InvariantCulture,
                    $"{source} have scale {scales[j]:R} for unit {j}; a scale must be in [{Int8Scheme.MinWeightScale:R}, {Int8Scheme.MaxWeightScale:R}]."));
        }
        var codes = new sbyte[units * inputs];
        for (int j = 0; j < units; j++)
            for (int k = 0; k < inputs; k++)
                codes[j * inputs + k] = (sbyte)q.Codes[unitsFirst ? j * inputs + k : k * units + j];
        return (codes, scales);
    }
}
