namespace FastBackprop.Tests.Serialization;

/// <summary>
/// A <see cref="Model{T}"/>'s parts must fit together: each refusal pinned with its whole sentence and the argument it
/// names (the survivors of the first mutation run of Serialization), and the class rule of a one-unit output at exactly
/// one half.
/// </summary>
public class ModelSpecTests
{
    private static Network<float> Classifier(int classes) => new(3, [new(4, Activation.Tanh), new(classes, classes == 1 ? Activation.Sigmoid : Activation.Softmax)], seed: 2);

    private static Standardizer<float> Scaler(int features) => new(new float[features], Enumerable.Repeat(1f, features).ToArray());

    [Fact]
    public void A_standardiser_of_another_width_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new Model<float>(Classifier(3), Scaler(5)));
        Assert.Equal("inputStandardization", e.ParamName);
        Assert.StartsWith("The standardiser has 5 features but the network takes 3 inputs.", e.Message);
    }

    [Fact]
    public void A_null_network_or_label_is_refused()
    {
        Assert.Equal("network", Assert.Throws<ArgumentNullException>(() => new Model<float>(null!)).ParamName);
        var e = Assert.Throws<ArgumentException>(() => new Model<float>(Classifier(3), null, ["a", null!, "c"]));
        Assert.Equal("classLabels", e.ParamName);
        Assert.StartsWith("classLabels[1] is null.", e.Message);
    }

    [Fact]
    public void Target_standardisation_must_match_the_outputs_and_belongs_to_regression()
    {
        var regression = new Network<float>(3, [new(4, Activation.Tanh), new(2, Activation.Identity)], seed: 2);
        var wide = Assert.Throws<ArgumentException>(() => new Model<float>(regression, null, null, null, Scaler(3)));
        Assert.Equal("targetStandardization", wide.ParamName);
        Assert.StartsWith("The target standardiser has 3 values but the network has 2 outputs.", wide.Message);

        var softmax = Assert.Throws<ArgumentException>(() => new Model<float>(Classifier(2), null, null, null, Scaler(2)));
        Assert.StartsWith("A target standardisation belongs to a regression model: not with class labels or a softmax output.", softmax.Message);
        var labelled = Assert.Throws<ArgumentException>(() => new Model<float>(regression, null, ["a", "b"], null, Scaler(2)));
        Assert.Equal("targetStandardization", labelled.ParamName);
    }

    [Fact]
    public void One_sigmoid_unit_is_class_1_only_above_one_half()
    {
        var network = new Network<float>(1, [new(1, Activation.Identity)], seed: 1);
        // w = 0, b = 0.5 gives exactly one half whatever the input; b slightly above gives class 1.
        network.Parameters.Clear();
        network.Biases(0)[0] = 0.5f;
        var classes = new int[2];
        new Model<float>(network).PredictClasses([1f, 2f], 2, classes);
        Assert.Equal([0, 0], classes);
        network.Biases(0)[0] = 0.50001f;
        new Model<float>(network).PredictClasses([1f, 2f], 2, classes);
        Assert.Equal([1, 1], classes);
    }

    [Fact]
    public void Predicting_checks_the_batch_before_reading()
    {
        var model = new Model<float>(Classifier(3));
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => model.Predict(new float[3], 0, new float[3])).ParamName);
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => model.PredictClasses(new float[3], 0, new int[1])).ParamName);
        // The second call with a larger batch grows the scratch it keeps: same answers as a fresh model.
        var classes = new int[4];
        model.PredictClasses(new float[3], 1, classes.AsSpan(0, 1));
        model.PredictClasses(Enumerable.Range(0, 12).Select(i => i / 10f).ToArray(), 4, classes);
        var fresh = new int[4];
        new Model<float>(Classifier(3)).PredictClasses(Enumerable.Range(0, 12).Select(i => i / 10f).ToArray(), 4, fresh);
        Assert.Equal(fresh, classes);
    }
}
