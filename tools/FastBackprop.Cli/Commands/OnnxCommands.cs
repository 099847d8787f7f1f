using System.CommandLine;

namespace FastBackprop.Cli;

/// <summary><c>export</c> and <c>import</c>: convert between model files (.fbpm) and ONNX (<see cref="OnnxModel"/>).</summary>
internal static class OnnxCommands
{
    private const string ExportNotes =
        """
        The ONNX graph (opset 17, float32) maps raw features 'input' [batch, inputs] to 'output'
        [batch, outputs] as 'predict' does: the input standardisation (Sub, Mul), each dense layer as Gemm
        and its activation, and a regression model's target standardisation undone (Div, Add). Dropout
        layers are left out (inference). Class labels and the loss are stored in the model's metadata
        (fastbackprop.class_labels, fastbackprop.loss), and so are the feature names
        (fastbackprop.feature_names). A quantized model's int8 layers are written as onnxruntime's
        quantize_dynamic writes them (DynamicQuantizeLinear, MatMulInteger, Cast, Mul by the scales, Add
        the bias). OUT.onnx is written atomically; an existing OUT.onnx that is not a regular file (a
        device, FIFO, socket) is refused.
        """;

    private const string ImportNotes =
        """
        Reads what 'export' writes and what torch.onnx.export writes for nn.Sequential of nn.Linear and
        ReLU/LeakyReLU/Sigmoid/Tanh/Softmax/SiLU/Identity/Flatten/Dropout (opsets 7-23): Gemm or MatMul+Add
        with constant weights in either layout, an optional Sub/Mul (or Div) input standardisation first,
        and int8 layers as quantize_dynamic writes them (they import as a quantized model's int8 layers).
        Any other operator, a branching graph or external weight files are refused, naming the node.
        An ONNX file holds no class names: unless its metadata has them (fastbackprop.class_labels, as
        'export' writes), a network ending in Softmax becomes a classifier with the classes 0 to K-1
        (the output indices); give names with --labels NAME,NAME,... in output order.
        OUT.fbpm is written atomically and can be used with 'evaluate' and 'predict'.
        """;

    private static readonly Argument<string> ExportSource = new("MODEL.fbpm") { Description = "a model saved by 'train --save' (or 'quantize')" };
    private static readonly Argument<string> ExportDestination = new("OUT.onnx") { Description = "the ONNX file to write" };
    private static readonly Argument<string> ImportSource = new("MODEL.onnx") { Description = "the ONNX model to read" };
    private static readonly Argument<string> ImportDestination = new("OUT.fbpm") { Description = "the model file to write" };
    private static readonly Option<string?> Labels = CliOption.Text("--labels", "NAME,NAME,...",
        "the class names, comma-separated in output order (for a Softmax output, or two for a single Sigmoid unit)");

    public static readonly CliCommand ExportDefinition = new("export", "write a saved model as ONNX (for ONNX Runtime, PyTorch's tools, ...)",
        [ExportSource, ExportDestination], (args, context) => Export(args, context.Output, context.Interrupt))
    {
        WrongArguments = given => WrongArguments("export", "MODEL.fbpm OUT.onnx", given),
        Notes = ExportNotes,
    };

    public static readonly CliCommand ImportDefinition = new("import", "read a dense network from ONNX into a model file",
        [ImportSource, ImportDestination, Labels], (args, context) => Import(args, context.Output, context.Interrupt))
    {
        WrongArguments = given => WrongArguments("import", "MODEL.onnx OUT.fbpm [--labels NAME,NAME,...]", given),
        Notes = ImportNotes,
    };

    public static int Export(ParsedArgs args, TextWriter output, CancellationToken interrupt)
    {
        var (source, destination) = Paths(args, ExportSource, ExportDestination, "MODEL.fbpm OUT.onnx");
        Model<float> model = ModelFile.Load<float>(source);
        interrupt.ThrowIfCancellationRequested();
        OnnxModel.Export(model, destination);
        output.WriteLine($"exported {ModelArgs.Describe(model)} to {destination} (ONNX opset {OnnxModel.OpsetVersion}, {new FileInfo(destination).Length} bytes)");
        return Program.ExitOk;
    }

    public static int Import(ParsedArgs args, TextWriter output, CancellationToken interrupt)
    {
        string? labelList = args.Value(Labels);
        if (labelList is { Length: 0 })
            throw new UsageException("--labels needs the class names, comma-separated in output order (e.g. --labels cat,dog,bird)");
        string[]? labels = labelList?.Split(',');
        var (source, destination) = Paths(args, ImportSource, ImportDestination, "MODEL.onnx OUT.fbpm [--labels NAME,NAME,...]");
        Model<float> model = OnnxModel.Import<float>(source);
        if (labels is not null)
            model = WithLabels(model, labels);
        interrupt.ThrowIfCancellationRequested();
        ModelFile.Save(destination, model);
        output.WriteLine($"imported {ModelArgs.Describe(model)} to {destination}");
        return Program.ExitOk;
    }

    /// <summary>The imported model as a classifier with the given class names: a softmax output (one name per unit) or
    /// a single sigmoid output (two names: below and above 0.5).</summary>
    private static Model<float> WithLabels(Model<float> model, string[] labels)
    {
        ActivationKind output = model.Network.Layer(model.Network.LayerCount - 1).Activation.Kind;
        if (model.TargetStandardization is not null || !(output == ActivationKind.Softmax || output == ActivationKind.Sigmoid && model.OutputSize == 1))
            throw new UsageException($"--labels: the network's output ({model.OutputSize} unit(s), {output}) is not a classifier's; class names fit a Softmax output or a single Sigmoid unit");
        try
        {
            var labelled = new Model<float>(model.Network, model.InputStandardization, labels, model.Loss) { FeatureNames = model.FeatureNames };
            ModelFile.CheckSavable(labelled);
            return labelled;
        }
        catch (ArgumentException e)
        {
            string message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            throw new UsageException($"--labels {string.Join(',', labels)}: {message}");
        }
    }

    private static string WrongArguments(string command, string usage, IReadOnlyList<string> given)
        => $"'{command}' takes two file names: {usage} (got {given.Count} argument(s){(given.Count > 0 ? $": {string.Join(' ', given)}" : "")})";

    private static (string Source, string Destination) Paths(ParsedArgs args, Argument<string> source, Argument<string> destination, string usage)
    {
        string[] paths = [args.Value(source)!, args.Value(destination)!];
        if (paths.Any(a => a.StartsWith('-')))
            throw new UsageException(WrongArguments(args.Command, usage, paths));
        FileArgs.CheckInput($"'{args.Command}'", paths[0]);
        FileArgs.CheckOutput($"'{args.Command}' output", paths[1]);
        return (paths[0], paths[1]);
    }
}
