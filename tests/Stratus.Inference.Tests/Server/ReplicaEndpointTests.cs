using System.Net;
using System.Text.Json;
using Stratus.Inference.Tests.Support;

namespace Stratus.Inference.Tests.Server;

/// <summary>The v2 REST surface of a real replica serving the trained credit-risk model.</summary>
public sealed class ReplicaEndpointTests : IAsyncLifetime
{
    private readonly CreditRiskFixture _fixture = CreditRiskFixture.Load();
    private TestReplica _replica = null!;

    public async Task InitializeAsync() => _replica = await TestReplica.StartAsync(TestModels.CreditRisk, "credit-risk", o => o.MaxRequestBodyBytes = 16 * 1024);

    public async Task DisposeAsync() => await _replica.DisposeAsync();

    private async Task<JsonElement> GetJsonAsync(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await _replica.Client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Health_LiveAndReady_AreTrueOnceLoaded()
    {
        Assert.True((await GetJsonAsync("v2/health/live")).GetProperty("live").GetBoolean());
        Assert.True((await GetJsonAsync("v2/health/ready")).GetProperty("ready").GetBoolean());
        Assert.True((await GetJsonAsync("v2/models/credit-risk/ready")).GetProperty("ready").GetBoolean());
        Assert.True((await GetJsonAsync("v2/models/credit-risk/versions/1/ready")).GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task HealthReady_OfAReplicaThatWarmsUpFirst_Is503UntilItHasWarmedUp()
    {
        await using var replica = await TestReplica.StartAsync(TestModels.CreditRisk, "credit-risk", o => o.ReadyAfterWarmUp = true);

        using (var before = await replica.Client.GetAsync("v2/health/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        }

        // Loaded already: the warm-up's own requests are served.
        await replica.InferOkAsync(_fixture.Request(0, 1));
        replica.Host.WarmedUp();

        using var after = await replica.Client.GetAsync("v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task ServerMetadata_NamesTheBinaryExtension()
    {
        var metadata = await GetJsonAsync("v2");

        Assert.Equal("stratus", metadata.GetProperty("name").GetString());
        Assert.Contains("binary_tensor_data", metadata.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("v2/models/credit-risk")]
    [InlineData("v2/models/credit-risk/versions/1")]
    public async Task ModelMetadata_ComesFromTheGraph(string path)
    {
        var metadata = await GetJsonAsync(path);

        Assert.Equal("credit-risk", metadata.GetProperty("name").GetString());
        Assert.Equal(["1"], metadata.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("onnxruntime_onnx", metadata.GetProperty("platform").GetString());
        var input = metadata.GetProperty("inputs").EnumerateArray().Single();
        Assert.Equal("features", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal([-1L, 12L], input.ShapeOf());
        var outputs = metadata.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        Assert.Equal("FP32", outputs["probabilities"].GetProperty("datatype").GetString());
        Assert.Equal([-1L, 2L], outputs["probabilities"].ShapeOf());
        Assert.Equal("INT64", outputs["label"].GetProperty("datatype").GetString());
        Assert.Equal([-1L], outputs["label"].ShapeOf());
    }

    [Theory]
    [InlineData("v2/models/other", "unknown model 'other'")]
    [InlineData("v2/models/credit-risk/versions/2", "unknown version '2'")]
    [InlineData("v2/models/credit-risk/versions/2/ready", "unknown version '2'")]
    [InlineData("v2/nothing/here", "no such endpoint")]
    public async Task UnknownModelVersionOrPath_Is404WithReason(string path, string expected)
    {
        var error = await GetJsonAsync(path, HttpStatusCode.NotFound);

        Assert.Contains(expected, error.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_FixtureRows_MatchTheTrainingCodesForwardPass()
    {
        var response = await _replica.InferOkAsync(_fixture.Request(0, 16, id: "req-7"));

        Assert.Equal("req-7", response.GetProperty("id").GetString());
        Assert.Equal("credit-risk", response.GetProperty("model_name").GetString());
        Assert.Equal("1", response.GetProperty("model_version").GetString());
        var probabilities = response.Output("probabilities");
        Assert.Equal([16L, 2L], probabilities.ShapeOf());
        var actual = probabilities.Floats();
        for (var row = 0; row < 16; row++)
        {
            Assert.Equal(_fixture.Probabilities[row][0], actual[row * 2], 1e-5f);
            Assert.Equal(_fixture.Probabilities[row][1], actual[(row * 2) + 1], 1e-5f);
        }

        Assert.Equal(_fixture.Labels, response.Output("label").Longs());
    }

    [Fact]
    public async Task Infer_VersionedPath_ServesTheSameModel()
    {
        using var response = await _replica.PostJsonAsync("v2/models/credit-risk/versions/1/infer", _fixture.Request(8, 1));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([_fixture.Labels[8]], body.Output("label").Longs());
    }

    [Fact]
    public async Task Infer_OutputsSelection_ReturnsOnlyThoseAsked()
    {
        var request = _fixture.Request(0, 2).Replace("]}]}", "]}],\"outputs\":[{\"name\":\"label\"}]}", StringComparison.Ordinal);

        var response = await _replica.InferOkAsync(request);

        Assert.Equal(["label"], response.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        Assert.False(response.TryGetProperty("id", out _));
    }

    [Fact]
    public async Task Infer_BinaryRequestAndResponse_MatchTheJsonPath()
    {
        var rows = _fixture.Features.Take(4).SelectMany(r => r).ToArray();
        using var content = BinaryInference.Content(
            """{"inputs":[{"name":"features","datatype":"FP32","shape":[4,12],"parameters":{"binary_data_size":192}}],"outputs":[{"name":"probabilities","parameters":{"binary_data":true}},{"name":"label"}]}""",
            BinaryInference.Bytes(rows));

        using var response = await _replica.Client.PostAsync("v2/models/credit-risk/infer", content);
        var (header, binary) = await BinaryInference.ReadAsync(response);

        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        var probabilities = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(binary["probabilities"]).ToArray();
        Assert.Equal(8, probabilities.Length);
        for (var row = 0; row < 4; row++)
        {
            Assert.Equal(_fixture.Probabilities[row][1], probabilities[(row * 2) + 1], 1e-5f);
        }

        Assert.Equal(_fixture.Labels.Take(4), header.Output("label").Longs());
    }

    [Fact]
    public async Task Infer_BinaryDataOutputParameter_MakesEveryOutputBinary()
    {
        var request = _fixture.Request(0, 1).Replace("{\"inputs\"", "{\"parameters\":{\"binary_data_output\":true},\"inputs\"", StringComparison.Ordinal);

        using var response = await _replica.InferAsync(request);
        var (_, binary) = await BinaryInference.ReadAsync(response);

        Assert.Equal(8, binary["probabilities"].Length);
        Assert.Equal(_fixture.Labels[0], BitConverter.ToInt64(binary["label"]));
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"feature","datatype":"FP32","shape":[1,12],"data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""", "unknown input 'feature'")]
    [InlineData("""{"inputs":[]}""", "missing input 'features'")]
    [InlineData("""{"inputs":[{"name":"features","datatype":"FP32","shape":[1,11],"data":[1,2,3,4,5,6,7,8,9,10,11]}]}""", "has shape [1,11] but model 'credit-risk' expects [-1,12]")]
    [InlineData("""{"inputs":[{"name":"features","datatype":"FP32","shape":[12],"data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""", "has shape [12] but model 'credit-risk' expects [-1,12]")]
    [InlineData("""{"inputs":[{"name":"features","datatype":"FP64","shape":[1,12],"data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""", "has datatype FP64 but model 'credit-risk' expects FP32")]
    [InlineData("""{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[1,2,3]}]}""", "has 3 elements in 'data' but its shape [1,12] needs 12")]
    [InlineData("""{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[1,2,3,4,5,6,7,8,9,10,11,12]}],"outputs":[{"name":"score"}]}""", "unknown output 'score'")]
    [InlineData("""{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[1,2,3,4,5,6,7,8,9,10,11,12]},{"name":"features","datatype":"FP32","shape":[1,12],"data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""", "given twice")]
    [InlineData("""{"inputs":[{"name":"features" """, "malformed JSON")]
    [InlineData("", "the request body is empty")]
    public async Task Infer_CallerMistakes_Are400WithTheReason(string body, string expected)
    {
        var error = await _replica.InferErrorAsync(body, 400);

        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_BadBinaryHeaderLength_Is400()
    {
        using var content = BinaryInference.Content("""{"inputs":[]}""");
        content.Headers.Remove("Inference-Header-Content-Length");
        content.Headers.Add("Inference-Header-Content-Length", "twelve");

        using var response = await _replica.Client.PostAsync("v2/models/credit-risk/infer", content);

        Assert.Contains("must be a non-negative integer", await TestReplica.ReadErrorAsync(response, 400), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v2/models/other/infer", "unknown model 'other'")]
    [InlineData("v2/models/credit-risk/versions/9/infer", "unknown version '9'")]
    public async Task Infer_UnknownModelOrVersion_Is404(string path, string expected)
    {
        using var response = await _replica.PostJsonAsync(path, _fixture.Request(0, 1));

        Assert.Contains(expected, await TestReplica.ReadErrorAsync(response, 404), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_BodyOverTheLimit_Is413BeforeReading()
    {
        var big = _fixture.Request(0, 1).Replace("\"id\"", "\"pad\":\"" + new string('x', 20_000) + "\",\"id\"", StringComparison.Ordinal)
            .Insert(1, "\"pad\":\"" + new string('x', 20_000) + "\",");

        var error = await _replica.InferErrorAsync(big, 413);

        Assert.Contains("larger than the limit of 16384 bytes", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_ChunkedBodyOverTheLimit_Is413()
    {
        // No Content-Length: the limit must hold while streaming, too.
        using var content = new StreamContent(new UnseekableStream(new byte[40_000]));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        using var response = await _replica.Client.PostAsync("v2/models/credit-risk/infer", content);

        Assert.Contains("larger than the limit", await TestReplica.ReadErrorAsync(response, 413), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_GzipRequestBody_IsDecompressed()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(System.Text.Encoding.UTF8.GetBytes(_fixture.Request(8, 2)));
        }

        using var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentEncoding.Add("gzip");
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await _replica.Client.PostAsync("v2/models/credit-risk/infer", content);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_fixture.Labels.Skip(8).Take(2), body.Output("label").Longs());
    }

    [Fact]
    public async Task Infer_GzipBodyInflatingPastTheLimit_Is413()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(new byte[1_000_000]);
        }

        using var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentEncoding.Add("gzip");

        using var response = await _replica.Client.PostAsync("v2/models/credit-risk/infer", content);

        Assert.True(compressed.Length < 16 * 1024);
        Assert.Contains("larger than the limit", await TestReplica.ReadErrorAsync(response, 413), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_AfterBadRequests_StillAnswersCorrectly()
    {
        await _replica.InferErrorAsync("{not json", 400);
        await _replica.InferErrorAsync("""{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[1]}]}""", 400);

        var response = await _replica.InferOkAsync(_fixture.Request(9, 1));

        Assert.Equal([_fixture.Labels[9]], response.Output("label").Longs());
    }

    [Fact]
    public async Task Metrics_CountSuccessesAndFailuresByModelAndVersion()
    {
        await _replica.InferOkAsync(_fixture.Request(0, 1));
        await _replica.InferErrorAsync("{", 400);

        var metrics = await _replica.Client.GetStringAsync("metrics");

        Assert.Contains("stratus_inference_requests_total{model=\"credit-risk\",version=\"1\",outcome=\"success\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("stratus_inference_requests_total{model=\"credit-risk\",version=\"1\",outcome=\"failure\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("stratus_inference_request_duration_seconds_count{model=\"credit-risk\",version=\"1\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("stratus_inference_compute_duration_seconds_count{model=\"credit-risk\",version=\"1\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("stratus_inference_queue_duration_seconds_count{model=\"credit-risk\",version=\"1\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("stratus_inference_batch_size_sum{model=\"credit-risk\",version=\"1\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("stratus_inference_inflight_requests{model=\"credit-risk\",version=\"1\"} 0", metrics, StringComparison.Ordinal);
    }

    /// <summary>A stream whose length is unknown, so HttpClient sends it chunked.</summary>
    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
