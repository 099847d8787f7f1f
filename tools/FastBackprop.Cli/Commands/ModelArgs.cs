using System.CommandLine;

namespace FastBackprop.Cli;

/// <summary>Loading the model named by --model, with corrupt files reported as data errors.</summary>
internal static class ModelArgs
{
    /// <summary>--model of evaluate and predict.</summary>
    public static readonly Option<string?> Model = CliOption.Text("--model", "MODEL", "a model saved by 'train --save'");

    /// <summary>Loads the model that <paramref name="option"/> names (by default <see cref="Model"/>).</summary>
    public static Model<float> Load(ParsedArgs args, Option<string?>? option = null)
    {
        string path = args.File(option ?? Model) ?? throw new UsageException($"'{args.Command}' needs --model MODEL (a file saved by 'train --save')");
        return ModelFile.Load<float>(path);
    }

    public static string Describe(Model<float> model)
    {
        Network<float> n = model.Network;
        var sizes = new List<int> { n.InputSize };
        for (int l = 0; l < n.LayerCount; l++)
            sizes.Add(n.Layer(l).Units);
        string kind = model.ClassLabels is { } labels ? $"{labels.Count} classes" : "regression";
        return $"{string.Join("-", sizes)} ({n.Layer(0).Activation} hidden, {n.Layer(n.LayerCount - 1).Activation} output), {kind}"
            + (model.InputStandardization is null ? "" : ", standardised inputs")
            + (model.TargetStandardization is null ? "" : ", standardised targets (predictions in the target's units)")
            + (model.Quantized is { } quantized ? $", {Precisions(quantized)}" : "");
    }

    /// <summary>Which dense layers of a quantized model run at int8 and which in fp32, e.g. "int8 layers 0, 1, fp32 layer 2".</summary>
    public static string Precisions(QuantizedNetwork network)
    {
        int[] dense = [.. Enumerable.Range(0, network.LayerCount).Where(l => network.Layer(l).Kind == LayerKind.Dense)];
        int[] int8 = [.. dense.Where(network.IsQuantized)], fp32 = [.. dense.Where(l => !network.IsQuantized(l))];
        static string List(string precision, int[] layers) => $"{precision} layer{(layers.Length == 1 ? "" : "s")} {string.Join(", ", layers)}";
        return List("int8", int8) + (fp32.Length > 0 ? ", " + List("fp32", fp32) : "");
    }

    /// <summary>One line per layer: its kind, width, activation, inputs and, in a quantized model, its precision.</summary>
    public static IEnumerable<string> Layers(Model<float> model)
    {
        Network<float> n = model.Network;
        int inputs = n.InputSize;
        for (int l = 0; l < n.LayerCount; l++)
        {
            LayerSpec spec = n.Layer(l);
            // The kind describes itself; a dense layer of a quantized model also says which precision it runs in.
            string precision = model.Quantized is null || spec.Kind != LayerKind.Dense ? "" : model.Quantized.IsQuantized(l) ? ", int8" : ", fp32";
            yield return $"layer {l}: {LayerType.Of(spec.Kind)!.Summary(spec, inputs, model.Quantized is not null)}{precision}";
            inputs = spec.Units;
        }
    }
}
