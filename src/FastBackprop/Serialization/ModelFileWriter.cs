using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace FastBackprop;

// A model's bytes: the header, one record per layer, the parameter and int8 blocks, the optional blocks and the
// SHA-256 (docs/MODEL_FORMAT.md), into a buffer sized by the save-time plan.
public static partial class ModelFile
{
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
}
