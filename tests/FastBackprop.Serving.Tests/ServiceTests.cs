using System.Net;
using System.Text;
using System.Text.Json;
using FastBackprop.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FastBackprop.Serving.Tests;

/// <summary>
/// Starts the serving sample on a free loopback port (Kestrel, real HTTP) with a classifier and a regression model
/// saved to temporary files, and checks its answers bit for bit against <see cref="Model{T}.Predict"/> on the same
/// rows, and that bad requests (including hostile ones: invalid UTF-8, lone surrogates, deep nesting, huge numbers)
/// get 400 (or 413/415/422) with a one-line reason, are counted as rejections and leave no error in the log.
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

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(MaxRows)]
    public async Task A_quantized_model_file_is_served_through_its_int8_layers_bit_for_bit(int rows)
    {
        Services.Service service = services.QuantizedClassifier;
        Model<float> model = service.Model;
        Assert.NotNull(model.Quantized);
        float[] x = RawFeatures(model.InputSize, rows, seed: 40 + rows);
        using JsonDocument answer = await PostOkAsync(service, RowsBody(x, rows, model.InputSize));
        JsonElement predictions = answer.RootElement.GetProperty("predictions");

        float[] expected = new float[rows * model.OutputSize];
        int[] classes = new int[rows];
        model.Predict(x, rows, expected);
        model.PredictClasses(x, rows, classes);
        for (int r = 0; r < rows; r++)
        {
            AssertBits(expected.AsSpan(r * model.OutputSize, model.OutputSize), predictions[r].GetProperty("outputs"));
            Assert.Equal(model.ClassLabels![classes[r]], predictions[r].GetProperty("label").GetString());
        }

        // The int8 answers are not the fp32 model's (the service does not fall back to the weights the codes stand for).
        float[] fp32 = new float[rows * model.OutputSize];
        services.Classifier.Model.Predict(x, rows, fp32);
        Assert.NotEqual(fp32, expected);

        using JsonDocument info = JsonDocument.Parse(await service.Client.GetStringAsync("/v1/model"));
        Assert.True(info.RootElement.GetProperty("quantized").GetBoolean());
        Assert.Equal([true, true, false], info.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("int8").GetBoolean()));
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

    /// <summary>What a careless or hostile client may send, and the one-line reason it gets back with 400. The service
    /// must answer each one itself: no 500, no stack trace in its log, one more rejection in its counters.</summary>
    public static TheoryData<string, byte[], string> BadBodies()
    {
        string row = string.Join(',', Enumerable.Repeat("0.5", Services.InputSize));
        string zeros = string.Join(',', Enumerable.Repeat("0", Services.InputSize - 1));
        string rows = string.Join(',', Enumerable.Repeat($"[{row}]", MaxRows + 1));
        return new()
        {
            // Rows of the wrong shape
            { "too few features", Utf8("{\"features\":[1,2,3]}"), "features has 3 features; the model takes 7" },
            { "no features", Utf8("{\"features\":[]}"), "features has 0 features; the model takes 7" },
            { "a short row among good ones", Utf8($"{{\"rows\":[[{row}],[1,2]]}}"), "row 1 has 2 features; the model takes 7" },
            { "an empty row", Utf8("{\"rows\":[[]]}"), "row 0 has 0 features; the model takes 7" },
            { "too many features", Utf8($"{{\"rows\":[[{row},1]]}}"), "row 0 has more than 7 features" },
            { "too many rows", Utf8($"{{\"rows\":[{rows}]}}"), $"too many rows: at most {MaxRows}" },
            { "no rows", Utf8("{\"rows\":[]}"), "\"rows\" is empty" },
            { "rows not an array", Utf8("{\"rows\":5}"), "\"rows\" must be an array of rows" },
            { "a row that is a number", Utf8("{\"rows\":[5]}"), "row 0 must be an array of 7 numbers" },
            // Values that are not finite 32-bit floats
            { "beyond float", Utf8($"{{\"features\":[1e39,{zeros}]}}"), "feature 0: 1e39 is not a finite 32-bit float" },
            { "beyond double", Utf8($"{{\"features\":[{zeros},-1e400]}}"), "feature 6: -1e400 is not a finite 32-bit float" },
            { "a number of 100,000 digits", Utf8($"{{\"features\":[1{new string('0', 100_000)},{zeros}]}}"),
                "feature 0: 1000000000000000000000000000000000000000… is not a finite 32-bit float" },
            { "a number as a string", Utf8($"{{\"features\":[\"1.5\",{zeros}]}}"), "feature 0: expected a number, got String" },
            { "NaN as a string", Utf8($"{{\"features\":[\"NaN\",{zeros}]}}"), "feature 0: expected a number, got String" },
            { "a NaN literal", Utf8("{\"features\":[NaN]}"), "malformed JSON: 'N' is an invalid start of a value" },
            { "an Infinity literal", Utf8("{\"features\":[Infinity]}"), "malformed JSON: 'I' is an invalid start of a value" },
            { "a -Infinity literal", Utf8("{\"features\":[-Infinity]}"), "malformed JSON: 'I' is invalid within a number" },
            { "a hexadecimal number", Utf8("{\"features\":[0x10]}"), "malformed JSON" },
            { "a null feature", Utf8($"{{\"features\":[null,{zeros}]}}"), "feature 0: expected a number, got Null" },
            { "a boolean feature", Utf8($"{{\"features\":[{zeros},true]}}"), "feature 6: expected a number, got True" },
            // Not the expected object
            { "null", Utf8("null"), "must be a JSON object" },
            { "null features", Utf8("{\"features\":null}"), "features must be an array of 7 numbers" },
            { "a null row", Utf8("{\"rows\":[null]}"), "row 0 must be an array of 7 numbers" },
            { "an array", Utf8("[1,2,3]"), "must be a JSON object" },
            { "a string", Utf8("\"features\""), "must be a JSON object" },
            { "an empty object", Utf8("{}"), "no \"features\" or \"rows\"" },
            { "an unknown property", Utf8("{\"inputs\":[[1]]}"), "unknown property \"inputs\"" },
            { "a property name of 100,000 characters", Utf8($"{{\"{new string('x', 100_000)}\":1}}"),
                "unknown property \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…\"" },
            { "a property twice", Utf8($"{{\"features\":[{row}],\"features\":[{row}]}}"), "send either \"features\" or \"rows\", once" },
            { "features and rows", Utf8($"{{\"features\":[{row}],\"rows\":[[{row}]]}}"), "send either \"features\" or \"rows\", once" },
            // Not JSON
            { "an empty body", [], "malformed JSON" },
            { "only whitespace", Utf8(" \r\n\t"), "malformed JSON" },
            { "cut short", Utf8("{\"features\":[1,2,"), "malformed JSON" },
            { "a trailing comma", Utf8($"{{\"features\":[{row},]}}"), "malformed JSON" },
            { "a comment", Utf8($"{{\"features\":[{row}]}} // hi"), "malformed JSON" },
            { "a second value after the object", Utf8($"{{\"features\":[{row}]}} {{}}"), "malformed JSON: '{' is invalid after a single JSON value" },
            { "garbage after the object", Utf8($"{{\"features\":[{row}]}}x"), "malformed JSON: 'x' is invalid after a single JSON value" },
            { "a NUL after the object", [.. Utf8($"{{\"features\":[{row}]}}"), 0], "malformed JSON" },
            { "nested 10,000 deep in rows", Utf8($"{{\"rows\":[{new string('[', 10_000)}"), "malformed JSON: The maximum configured depth of 3 has been exceeded" },
            { "nested 10,000 deep in features", Utf8($"{{\"features\":[{new string('[', 10_000)}"), "features, feature 0: expected a number, got StartArray" },
            { "nested objects", Utf8($"{{\"features\":{string.Concat(Enumerable.Repeat("{\"a\":", 10_000))}1"), "features must be an array of 7 numbers" },
            { "an array 10,000 deep", Utf8(new string('[', 10_000)), "must be a JSON object" },
            // Text that is not UTF-8, or escapes that are not Unicode
            { "invalid UTF-8 in a property name", [.. Utf8("{\""), 0xFF, .. Utf8("\":1}")], "malformed JSON: invalid UTF-8 at byte 2 (0xFF)" },
            { "invalid UTF-8 in a string", [.. Utf8("{\"features\":[\""), 0xC3, 0x28, .. Utf8("\"]}")], "malformed JSON: invalid UTF-8 at byte 14 (0xC3)" },
            { "a UTF-8 sequence cut short", [.. Utf8("{\"features\":[1]}"), 0xE2, 0x82], "malformed JSON: invalid UTF-8 at byte 16 (0xE2)" },
            { "an overlong UTF-8 encoding", [.. Utf8("{\""), 0xC0, 0xAF, .. Utf8("\":1}")], "malformed JSON: invalid UTF-8 at byte 2 (0xC0)" },
            { "a UTF-8 encoded surrogate", [.. Utf8("{\""), 0xED, 0xA0, 0x80, .. Utf8("\":1}")], "malformed JSON: invalid UTF-8 at byte 2 (0xED)" },
            { "a UTF-16 body", Encoding.Unicode.GetBytes("{\"features\":[1]}"), "malformed JSON" },
            { "a lone high surrogate in a property name", Utf8("{\"\\ud800\":1}"), "unknown property \"\\ud800\"" },
            { "a lone low surrogate in a property name", Utf8("{\"\\udc00\":1}"), "unknown property \"\\udc00\"" },
            { "a surrogate pair the wrong way round", Utf8("{\"\\udc00\\ud800\":1}"), "unknown property \"\\udc00\\ud800\"" },
            { "a lone surrogate in a string feature", Utf8($"{{\"features\":[\"\\ud800\",{zeros}]}}"), "feature 0: expected a number, got String" },
        };
    }

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_requests_get_400_with_a_one_line_reason_and_are_counted(string what, byte[] body, string reason)
    {
        Services.Service service = services.Classifier;
        long rejected = await RejectedAsync(service);
        int logged = service.Log.Count;

        (HttpStatusCode status, string error) = await PostAsync(service, body);

        Assert.True(status == HttpStatusCode.BadRequest, $"{what}: {(int)status} {error}");
        Assert.Contains(reason, error);
        Assert.DoesNotContain('\n', error);
        Assert.True(error.Length < 300, $"{what}: a reason of {error.Length} characters");
        Assert.Equal(rejected + 1, await RejectedAsync(service));
        AssertNothingLogged(service, logged);
    }

    public static TheoryData<string, byte[]> OddButValidBodies()
    {
        string row = string.Join(',', Enumerable.Repeat("0.5", Services.InputSize));
        return new()
        {
            { "a byte order mark", [0xEF, 0xBB, 0xBF, .. Utf8($"{{\"features\":[{row}]}}")] },
            { "whitespace around it", Utf8($" \r\n{{ \"features\" : [ {row} ] }}\n\t ") },
            { "escaped property name", Utf8($"{{\"f\\u0065atures\":[{row}]}}") },
            { "numbers below float's range", Utf8($"{{\"features\":[1e-400,-1e-50,{string.Join(',', Enumerable.Repeat("0.5", Services.InputSize - 2))}]}}") },
            { "exponents and signs", Utf8($"{{\"features\":[-0,5E+0,0.5e1,{string.Join(',', Enumerable.Repeat("1", Services.InputSize - 3))}]}}") },
        };
    }

    [Theory]
    [MemberData(nameof(OddButValidBodies))]
    public async Task Odd_but_valid_JSON_is_answered(string what, byte[] body)
    {
        (HttpStatusCode status, string answer) = await PostAsync(services.Classifier, body);
        Assert.True(status == HttpStatusCode.OK, $"{what}: {(int)status} {answer}");
    }

    [Theory]
    [InlineData("text/csv", "send the request as Content-Type: application/json")]
    [InlineData("text/plain", "send the request as Content-Type: application/json")]
    [InlineData("application/x-www-form-urlencoded", "send the request as Content-Type: application/json")]
    [InlineData("application/json; charset=utf-16", "send the request as Content-Type: application/json in UTF-8, not utf-16")]
    [InlineData("application/json; charset=latin1", "send the request as Content-Type: application/json in UTF-8, not latin1")]
    [InlineData(null, "send the request as Content-Type: application/json")]
    public async Task A_body_that_is_not_utf8_json_gets_415_and_is_counted(string? contentType, string reason)
    {
        Services.Service service = services.Classifier;
        long rejected = await RejectedAsync(service);
        string row = string.Join(',', Enumerable.Repeat("0.5", Services.InputSize));
        var content = new ByteArrayContent(Utf8($"{{\"features\":[{row}]}}"));
        if (contentType is not null)
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using HttpResponseMessage response = await service.Client.PostAsync("/v1/predict", content);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.UnsupportedMediaType, $"{(int)response.StatusCode} {text}");
        using JsonDocument error = JsonDocument.Parse(text);
        Assert.Contains(reason, error.RootElement.GetProperty("error").GetString());
        Assert.Equal(rejected + 1, await RejectedAsync(service));
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=\"UTF-8\"")]
    [InlineData("application/json;charset=utf8")]
    [InlineData("application/problem+json")]
    public async Task Json_content_types_in_utf8_are_accepted(string contentType)
    {
        string row = string.Join(',', Enumerable.Repeat("0.5", Services.InputSize));
        var content = new ByteArrayContent(Utf8($"{{\"features\":[{row}]}}"));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using HttpResponseMessage response = await services.Classifier.Client.PostAsync("/v1/predict", content);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Theory]
    [InlineData(false, "features: the model's output is not finite (inf/NaN) for this input")]
    [InlineData(true, "row 3: the model's output is not finite (inf/NaN) for this input")]
    public async Task Finite_inputs_whose_outputs_overflow_get_422_naming_the_row(bool rows, string reason)
    {
        // The model sums its seven features: three near float's maximum overflow to infinity.
        Services.Service service = services.Summing;
        string ok = string.Join(',', Enumerable.Repeat("1", Services.InputSize));
        string huge = "3e38,3e38,3e38," + string.Join(',', Enumerable.Repeat("0", Services.InputSize - 3));
        string body = rows ? $"{{\"rows\":[[{ok}],[{ok}],[{ok}],[{huge}],[{huge}]]}}" : $"{{\"features\":[{huge}]}}";
        await AssertUnprocessableAsync(service, body, reason);
        // The same service still answers a row it can.
        using JsonDocument answer = await PostOkAsync(service, $"{{\"features\":[{ok}]}}");
        Assert.Equal(Services.InputSize, answer.RootElement.GetProperty("outputs")[0].GetSingle());
    }

    [Theory]
    [InlineData(false, "3e38", "features, feature 0: the value is too far outside the training data for the model's standardisation (it overflows a 32-bit float)")]
    [InlineData(true, "-3.4e38", "row 1, feature 0: the value is too far outside the training data for the model's standardisation (it overflows a 32-bit float)")]
    public async Task Finite_inputs_that_overflow_the_standardisation_get_422_naming_row_and_feature(bool rows, string value, string reason)
    {
        // The classifier standardises feature 0 with a scale of 3 (a standard deviation of 1/3): 3 × 3e38 is ∞ in float.
        Services.Service service = services.Classifier;
        string ok = string.Join(',', Enumerable.Repeat("1", Services.InputSize));
        string huge = value + "," + string.Join(',', Enumerable.Repeat("1", Services.InputSize - 1));
        string body = rows ? $"{{\"rows\":[[{ok}],[{huge}]]}}" : $"{{\"features\":[{huge}]}}";
        await AssertUnprocessableAsync(service, body, reason);
    }

    /// <summary>Posts <paramref name="body"/> and expects 422 with <paramref name="reason"/>, counted as a rejection, with
    /// nothing logged at Warning or above.</summary>
    private static async Task AssertUnprocessableAsync(Services.Service service, string body, string reason)
    {
        long rejected = await RejectedAsync(service);
        int logged = service.Log.Count;

        (HttpStatusCode status, string error) = await PostAsync(service, Utf8(body));

        Assert.True(status == HttpStatusCode.UnprocessableEntity, $"{(int)status} {error}");
        Assert.Equal(reason, error);
        Assert.Equal(rejected + 1, await RejectedAsync(service));
        AssertNothingLogged(service, logged);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_gets_413_and_is_counted()
    {
        // No Content-Length: Kestrel can only refuse once the chunks pass the limit, while the body is being read.
        Services.Service service = services.Classifier;
        long rejected = await RejectedAsync(service);
        int logged = service.Log.Count;
        byte[] chunk = Encoding.ASCII.GetBytes(new string(' ', 64 * 1024));
        var content = new PushStreamContent(async stream =>
        {
            for (int sent = 0; sent < 5 * 1024 * 1024; sent += chunk.Length)
                await stream.WriteAsync(chunk);
        });
        content.Headers.ContentType = new("application/json");

        using HttpResponseMessage response = await service.Client.PostAsync("/v1/predict", content);

        Assert.Null(content.Headers.ContentLength);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using JsonDocument error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("Request body too large", error.RootElement.GetProperty("error").GetString());
        Assert.Equal(rejected + 1, await RejectedAsync(service));
        AssertNothingLogged(service, logged);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Clients_that_hang_up_mid_body_leave_no_error_in_the_log(bool reset)
    {
        // Kestrel misbehaves in about 1 hang-up in 70 when the service answers one itself: many, to see it.
        const int clients = 150;
        Services.Service service = services.Classifier;
        int logged = service.Log.Count;
        for (int i = 0; i < clients; i++)
        {
            using var tcp = await ConnectAsync(service);
            if (reset)
                tcp.LingerState = new System.Net.Sockets.LingerOption(true, 0);   // close with RST, not FIN
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(
                "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"features\":[1,"));
        }

        // The service still answers, and logged nothing worse than Information about the ones that left.
        await PostOkAsync(service, RowsBody(RawFeatures(Services.InputSize, 1, seed: 8), 1, Services.InputSize));
        // An absence cannot be waited for: give Kestrel's connection teardown (on its own threads) time to log, then look.
        await Task.Delay(500);
        AssertNothingLogged(service, logged);
    }

    [Fact]
    public async Task Broken_chunked_framing_gets_400_and_is_counted()
    {
        Services.Service service = services.Classifier;
        long rejected = await RejectedAsync(service);
        int logged = service.Log.Count;
        using var tcp = await ConnectAsync(service);
        await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(
            "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n"));
        string answer = await new StreamReader(tcp.GetStream()).ReadToEndAsync();   // the service closes the connection
        Assert.StartsWith("HTTP/1.1 400 ", answer);
        Assert.Contains("{\"error\":\"Bad chunk size data.\"}", answer);
        Assert.Equal(rejected + 1, await RejectedAsync(service));
        AssertNothingLogged(service, logged);
    }

    private static async Task<System.Net.Sockets.TcpClient> ConnectAsync(Services.Service service)
    {
        var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(service.Client.BaseAddress!.Host, service.Client.BaseAddress.Port);
        return tcp;
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

    /// <summary>Posts <paramref name="body"/> as JSON; the status and the answer's "error" (or its whole text).</summary>
    private static async Task<(HttpStatusCode Status, string Error)> PostAsync(Services.Service service, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        using HttpResponseMessage response = await service.Client.PostAsync("/v1/predict", content);
        string text = await response.Content.ReadAsStringAsync();
        try
        {
            using JsonDocument answer = JsonDocument.Parse(text);
            return (response.StatusCode, answer.RootElement.TryGetProperty("error", out JsonElement error) ? error.GetString()! : text);
        }
        catch (JsonException)
        {
            return (response.StatusCode, text);
        }
    }

    /// <summary>The service logged nothing at Warning or above, and no exception, after its first <paramref name="logged"/> entries.</summary>
    private static void AssertNothingLogged(Services.Service service, int logged)
    {
        string[] entries = service.Log.Skip(logged).ToArray();
        Assert.True(entries.Length == 0, string.Join(Environment.NewLine, entries));
    }

    private static async Task<long> RejectedAsync(Services.Service service)
    {
        using JsonDocument diagnostics = JsonDocument.Parse(await service.Client.GetStringAsync("/v1/diagnostics"));
        return diagnostics.RootElement.GetProperty("rejected").GetInt64();
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

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
        /// <summary>The classifier quantized with its output layer kept in fp32.</summary>
        public Service QuantizedClassifier { get; private set; } = null!;
        /// <summary>A regression model that sums its features (no standardisation): finite inputs near float's maximum
        /// overflow its output.</summary>
        public Service Summing { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var classifier = new Network<float>(InputSize,
                [new LayerSpec(33, Activation.Tanh), new LayerSpec(17, Activation.ReLU), new LayerSpec(3, Activation.Softmax)], seed: 11);
            var regression = new Network<float>(InputSize, [new LayerSpec(20, Activation.Tanh), new LayerSpec(2, Activation.Identity)], seed: 12);
            var scaler = new Standardizer<float>(Enumerable.Range(0, InputSize).Select(i => 10f + i * 0.1f).ToArray(),
                Enumerable.Range(0, InputSize).Select(i => 3f + i).ToArray());   // scales: feature 0 is multiplied by 3, so 3e38 overflows
            var targets = new Standardizer<float>([100f, -4f], [25f, 0.5f]);
            string classifierPath = Path.Combine(folder, "classifier.fbpm"), regressionPath = Path.Combine(folder, "regression.fbpm");
            ModelFile.Save(classifierPath, new Model<float>(classifier, scaler, ["setosa", "versicolor", "virginica"], Loss.SoftmaxCrossEntropy));
            ModelFile.Save(regressionPath, new Model<float>(regression, scaler, loss: Loss.MeanSquaredError, targetStandardization: targets));
            Classifier = await Service.StartAsync(classifierPath);
            string quantizedPath = Path.Combine(folder, "classifier-int8.fbpm");
            ModelFile.Save(quantizedPath, ModelFile.Load<float>(classifierPath).Quantize(new QuantizationOptions { KeepOutputLayerInFloat = true }));
            QuantizedClassifier = await Service.StartAsync(quantizedPath);
            Regression = await Service.StartAsync(regressionPath);

            var summing = new Network<float>(InputSize, [new LayerSpec(1, Activation.Identity)]);
            summing.SetWeights(0, Enumerable.Repeat(1f, InputSize).ToArray());
            summing.SetBiases(0, [0f]);
            string summingPath = Path.Combine(folder, "summing.fbpm");
            ModelFile.Save(summingPath, new Model<float>(summing, loss: Loss.MeanSquaredError));
            Summing = await Service.StartAsync(summingPath);
        }

        public async Task DisposeAsync()
        {
            await Classifier.DisposeAsync();
            await Regression.DisposeAsync();
            await QuantizedClassifier.DisposeAsync();
            await Summing.DisposeAsync();
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
                Client = new HttpClient();
            }

            public WebApplication App { get; }
            public string Path { get; }
            public Model<float> Model { get; }
            public HttpClient Client { get; }
            /// <summary>What the service logged at Warning or above, or with an exception, since it started.</summary>
            public IReadOnlyCollection<string> Log => log.Entries;
            private readonly LogCapture log = new();

            public static async Task<Service> StartAsync(string modelPath)
            {
                WebApplication app = ServingApp.Create(["--model", modelPath, "--urls", "http://127.0.0.1:0", "--max-rows", MaxRows.ToString()]);
                var service = new Service(app, modelPath);
                app.Services.GetRequiredService<ILoggerFactory>().AddProvider(service.log);
                await app.StartAsync();
                // Port 0: Kestrel picks a free port; the address it bound is in Urls once started.
                service.Client.BaseAddress = new Uri(app.Urls.Single());
                return service;
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
