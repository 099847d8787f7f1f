using System.Numerics;
using System.Runtime.CompilerServices;
using FastBackprop.Hardware;
using FastBackprop.Kernels.Elementwise;
using FastBackprop.Kernels.Int8;

namespace FastBackprop;

/// <summary>Rows of 7-bit activation codes and each row's (lo, s) (<see cref="Int8Scheme"/>).</summary>
internal readonly unsafe struct QuantizedRows(byte* codes, nint stride, float* low, float* scale)
{
    /// <summary>Row r's codes start at Codes + r·Stride (null: no codes).</summary>
    public readonly byte* Codes = codes;
    public readonly nint Stride = stride;
    public readonly float* Low = low;
    public readonly float* Scale = scale;
}

/// <summary>
/// A dense layer at int8 (<see cref="Int8Scheme"/>): its weight codes per output channel with their scales and column sums,
/// its fp32 biases and activation — everything a model file or an ONNX graph needs to write it back — and the codes
/// packed for the int8 kernels, once per instruction path that runs it. Immutable (the packings are added once, atomically),
/// so any number of threads may run it.
/// </summary>
internal sealed unsafe class QuantizedDenseLayer
{
    private readonly sbyte[] codes;
    private readonly float[] scales, columnSums, biases;   // pinned: read through pointers
    private readonly PackedInt8Weights?[] packed = new PackedInt8Weights?[Int8Paths.All.Length];

    /// <summary>Quantizes fp32 weights (units×inputs, row-major) per output channel.</summary>
    public QuantizedDenseLayer(ReadOnlySpan<float> weights, ReadOnlySpan<float> biases, int inputs, int units, Activation activation)
        : this(biases, inputs, units, activation)
    {
        for (int j = 0; j < units; j++)
        {
            scales[j] = Int8Scheme.QuantizeChannel(weights.Slice(j * inputs, inputs), codes.AsSpan(j * inputs, inputs), out int sum);
            columnSums[j] = sum;   // |sum| ≤ 127·MaxDepth < 2²⁴: exact
        }
        Packed(KernelConfiguration.Active.Int8Path);
    }

    /// <summary>A layer already quantized (as a model file stores it): its codes in [−127, 127] and positive scales, checked
    /// by the reader; the column sums are recomputed.</summary>
    public QuantizedDenseLayer(ReadOnlySpan<sbyte> codes, ReadOnlySpan<float> scales, ReadOnlySpan<float> biases, int inputs, int units,
        Activation activation)
        : this(biases, inputs, units, activation)
    {
        codes.CopyTo(this.codes);
        scales.CopyTo(this.scales);
        for (int j = 0; j < units; j++)
        {
            int sum = 0;
            foreach (sbyte q in codes.Slice(j * inputs, inputs))
                sum += q;
            columnSums[j] = sum;
        }
        Packed(KernelConfiguration.Active.Int8Path);
    }

    private QuantizedDenseLayer(ReadOnlySpan<float> biases, int inputs, int units, Activation activation)
    {
        if (inputs > Int8Scheme.MaxDepth)
            throw new ArgumentOutOfRangeException(nameof(inputs), inputs,
                $"A quantized layer takes at most {Int8Scheme.MaxDepth:N0} inputs (int32 accumulators), this one has {inputs:N0}; keep it in fp32.");
        Inputs = inputs;
        Units = units;
        Activation = activation;
        codes = new sbyte[checked(units * inputs)];
        scales = GC.AllocateArray<float>(units, pinned: true);
        columnSums = GC.AllocateArray<float>(units, pinned: true);
        this.biases = GC.AllocateArray<float>(units, pinned: true);
        biases.CopyTo(this.biases);
    }

    public int Inputs { get; }
    public int Units { get; }
    public Activation Activation { get; }

    /// <summary>The weight codes q_jk, units×inputs row-major, each in [−127, 127].</summary>
    public ReadOnlySpan<sbyte> Codes => codes;

    /// <summary>The per-channel scales s_j (W_jk ≈ s_j·q_jk).</summary>
    public ReadOnlySpan<float> Scales => scales;

    public ReadOnlySpan<float> Biases => biases;

    /// <summary>The codes packed for <paramref name="path"/>, built on first use (a test forcing another path pays it once).</summary>
    public PackedInt8Weights Packed(Int8Path path)
    {
        ref PackedInt8Weights? slot = ref packed[(int)path];
        if (slot is null)
            Interlocked.CompareExchange(ref slot, new PackedInt8Weights(codes, Units, Inputs, path), null);
        return slot;
    }

    /// <summary>Runs <paramref name="batch"/> rows of <paramref name="input"/>, writing either the next layer's codes
    /// (<paramref name="codesOut"/>) or floats (<paramref name="floatsOut"/>, ld = Units).</summary>
    public void Forward(in QuantizedRows input, int batch, in QuantizedRows codesOut, float* floatsOut, QuantizedInferenceWorkspace scratch)
    {
        fixed (int* accumulators = scratch.Accumulators)
        fixed (float* rows = scratch.RowScratch)
        {
            var epilogue = new DenseEpilogue(this, input, codesOut, floatsOut, rows, scratch.RowScratchPerPart);
            Int8Gemm.Run(Packed(KernelConfiguration.Active.Int8Path), input.Codes, input.Stride, batch, epilogue,
                accumulators, scratch.AccumulatorsPerPart, scratch.Parts);
        }
    }

    /// <summary>y_j = (((float)acc_j · s) + (lo · c_j)) · s_j + b_j, the activation, and the next layer's codes: the order
    /// <see cref="Int8Scheme"/> fixes, with separate multiplies and adds, so every register width gives the same bits.</summary>
    private readonly struct DenseEpilogue(QuantizedDenseLayer layer, QuantizedRows input, QuantizedRows codesOut, float* floatsOut,
        float* rowScratch, nint rowScratchPerPart) : IInt8RowEpilogue
    {
        private readonly float* columnSums = (float*)Unsafe.AsPointer(ref layer.columnSums[0]);
        private readonly float* scales = (float*)Unsafe.AsPointer(ref layer.scales[0]);
        private readonly float* biases = (float*)Unsafe.AsPointer(ref layer.biases[0]);
        private readonly int units = layer.Units;
        private readonly Activation activation = layer.Activation;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Finish(int row, int* accumulators, int part)
        {
            float* y = floatsOut != null ? floatsOut + (nint)row * units : rowScratch + part * rowScratchPerPart;
            Dequantize(accumulators, input.Scale[row], input.Low[row], y);
            var values = new Span<float>(y, units);
            if (activation.Kind == ActivationKind.Softmax)
                Elementwise<float>.Softmax(values, values);
            else
                ActivationKernels<float>.ApplyInPlace(activation, values);
            if (codesOut.Codes != null)
                (codesOut.Low[row], codesOut.Scale[row]) = Int8Scheme.QuantizeRow(y, units, codesOut.Codes + row * codesOut.Stride);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Dequantize(int* acc, float scale, float low, float* y)
        {
            int j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var s = new Vector<float>(scale);
                var lo = new Vector<float>(low);
                for (; j + Vector<float>.Count <= units; j += Vector<float>.Count)
                {
                    Vector<float> t = Vector.ConvertToSingle(Vector.Load(acc + j)) * s;
                    Vector<float> u = lo * Vector.Load(columnSums + j);
                    Vector<float> v = (t + u) * Vector.Load(scales + j);
                    (v + Vector.Load(biases + j)).Store(y + j);
                }
            }
            for (; j < units; j++)
            {
                float t = acc[j] * scale;
                float u = low * columnSums[j];
                float v = (t + u) * scales[j];
                y[j] = v + biases[j];
            }
        }
    }
}
