using System.Text;

namespace FastBackprop.Fuzz;

/// <summary>
/// FIFOs and character-device nodes (null 1,3; zero 1,5; full 1,7 — nodes made in the case's own directory, never a
/// system device) given to the CLI as a target (<c>train --save</c>, <c>export</c>, <c>import</c>,
/// <c>predict --output</c>) or as an input (<c>--csv</c>, <c>--idx</c>, <c>--model</c>, <c>import</c>'s ONNX file).
/// A FIFO has no other end: opening it blocks. The command must end within the time limit (else a hang) and leave
/// every node as it was (else silent nonsense: the node was replaced by a regular file).
/// </summary>
public static class SpecialFileCases
{
    private static readonly (string Name, int Minor)[] Devices = [("null", 3), ("zero", 5), ("full", 7)];

    public static FuzzCase Create(Random random, int runSeed, int index)
    {
        CsvSeed csv = Seeds.Csv(random);
        ModelSeed seed = Seeds.Model(random);
        using var onnx = new MemoryStream();
        OnnxModel.Export(ModelFile.Load<float>(new MemoryStream(seed.Bytes)), onnx);
        IdxSeed idx = Seeds.Idx(random);
        var rows = new StringBuilder();
        for (int r = 0; r < 3; r++)
            rows.AppendJoin(',', Enumerable.Repeat(r.ToString(System.Globalization.CultureInfo.InvariantCulture), seed.InputSize)).Append('\n');

        bool fifo = random.Next(2) == 0;
        (string device, int minor) = Devices[random.Next(Devices.Length)];
        var node = new SpecialNode("node", fifo, 1, minor);
        List<string> train = ["train", "--csv", "@data.csv", "--epochs", "1", "--hidden", "4", "--batch", "16"];
        if (csv.Options.Task == CsvTask.Regression)
            train.Add("--regression");
        train.AddRange(["--header", csv.Options.Header == CsvHeader.No ? "no" : csv.Options.Header == CsvHeader.Yes ? "yes" : "auto"]);
        (string role, List<string> command) = random.Next(10) switch
        {
            0 => ("target of train --save", (List<string>)[.. train, "--save", "@node"]),
            1 => ("target of export", ["export", "@model.fbpm", "@node"]),
            2 => ("target of import", ["import", "@model.onnx", "@node"]),
            3 => ("target of predict --output", ["predict", "--model", "@model.fbpm", "--csv", "@rows.csv", "--header", "no", "--output", "@node"]),
            4 => ("--csv of train", ["train", "--csv", "@node", "--epochs", "1"]),
            5 => ("--idx images of train", ["train", "--idx", "@node", "@labels.idx", "--epochs", "1"]),
            6 => ("--model of predict", ["predict", "--model", "@node", "--csv", "@rows.csv", "--header", "no"]),
            7 => ("--model of evaluate", ["evaluate", "--model", "@node", "--csv", "@rows.csv", "--header", "no"]),
            8 => ("--csv of predict", ["predict", "--model", "@model.fbpm", "--csv", "@node", "--header", "no"]),
            _ => ("ONNX input of import", ["import", "@node", "@imported.fbpm"]),
        };
        return new FuzzCase(FuzzKind.Special, runSeed, index, $"{csv.Description}; {seed.Description}",
            $"{(fifo ? "a FIFO with no other end" : $"a char device node ({device}, 1,{minor})")} as the {role}",
            [("data.csv", FuzzFile.FromBytes(Encoding.UTF8.GetBytes(csv.Text))), ("model.fbpm", FuzzFile.FromBytes(seed.Bytes)),
             ("model.onnx", FuzzFile.FromBytes(onnx.ToArray())), ("rows.csv", FuzzFile.FromBytes(Encoding.UTF8.GetBytes(rows.ToString()))),
             ("labels.idx", FuzzFile.FromBytes(idx.Labels))], ModelInputSize: seed.InputSize)
        {
            Command = command,
            Nodes = [node],
        };
    }
}
