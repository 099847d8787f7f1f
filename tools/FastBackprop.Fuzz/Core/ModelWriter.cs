using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>
/// Writes float32 model files (docs/MODEL_FORMAT.md, version 2, or 5 once a layer normalisation is in) from layer records
/// and parameters directly, for the
/// shapes no training would make: tens of thousands of layers, or weights chosen to cancel. Going around
/// <see cref="Network{T}"/> keeps a 60,000-layer file cheap to make and leaves every allocation to the code under test.
/// </summary>
public sealed class ModelWriter(int inputSize)
{
    private readonly List<(int Units, ActivationKind Activation, LayerKind Kind, double Alpha)> layers = [];
    private readonly List<float> parameters = [];
    private int width = inputSize;

    public int InputSize { get; } = inputSize;

    /// <summary>The widest layer (the input included): what one row of activations costs.</summary>
    public int MaxWidth { get; private set; } = inputSize;

    public int LayerCount => layers.Count;

    /// <summary>A dense layer; <paramref name="weight"/>(unit, input) gives W (bias 0 unless <paramref name="bias"/>).</summary>
    public ModelWriter Dense(int units, ActivationKind activation, Func<int, int, float> weight, Func<int, float>? bias = null, double alpha = 0)
    {
        for (int u = 0; u < units; u++)
        {
            for (int i = 0; i < width; i++)
                parameters.Add(weight(u, i));
        }
        for (int u = 0; u < units; u++)
            parameters.Add(bias?.Invoke(u) ?? 0f);
        return Add(units, activation, LayerKind.Dense, alpha);
    }

    /// <summary><paramref name="count"/> dropout layers as wide as the layer before (no parameters).</summary>
    public ModelWriter Dropouts(int count, double rate = 0.5)
    {
        for (int i = 0; i < count; i++)
            layers.Add((width, ActivationKind.Identity, LayerKind.Dropout, rate));
        return this;
    }

    /// <summary><paramref name="count"/> layer normalisations as wide as the layer before, each with its γ and β.</summary>
    public ModelWriter LayerNorms(int count, double epsilon, Func<int, float> gamma, Func<int, float> beta)
    {
        for (int n = 0; n < count; n++)
        {
            for (int i = 0; i < width; i++)
                parameters.Add(gamma(i));
            for (int i = 0; i < width; i++)
                parameters.Add(beta(i));
            layers.Add((width, ActivationKind.Identity, LayerKind.LayerNorm, epsilon));
        }
        return this;
    }

    private ModelWriter Add(int units, ActivationKind activation, LayerKind kind, double alpha)
    {
        layers.Add((units, activation, kind, alpha));
        width = units;
        MaxWidth = Math.Max(MaxWidth, units);
        return this;
    }

    /// <summary>The file: header, layers, parameters, optional standardisation and labels, and the SHA-256.</summary>
    public byte[] ToBytes(float[]? means = null, float[]? scales = null, string[]? labels = null)
    {
        byte[][] labelBytes = labels?.Select(Encoding.UTF8.GetBytes).ToArray() ?? [];
        long size = ModelFileFormat.ParameterCountOffset(layers.Count) + ModelFileFormat.ParameterCountBytes + 4L * parameters.Count + (means is null ? 0 : 4 + 8L * means.Length)
            + (labels is null ? 0 : 4 + labelBytes.Sum(b => 4L + b.Length)) + 32;
        var file = new byte[size];
        Span<byte> s = file;
        "FBPMODEL"u8.CopyTo(s);
        // The oldest version that has every kind written (at least 2, the first with layer kinds), as each kind states it.
        BinaryPrimitives.WriteUInt32LittleEndian(s[ModelFileFormat.VersionOffset..], layers.Select(l => LayerType.Of(l.Kind)?.FileVersion ?? ModelFile.FormatVersion).Append(2u).Max());
        s[ModelFileFormat.ElementOffset] = 4;
        s[ModelFileFormat.FlagsOffset] = (byte)((means is null ? 0 : 1) | (labels is null ? 0 : 2));
        BinaryPrimitives.WriteInt32LittleEndian(s[ModelFileFormat.InputSizeOffset..], InputSize);
        BinaryPrimitives.WriteInt32LittleEndian(s[ModelFileFormat.LayerCountOffset..], layers.Count);
        int at = ModelFileFormat.HeaderBytes;
        foreach ((int units, ActivationKind activation, LayerKind kind, double alpha) in layers)
        {
            BinaryPrimitives.WriteInt32LittleEndian(s[at..], units);
            s[at + ModelFileFormat.RecordActivation] = (byte)activation;
            s[at + ModelFileFormat.RecordKind] = (byte)kind;
            BinaryPrimitives.WriteDoubleLittleEndian(s[(at + ModelFileFormat.RecordValue)..], alpha);
            at += ModelFileFormat.LayerRecordBytes;
        }
        BinaryPrimitives.WriteInt64LittleEndian(s[at..], parameters.Count);
        at += ModelFileFormat.ParameterCountBytes;
        foreach (float p in parameters)
        {
            BinaryPrimitives.WriteSingleLittleEndian(s[at..], p);
            at += 4;
        }
        if (means is not null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(s[at..], means.Length);
            at += 4;
            foreach (float v in means.Concat(scales!))
            {
                BinaryPrimitives.WriteSingleLittleEndian(s[at..], v);
                at += 4;
            }
        }
        if (labels is not null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(s[at..], labels.Length);
            at += 4;
            foreach (byte[] label in labelBytes)
            {
                BinaryPrimitives.WriteInt32LittleEndian(s[at..], label.Length);
                label.CopyTo(s[(at + 4)..]);
                at += 4 + label.Length;
            }
        }
        SHA256.HashData(file.AsSpan(0, at), file.AsSpan(at));
        return file;
    }
}
