using System.Numerics;
using FastBackprop.Onnx;

namespace FastBackprop;

/// <summary>
/// Exports a <see cref="Model{T}"/> to ONNX and imports the dense feed-forward networks that PyTorch
/// (<c>torch.onnx.export</c> of <c>nn.Sequential</c> of <c>nn.Linear</c> and activations) and this class write.
/// The ONNX file is read and written with a small protobuf wire-format reader/writer of this library (no native code,
/// no protobuf package; docs/ONNX.md). Import is strict: a graph it cannot map exactly onto a <see cref="Network{T}"/>
/// is refused with an <see cref="InvalidDataException"/> naming the node and its operator, never turned into a
/// different network.
/// </summary>
public static class OnnxModel
{
    /// <summary>The ONNX IR version of exported files (8: ONNX 1.10, read by ONNX Runtime 1.10 and later).</summary>
    public const int IrVersion = 8;

    /// <summary>The default-domain opset of exported files.</summary>
    public const int OpsetVersion = 17;

    /// <summary>The <c>metadata_props</c> key under which the class labels are exported: a JSON array of strings, one
    /// per class (see <see cref="Model{T}.ClassLabels"/>).</summary>
    public const string ClassLabelsKey = "fastbackprop.class_labels";

    /// <summary>The <c>metadata_props</c> key under which the feature names are exported: a JSON array of strings, one
    /// per input (see <see cref="Model{T}.FeatureNames"/>).</summary>
    public const string FeatureNamesKey = "fastbackprop.feature_names";

    /// <summary>The <c>metadata_props</c> key under which the training loss is exported (e.g. <c>SoftmaxCrossEntropy/Mean</c>).</summary>
    public const string LossKey = "fastbackprop.loss";

    /// <summary>The name of the exported graph's input, a float tensor [batch, InputSize] of raw features.</summary>
    public const string InputName = "input";

    /// <summary>The name of the exported graph's output, a float tensor [batch, OutputSize]: what <see cref="Model{T}.Predict"/> returns.</summary>
    public const string OutputName = "output";

    /// <summary>The lowest and highest default-domain opsets import accepts (the operators it maps mean the same on
    /// a [batch, features] tensor in all of them).</summary>
    public const int MinImportOpset = 7, MaxImportOpset = 23;

    /// <summary>Writes <paramref name="model"/> as an ONNX model to <paramref name="path"/>, atomically (as
    /// <see cref="ModelFile.Save{T}(string, Model{T})"/>). See <see cref="Export{T}(Model{T}, Stream)"/>.</summary>
    public static void Export<T>(Model<T> model, string path) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        byte[] bytes = OnnxExporter.Write(model);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Writes <paramref name="model"/> as an ONNX model (IR <see cref="IrVersion"/>, opset
    /// <see cref="OpsetVersion"/>, float32) to <paramref name="stream"/> (left open). The graph maps raw features
    /// <see cref="InputName"/> [batch, InputSize] to <see cref="OutputName"/> [batch, OutputSize] exactly as
    /// <see cref="Model{T}.Predict"/> does: the input standardisation (Sub mean, Mul scale), each dense layer as
    /// Gemm (transB = 1) and its activation (SiLU as x·Sigmoid(x), step as Sign(Relu(x))), each layer normalisation as
    /// LayerNormalization (axis −1, its ε, γ and β; opset 17), dropout layers omitted
    /// (inference), and a regression model's target standardisation undone (Div scale, Add mean). Class labels, feature
    /// names and the loss go into the model's metadata (<see cref="ClassLabelsKey"/>, <see cref="FeatureNamesKey"/>,
    /// <see cref="LossKey"/>). A double model is
    /// rounded to float. A quantized model's int8 layers (<see cref="Model{T}.Quantized"/>) are written as onnxruntime's
    /// quantize_dynamic writes a MatMul: DynamicQuantizeLinear, MatMulInteger (its codes, int8 [inputs, units]), Cast, Mul
    /// by the activation scale times the weight scales (one per unit), Add the bias; ONNX Runtime quantizes activations
    /// per tensor where this library quantizes them per row, so its predictions are close to, not the same as,
    /// <see cref="Model{T}.Predict"/>'s. Importing the file gives back the same int8 layers.</summary>
    /// <exception cref="ArgumentException">A double value does not fit in float.</exception>
    public static void Export<T>(Model<T> model, Stream stream) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(OnnxExporter.Write(model));
    }

    /// <summary>Imports an ONNX model from <paramref name="path"/> (at most <see cref="ModelFile.MaxFileBytes"/>
    /// bytes). See <see cref="Import{T}(Stream)"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not an ONNX model, is corrupt, or holds a graph this library cannot run exactly.</exception>
    public static Model<T> Import<T>(string path) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return OnnxImporter.Import<T>(ModelFile.ReadFile(path), path);
    }

    /// <summary>Imports an ONNX model from a stream (read to its end, left open). The graph must be a chain from
    /// one input to one output of: Gemm (transA = 0, transB 0 or 1, alpha = beta = 1, constant weights and optional
    /// bias) or MatMul followed by Add (constant weights and bias), each optionally followed by one activation —
    /// Relu, LeakyRelu, Sigmoid, Tanh, Softmax on the last axis, Sigmoid then Mul (SiLU), Relu then Sign (step) — and
    /// LayerNormalization on the last axis (stash_type 1; a layer normalisation, after a layer's activation or before the
    /// first layer), with Identity, Flatten (axis 1) and Dropout (inference: identity) anywhere; before the first layer optionally Sub
    /// (mean) and Mul (scale) or Div (standard deviation), the input standardisation; after the last optionally Div
    /// (scale) and Add (mean), the target standardisation. Weights are float32 or float64 initializers, in either layout.
    /// A MatMul quantized as onnxruntime's quantize_dynamic writes it (DynamicQuantizeLinear, MatMulInteger with int8
    /// weights in [−127, 127] and zero points 0, Cast to float, Mul by the scales — one or one per unit — then the bias
    /// Add) imports as an int8 layer of a quantized model (<see cref="Model{T}.Quantized"/>; float only), and so does a Gemm or
    /// MatMul whose weights a DequantizeLinear makes from int8 codes (the QDQ form of quantize_static: zero point 0, one scale
    /// or one per unit); a DequantizeLinear of a constant bias gives its float values, and an activation's QuantizeLinear →
    /// DequantizeLinear pair is read as this library's per-row quantization (see <c>docs/ONNX.md</c>).
    /// Metadata written by <see cref="Export{T}(Model{T}, Stream)"/> restores class labels, feature names and loss, so an
    /// exported float model imports to one that predicts bit-identically. Without class labels in the metadata, a
    /// network whose last layer is a Softmax is a classifier with the classes "0" to "K−1" (the output units' indices,
    /// as PyTorch's class indices), since the probabilities it outputs sum to 1 and are no regression target.</summary>
    /// <exception cref="InvalidDataException">The bytes are not an ONNX model, are corrupt or truncated, or hold an
    /// operator, attribute, shape or structure that cannot be mapped; the message names the node and operator.</exception>
    public static Model<T> Import<T>(Stream stream) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        return OnnxImporter.Import<T>(ModelFile.ReadStream(stream).Span, null);
    }

    internal static string LossText(Loss loss) => $"{loss.Kind}/{loss.Reduction}";
}
