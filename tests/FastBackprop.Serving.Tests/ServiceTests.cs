using System.Net;
using System.Text;
using System.Text.Json;
using FastBackprop.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FastBackprop.Serving.Tests;

/// <summary>
/// Starts the serving sample on a free loopback port (Kestrel, real HTTP) with a classifier and a regression model
/// saved to temporary files, and checks its answers bit for bit against <see cref="Model{T}.Predict"/> on the same
/// rows, and that bad requests get 400 (or 413/415) with a reason.
/// </summary>
public sealed class ServiceTests(ServiceTests.Services services) : IClassFixture<ServiceTests.Services>
{
    private const int MaxRows = 32;

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(MaxRows)]
    public async Task Classifier_rows_match_Model_Predict_bit_for_bit(int rows)
    {
        float[] x = RawFeatures(services.Classifier.Model.InputSize, rows, seed: rows);
        using JsonDocument answer = await PostOkAsync(services.Classifier, RowsBody(x, rows, services.Classifier.Model.InputSize));
        JsonElement predictions = answer.RootElement.GetProperty("predictions");
        Assert.Equal(rows, predictions.GetArrayLength());

        Model<float> model = services.Classifier.Model;
        float[] expected = new float[rows * model.OutputSize];
        int[] classes = new int[rows];
        model.Predict(x, rows, expected);
        model.PredictClasses(x, rows, classes);
        for (int r = 0; r < rows; r++)
        {
            JsonElement p = predictions[r];
            AssertBits(expected.AsSpan(r * model.OutputSize, model.OutputSize), p.GetProperty("outputs"));
            Assert.Equal(classes[r], p.GetProperty("class").GetInt32());
            Assert.Equal(model.ClassLabels![classes[r]], p.GetProperty("label").GetString());
        }
    }

    [Fact]
    public async Task One_bare_row_gets_one_bare_answer()
    {
        Model<float> model = services.Classifier.Model;
        float[] x = RawFeatures(model.InputSize, 1, seed: 99);
        var body = new StringBuilder("{\"features\":");
        AppendRow(body, x);
        using JsonDocument answer = await PostOkAsync(services.Classifier, body.Append('}').ToString());

        float[] expected = new float[model.OutputSize];
        model.Predict(x, 1, expected);
        AssertBits(expected, answer.RootElement.GetProperty("outputs"));
        Assert.False(answer.RootElement.TryGetProperty("predictions", out _));
    }

    [Fact]
    public async Task Regression_answers_are_in_the_targets_units_bit_for_bit()
    {
        Model<float> model = services.Regression.Model;
        Assert.NotNull(model.TargetStandardization);
        const int rows = 7;
        float[] x = RawFeatures(model.InputSize, rows, seed: 5);
        using JsonDocument answer = await PostOkAsync(services.Regression, RowsBody(x, rows, model.InputSize));
        float[] expected = new float[rows * model.OutputSize];
        model.Predict(x, rows, expected);
        for (int r = 0; r < rows; r++)
        {
            JsonElement p = answer.RootElement.GetProperty("predictions")[r];
            AssertBits(expected.AsSpan(r * model.OutputSize, model.OutputSize), p.GetProperty("outputs"));
            Assert.False(p.TryGetProperty("class", out _));
        }
    }

    [Fact]
    public async Task Concurrent_requests_get_their_own_answers()
    {
        // Many requests at once share the network and the context pool; each must still get exactly its own rows' answer.
        Model<float> model = services.Classifier.Model;
        var tasks = Enumerable.Range(0, 48).Select(async i =>
        {
            int rows = 1 + i % 9;
            float[] x = RawFeatures(model.InputSize, rows, seed: 1000 + i);
            using JsonDocument answer = await PostOkAsync(services.Classifier, RowsBody(x, rows, model.InputSize));
            return (x, rows, outputs: answer.RootElement.GetProperty("predictions").EnumerateArray()
                .SelectMany(p => p.GetProperty("outputs").EnumerateArray().Select(v => v.GetSingle())).ToArray());
        }).ToList();
        foreach (var (x, rows, outputs) in await Task.WhenAll(tasks))
        {
            float[] expected = new float[rows * model.OutputSize];
            lock (model)   // Model.Predict is not thread-safe; the service does not use it
                model.Predict(x, rows, expected);
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), outputs.Select(BitConverter.SingleToInt32Bits));
        }
    }

    public static TheoryData<string, string> BadBodies()
    {
        string row = string.Join(',', Enumerable.Repeat("0.5", Services.InputSize));
        string rows = string.Join(',', Enumerable.Repeat($"[{row}]", MaxRows + 1));
        return new()
        {
            { "{\"features\":[1,2,3]}", "features has 3 features; the model takes 7" },
            { $"{{\"rows\":[[{row}],[1,2]]}}", "row 1 has 2 features; the model takes 7" },
            { $"{{\"rows\":[[{row},1]]}}", "row 0 has more than 7 features" },
            { $"{{\"features\":[1e39,{string.Join(',', Enumerable.Repeat("0", Services.InputSize - 1))}]}}", "feature 0: 1e39 is not a finite 32-bit float" },
            { $"{{\"features\":[\"NaN\",{string.Join(',', Enumerable.Repeat("0", Services.InputSize - 1))}]}}", "feature 0: expected a number" },
            { "{\"features\":[1,2,", "malformed JSON" },
            { "{\"features\":[NaN]}", "malformed JSON" },
            { "[1,2,3]", "must be a JSON object" },
            { "", "malformed JSON" },
            { $"{{\"rows\":[{rows}]}}", $"too many rows: at most {MaxRows}" },
            { "{\"rows\":[]}", "\"rows\" is empty" },
            { "{\"inputs\":[[1]]}", "unknown property \"inputs\"" },
            { $"{{\"features\":[{row}]}} {{}}", "malformed JSON: '{' is invalid after a single JSON value" },
            { "{}", "no \"features\" or \"rows\"" },
        };
    }

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_requests_get_400_with_a_reason(string body, string reason)
    {
        using HttpResponseMessage response = await services.Classifier.Client.PostAsync("/v1/predict",
            new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using JsonDocument error = JsonDocument.Parse(text);
        Assert.Contains(reason, error.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_body_that_is_not_json_gets_415_and_a_huge_one_413()
    {
        using HttpResponseMessage text = await services.Classifier.Client.PostAsync("/v1/predict", new StringContent("1,2,3", Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        // Expect: 100-continue, as clients sending large bodies do: the service refuses from the Content-Length alone,
        // before the body is sent (without it the client is still writing when the refusal closes the connection).
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/predict")
        {
            Content = new StringContent(new string(' ', 5 * 1024 * 1024), Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using HttpResponseMessage huge = await services.Classifier.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
    }

    [Fact]
    public async Task Health_model_and_diagnostics_endpoints_answer()
    {
        HttpClient client = services.Classifier.Client;
        using JsonDocument health = JsonDocument.Parse(await client.GetStringAsync("/healthz"));
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());

        using JsonDocument info = JsonDocument.Parse(await client.GetStringAsync("/v1/model"));
        Assert.Equal(Services.InputSize, info.RootElement.GetProperty("inputSize").GetInt32());
        Assert.Equal(3, info.RootElement.GetProperty("outputSize").GetInt32());
        Assert.Equal(MaxRows, info.RootElement.GetProperty("maxRowsPerRequest").GetInt32());
        Assert.Equal(["setosa", "versicolor", "virginica"], info.RootElement.GetProperty("classLabels").EnumerateArray().Select(e => e.GetString()));

        await PostOkAsync(services.Classifier, RowsBody(RawFeatures(Services.InputSize, 2, seed: 3), 2, Services.InputSize));
        using JsonDocument diagnostics = JsonDocument.Parse(await client.GetStringAsync("/v1/diagnostics"));
        Assert.True(diagnostics.RootElement.GetProperty("predictions").GetInt64() >= 1);
    }

    [Fact]
    public async Task Shutdown_turns_health_to_503_and_stops()
    {
        await using Services.Service service = await Services.Service.StartAsync(services.Classifier.Path);
        var metrics = service.App.Services.GetRequiredService<ServingMetrics>();
        await service.App.StopAsync();
        Assert.True(metrics.Stopping);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => service.Client.GetAsync("/healthz"));
    }

    [Fact]
    public void A_missing_model_is_a_one_line_start_up_error()
    {
        var e = Assert.Throws<ServingConfigurationException>(() => ServingApp.Create(["--urls", "http://127.0.0.1:0"]));
        Assert.Contains("--model", e.Message);
        e = Assert.Throws<ServingConfigurationException>(() => ServingApp.Create(["--model", "/nonexistent/m.fbpm", "--urls", "http://127.0.0.1:0"]));
        Assert.Contains("cannot load the model", e.Message);
    }

    private static async Task<JsonDocument> PostOkAsync(Services.Service service, string body)
    {
        using HttpResponseMessage response = await service.Client.PostAsync("/v1/predict", new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text);
    }

    private static void AssertBits(ReadOnlySpan<float> expected, JsonElement outputs)
    {
        Assert.Equal(expected.Length, outputs.GetArrayLength());
        for (int i = 0; i < expected.Length; i++)
        {
            // GetSingle parses the shortest round-trip text the service wrote back to the very same float.
            float actual = outputs[i].GetSingle();
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual),
                $"output {i}: expected {expected[i]:R}, the service said {outputs[i].GetRawText()}");
        }
    }

    /// <summary>Features on the raw scale the models were standardised for, with a few far from the mean.</summary>
    private static float[] RawFeatures(int inputSize, int rows, int seed)
    {
        var random = new Random(seed);
        float[] x = new float[rows * inputSize];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(10 + 3 * (random.NextDouble() * 2 - 1) * (random.Next(10) == 0 ? 5 : 1));
        return x;
    }

    private static string RowsBody(float[] x, int rows, int inputSize)
    {
        var body = new StringBuilder("{\"rows\":[");
        for (int r = 0; r < rows; r++)
        {
            if (r > 0)
                body.Append(',');
            AppendRow(body, x.AsSpan(r * inputSize, inputSize));
        }
        return body.Append("]}").ToString();
    }

    private static void AppendRow(StringBuilder body, ReadOnlySpan<float> row)
    {
        body.Append('[');
        for (int i = 0; i < row.Length; i++)
            body.Append(i > 0 ? "," : "").Append(row[i].ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        body.Append(']');
    }

    /// <summary>The two services the tests share: a 3-class classifier and a 2-output regression model, both with
    /// standardised inputs, each saved to a temporary file and served on its own free loopback port.</summary>
    public sealed class Services : IAsyncLifetime
    {
        public const int InputSize = 7;
        private readonly string folder = Directory.CreateTempSubdirectory("fastbackprop-serving-").FullName;

        public Service Classifier { get; private set; } = null!;
        public Service Regression { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var classifier = new Network<float>(InputSize,
                [new LayerSpec(33, Activation.Tanh), new LayerSpec(17, Activation.ReLU), new LayerSpec(3, Activation.Softmax)], seed: 11);
            var regression = new Network<float>(InputSize, [new LayerSpec(20, Activation.Tanh), new LayerSpec(2, Activation.Identity)], seed: 12);
            var scaler = new Standardizer<float>(Enumerable.Range(0, InputSize).Select(i => 10f + i * 0.1f).ToArray(),
                Enumerable.Range(0, InputSize).Select(i => 3f + i).ToArray());
            var targets = new Standardizer<float>([100f, -4f], [25f, 0.5f]);
            string classifierPath = Path.Combine(folder, "classifier.fbpm"), regressionPath = Path.Combine(folder, "regression.fbpm");
            ModelFile.Save(classifierPath, new Model<float>(classifier, scaler, ["setosa", "versicolor", "virginica"], Loss.SoftmaxCrossEntropy));
            ModelFile.Save(regressionPath, new Model<float>(regression, scaler, loss: Loss.MeanSquaredError, targetStandardization: targets));
            Classifier = await Service.StartAsync(classifierPath);
            Regression = await Service.StartAsync(regressionPath);
        }

        public async Task DisposeAsync()
        {
            await Classifier.DisposeAsync();
            await Regression.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }

        /// <summary>One running service, its model loaded separately as the reference, and a client.</summary>
        public sealed class Service : IAsyncDisposable
        {
            private Service(WebApplication app, string path)
            {
                App = app;
                Path = path;
                Model = ModelFile.Load<float>(path);
                // Port 0: Kestrel picks a free port; the address it bound is in Urls once started.
                Client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };
            }

            public WebApplication App { get; }
            public string Path { get; }
            public Model<float> Model { get; }
            public HttpClient Client { get; }

            public static async Task<Service> StartAsync(string modelPath)
            {
                WebApplication app = ServingApp.Create(["--model", modelPath, "--urls", "http://127.0.0.1:0", "--max-rows", MaxRows.ToString()]);
                await app.StartAsync();
                return new Service(app, modelPath);
            }

            public async ValueTask DisposeAsync()
            {
                Client.Dispose();
                await App.StopAsync();
                await App.DisposeAsync();
            }
        }
    }
}
