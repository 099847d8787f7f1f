namespace FastBackprop.Tests.Onnx;

/// <summary>
/// Names around ONNX: a file holds no class labels unless this library wrote them, so a network ending in Softmax (a
/// PyTorch classifier) imports as a classifier with the classes "0" to "K−1", never as a regression of probabilities;
/// feature names travel in the metadata; labels and names in the metadata follow the model file's rules.
/// </summary>
public sealed class OnnxNamesTests
{
    /// <summary>Gemm then Softmax, as torch.onnx.export writes nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1)).</summary>
    private static OnnxGraphBuilder Classifier()
    {
        var random = new Random(5);
        return new OnnxGraphBuilder()
            .Input("x", null, 2).Output("y", null, 3)
            .Initializer("w", [3, 2], OnnxTestModels.RandomValues(random, 6)).Initializer("b", [3], OnnxTestModels.RandomValues(random, 3))
            .Node("Gemm", "fc", ["x", "w", "b"], "z", ("transB", 1))
            .Node("Softmax", "head", ["z"], "y", ("axis", 1));
    }

    private static Model<float> Import(byte[] onnx) => OnnxModel.Import<float>(new MemoryStream(onnx));

    [Fact]
    public void A_softmax_network_without_labels_imports_as_a_classifier_of_classes_0_to_K_minus_1()
    {
        Model<float> model = Import(Classifier().Build());
        Assert.Equal(["0", "1", "2"], model.ClassLabels!);
        Assert.Null(model.Loss);
        // Still one: labels in the metadata win; a network without Softmax stays a regression.
        Assert.Equal(["cat", "dog", "emu"], Import(Classifier().Metadata(OnnxModel.ClassLabelsKey, "[\"cat\",\"dog\",\"emu\"]").Build()).ClassLabels!);
        var regression = new OnnxGraphBuilder().Input("x", null, 2).Output("y", null, 1)
            .Initializer("w", [1, 2], [0.5f, -1]).Initializer("b", [1], [0]).Node("Gemm", "fc", ["x", "w", "b"], "y", ("transB", 1)).Build();
        Assert.Null(Import(regression).ClassLabels);
    }

    [Fact]
    public void Feature_names_round_trip_through_the_metadata()
    {
        var model = new Model<float>(OnnxTestModels.Net(1, 3, new LayerSpec(2, Activation.Softmax)), null, ["no", "yes"]) { FeatureNames = ["age", "height", "weight"] };
        var stream = new MemoryStream();
        OnnxModel.Export(model, stream);
        Model<float> back = OnnxModel.Import<float>(new MemoryStream(stream.ToArray()));
        Assert.Equal(["age", "height", "weight"], back.FeatureNames!);
        Assert.Equal(["no", "yes"], back.ClassLabels!);
    }

    [Theory]
    [InlineData(OnnxModel.ClassLabelsKey, "[\"a\",\"b\",\"a\"]", "class label 2 is 'a', the same as class label 0")]
    [InlineData(OnnxModel.ClassLabelsKey, "[\"a\",\"\\ud800\",\"c\"]", "class label 1 holds a lone UTF-16 surrogate")]
    [InlineData(OnnxModel.FeatureNamesKey, "[\"a\",\"a\"]", "feature name 1 is 'a', the same as feature name 0")]
    public void Repeated_or_unencodable_names_in_the_metadata_are_refused(string key, string json, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => Import(Classifier().Metadata(key, json).Build()));
        Assert.Contains($"metadata_props '{key}': ", e.Message);
        Assert.Contains(problem, e.Message);
    }
}
