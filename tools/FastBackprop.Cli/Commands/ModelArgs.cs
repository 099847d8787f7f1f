namespace FastBackprop.Cli;

/// <summary>Loading the model named by --model, with corrupt files reported as data errors.</summary>
internal static class ModelArgs
{
    public static Model<float> Load(ParsedArgs args)
    {
        string path = args.File("--model") ?? throw new UsageException($"'{args.Command}' needs --model MODEL (a file saved by 'train --save')");
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
            + (model.TargetStandardization is null ? "" : ", standardised targets (predictions in the target's units)");
    }
}
