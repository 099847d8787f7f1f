namespace FastBackprop.Tests;

/// <summary>
/// Models whose weights are each finite but overflow together on some inputs and not others. What the library does with
/// such an output: <see cref="Network{T}.Predict(ReadOnlySpan{T}, int, Span{T}, InferenceWorkspace{T})"/> returns what the
/// arithmetic gives and <see cref="Network{T}.FirstNonFiniteRow"/> finds the first bad row cheaply; <see cref="Model{T}"/>
/// refuses it with a <see cref="NonFiniteOutputException"/> naming the row.
/// </summary>
public class NonFiniteOutputTests
{
    /// <summary>Rows (0, 0), (1, 2), (20, 0), (−3, 30): only the third overflows.</summary>
    private static readonly float[] Rows = [0, 0, 1, 2, 20, 0, -3, 30];

    [Fact]
    public void Predict_returns_what_the_arithmetic_gives_and_FirstNonFiniteRow_names_the_first_bad_row()
    {
        Network<float> network = HostileNetworks.Cancelling();
        var outputs = new float[4];
        network.Predict(Rows, 4, outputs, network.CreateInferenceWorkspace(4));
        Assert.Equal([0f, 0f], outputs.AsSpan(0, 2).ToArray());
        Assert.False(float.IsFinite(outputs[2]));
        Assert.Equal(0f, outputs[3]);
        Assert.Equal(2, network.FirstNonFiniteRow(outputs, 4));
        Assert.Equal(-1, network.FirstNonFiniteRow(outputs.AsSpan(0, 2), 2));
        Assert.Equal(2, network.Freeze().FirstNonFiniteRow(outputs, 4));

        var forward = new float[4];
        network.Forward(Rows, 4, forward);
        Assert.Equal(2, network.FirstNonFiniteRow(forward, 4));

        // A row of several outputs: the row of the first bad value, whichever output it is.
        var wide = new Network<float>(1, [new(3, Activation.Identity)]);
        Assert.Equal(1, wide.FirstNonFiniteRow([0, 1, 2, 3, 4, float.PositiveInfinity, float.NaN, 7, 8], 3));
        Assert.Equal(-1, wide.FirstNonFiniteRow(new float[300], 100));
        Assert.Throws<ArgumentException>("outputs", () => wide.FirstNonFiniteRow(new float[8], 3));
        Assert.Throws<ArgumentOutOfRangeException>("batchSize", () => wide.FirstNonFiniteRow([], 0));
    }

    [Fact]
    public void A_finite_feature_that_the_standardisation_overflows_is_refused_naming_row_and_feature_before_predicting()
    {
        // Feature 1 is multiplied by 4 after subtracting its mean: 1e38 stays finite, 1e38 × 4 does not.
        var model = new Model<float>(new Network<float>(2, [new(2, Activation.Softmax)], seed: 3),
            new Standardizer<float>([0f, 0f], [1f, 4f]), ["a", "b"]);
        float[] rows = [1, 2, 1e38f, 1, 0.5f, 1e38f, 1, -1e38f];
        var outputs = new float[8];
        outputs.AsSpan().Fill(-7);
        var e = Assert.Throws<StandardizationOverflowException>(() => model.Predict(rows, 4, outputs));
        Assert.Equal((2, 1, 1e38f), (e.Row, e.Feature, (float)e.Value));
        Assert.Equal("rawFeatures", e.ParamName);
        Assert.All(outputs, v => Assert.Equal(-7, v));   // nothing predicted
        Assert.Throws<StandardizationOverflowException>(() => model.PredictClasses(rows, 4, new int[4]));
        model.Predict(rows.AsSpan(0, 4), 2, outputs.AsSpan(0, 4));   // the rows before it are fine
        Assert.All(outputs.AsSpan(0, 4).ToArray(), v => Assert.True(float.IsFinite(v)));

        // A data set is refused the same way, and a standardised copy keeps its feature names.
        var data = new Dataset<float>(rows, 2, [0, 1, 0, 1], 2, ["a", "b"]) { FeatureNames = ["x", "y"] };
        e = Assert.Throws<StandardizationOverflowException>(() => model.InputStandardization!.Transform(data));
        Assert.Equal((2, 1), (e.Row, e.Feature));
        Assert.Equal(["x", "y"], model.InputStandardization!.Transform(data.Subset([0, 1]))!.FeatureNames!);
    }

    [Fact]
    public void Model_refuses_a_non_finite_output_naming_the_row_after_writing_every_output()
    {
        var model = new Model<float>(HostileNetworks.Cancelling());
        var outputs = new float[4];
        var e = Assert.Throws<NonFiniteOutputException>(() => model.Predict(Rows, 4, outputs));
        Assert.Equal(2, e.Row);
        Assert.Equal(0, e.Output);
        Assert.False(double.IsFinite(e.Value));
        Assert.Contains("row 2 of the batch", e.Message);
        Assert.Equal(0f, outputs[3]);

        var classifier = new Model<float>(HostileNetworks.Cancelling(classes: 2), classLabels: ["a", "b"]);
        Assert.Equal(2, Assert.Throws<NonFiniteOutputException>(() => classifier.PredictClasses(Rows, 4, new int[4])).Row);
        var classes = new int[2];
        classifier.PredictClasses(Rows.AsSpan(0, 4), 2, classes);

        // Undoing a target standardisation can overflow too: 1e30 standard deviations of 1e10 are 1e40.
        var huge = new Network<float>(1, [new(1, Activation.Identity)]);
        huge.SetWeights(0, [1e30f]);
        var scaled = new Model<float>(huge, targetStandardization: new Standardizer<float>([0f], [1e-10f]));
        Assert.Equal(1, Assert.Throws<NonFiniteOutputException>(() => scaled.Predict([0f, 1f], 2, new float[2])).Row);
    }

    [Fact]
    public void A_model_that_passes_the_load_time_probe_is_still_refused_when_a_row_overflows()
    {
        var stream = new MemoryStream();
        ModelFile.Save(stream, new Model<float>(HostileNetworks.Cancelling()));
        stream.Position = 0;
        Model<float> loaded = ModelFile.Load<float>(stream);
        Assert.Equal(2, Assert.Throws<NonFiniteOutputException>(() => loaded.Predict(Rows, 4, new float[4])).Row);
    }
}
