using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Stratus.ControlPlane.Tests.Support;

namespace Stratus.ControlPlane.Tests.Api;

/// <summary>Sample requests through the API: pushed with a model, added to a version, or given in a deployment spec.</summary>
public sealed partial class ControlPlaneApiTests
{
    private static MultipartFormDataContent Push(bool samplesFirst, params string[] samples)
    {
        var content = new MultipartFormDataContent();
        var model = new StreamContent(File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")));
        model.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (!samplesFirst)
        {
            content.Add(model, "model", "credit-risk.onnx");
        }

        foreach (var sample in samples)
        {
            content.Add(JsonBody(sample), "sample");
        }

        if (samplesFirst)
        {
            content.Add(model, "model", "credit-risk.onnx");
        }

        return content;
    }

    private async Task<JsonElement[]> SamplesAsync(string path = "api/v1/models/credit-risk/versions/1/samples")
    {
        using var response = await SendAsync(HttpMethod.Get, path, _viewer);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement[]>())!;
    }

    private async Task<string[]> AuditActionsAsync() => [.. (await _services.Audit.ListAsync()).Select(e => e.Action)];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PushModel_MultipartWithSamplesInEitherOrder_StoresThemWithTheVersion(bool samplesFirst)
    {
        using var content = Push(samplesFirst, CreditRiskSamples.Fitting(30), CreditRiskSamples.Fitting(31));

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk", _deployer, content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("samples").GetInt32());
        var samples = await SamplesAsync();
        Assert.Equal([1, 2], samples.Select(s => s.GetProperty("seq").GetInt32()));
        Assert.All(samples, s => Assert.Equal("push", s.GetProperty("source").GetString()));
        Assert.Equal(30, samples[0].GetProperty("request").GetProperty("inputs")[0].GetProperty("data")[0].GetInt32());
        var push = Assert.Single(await _services.Audit.ListAsync());
        Assert.Equal(("model.push", "credit-risk/1"), (push.Action, push.Target));
        Assert.Contains("\"samples\":2", push.After, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PushModel_MultipartWithABadSample_Is400NamingTheTensorAndStoresNothing(bool samplesFirst)
    {
        using var content = Push(samplesFirst, CreditRiskSamples.Fitting(), CreditRiskSamples.Int64Features);

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk", _deployer, content);

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        var detail = problem.GetProperty("detail").GetString();
        Assert.Contains("sample 2 does not fit model credit-risk", detail, StringComparison.Ordinal);
        Assert.Contains("input 'features' has datatype INT64", detail, StringComparison.Ordinal);
        using var versions = await SendAsync(HttpMethod.Get, "api/v1/models/credit-risk", _viewer);
        Assert.Equal(HttpStatusCode.NotFound, versions.StatusCode);
        Assert.Empty(await _services.Models.ListAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(_temp.Folder, "models"), "*", SearchOption.AllDirectories));
        Assert.Empty(await _services.Audit.ListAsync());
    }

    [Theory]
    [InlineData("other", "unknown part 'other'")]
    [InlineData("model", "one 'model' part")]
    public async Task PushModel_MultipartWithAnUnexpectedPart_Is400AndStoresNothing(string part, string expected)
    {
        using var content = Push(samplesFirst: false, CreditRiskSamples.Fitting());
        content.Add(new StreamContent(File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx"))), part, "x.onnx");

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk", _deployer, content);

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await _services.Models.ListAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(_temp.Folder, "models"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task AddSamples_OneObjectThenAnArray_AreStoredOnceEachListedAndAudited()
    {
        await PushCreditRiskAsync();

        using var one = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk/versions/1/samples", _deployer, JsonBody(CreditRiskSamples.Fitting(30)));
        using var array = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk/versions/1/samples", _deployer, JsonBody($"[{CreditRiskSamples.Fitting(30)},{CreditRiskSamples.Fitting(31)},{CreditRiskSamples.Fitting(32)}]"));
        using var again = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk/versions/1/samples", _deployer, JsonBody(CreditRiskSamples.Fitting(31)));

        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal(1, (await one.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("samples").GetInt32());
        Assert.Equal(3, (await array.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("samples").GetInt32());
        Assert.Equal(3, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("samples").GetInt32());
        var samples = await SamplesAsync();
        Assert.Equal([30, 31, 32], samples.Select(s => s.GetProperty("request").GetProperty("inputs")[0].GetProperty("data")[0].GetInt32()));
        Assert.All(samples, s => Assert.Equal("api", s.GetProperty("source").GetString()));
        Assert.All(samples, s => Assert.Equal(64, s.GetProperty("sha256").GetString()!.Length));

        // One entry per call that added something: the repeat added nothing and is not audited.
        var entries = (await _services.Audit.ListAsync()).Where(e => e.Action == "model.samples").ToList();
        Assert.Equal(["credit-risk/1", "credit-risk/1"], entries.Select(e => e.Target));
        Assert.Contains("\"added\":1", entries[0].After, StringComparison.Ordinal);
        Assert.Contains("\"added\":2", entries[1].After, StringComparison.Ordinal);
        Assert.StartsWith("token:", entries[0].Actor, StringComparison.Ordinal);
        Assert.True((await _services.Audit.VerifyAsync()).Intact);
    }

    [Fact]
    public async Task AddSamples_WithAViewerToken_Is403AndAddsNothing()
    {
        await PushCreditRiskAsync();

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk/versions/1/samples", _viewer, JsonBody(CreditRiskSamples.Fitting()));

        var problem = await ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("needs the deployer role", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await SamplesAsync());
        Assert.Equal(["model.push"], await AuditActionsAsync());
    }

    [Fact]
    public async Task Samples_OfAnUnknownVersion_Are404()
    {
        await PushCreditRiskAsync();

        using var post = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk/versions/2/samples", _deployer, JsonBody(CreditRiskSamples.Fitting()));
        using var get = await SendAsync(HttpMethod.Get, "api/v1/models/credit-risk/versions/2/samples", _viewer);
        using var unknownModel = await SendAsync(HttpMethod.Get, "api/v1/models/fraud/versions/1/samples", _viewer);

        Assert.Contains("has no version 2", (await ProblemAsync(post, HttpStatusCode.NotFound)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ProblemAsync(get, HttpStatusCode.NotFound);
        await ProblemAsync(unknownModel, HttpStatusCode.NotFound);
        Assert.Equal(["model.push"], await AuditActionsAsync());
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"features""", "malformed JSON")]
    [InlineData("""42""", "must be a v2 inference request or an array of them")]
    [InlineData(CreditRiskSamples.Int64Features, "input 'features' has datatype INT64 but model 'credit-risk' expects FP32")]
    [InlineData("""[{"inputs":[]},{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}]""", "sample 1 does not fit model credit-risk: missing input 'features'")]
    public async Task AddSamples_Bad_Is400WithTheReasonAndAddsNothing(string body, string expected)
    {
        await PushCreditRiskAsync();

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk/versions/1/samples", _deployer, JsonBody(body));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.GetRawText(), StringComparison.Ordinal);
        Assert.Empty(await SamplesAsync());
        Assert.Equal(["model.push"], await AuditActionsAsync());
    }

    [Fact]
    public async Task PutDeployment_WithProbes_AttachesTheSamplesToItsVersionOnce()
    {
        await PushCreditRiskAsync();
        var spec = $$$"""{"model":"credit-risk","version":1,"replicas":1,"probes":{"samples":[{{{CreditRiskSamples.Fitting(30)}}},{{{CreditRiskSamples.Fitting(31)}}}],"record":4}}""";

        using var created = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody(spec));
        var audited = await AuditActionsAsync();
        using var again = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody(spec));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(4, Assert.Single(await _services.Deployments.ListAsync()).RecordProbes);
        var samples = await SamplesAsync();
        Assert.Equal(["spec", "spec"], samples.Select(s => s.GetProperty("source").GetString()));
        Assert.Equal(["model.push", "model.samples", "deployment.create"], audited);
        var entry = (await _services.Audit.ListAsync()).Single(e => e.Action == "model.samples");
        Assert.Equal("credit-risk/1", entry.Target);
        Assert.Contains("\"deployment\":\"risk\"", entry.After, StringComparison.Ordinal);

        // Applied again: the samples are there already, so nothing is added or audited.
        Assert.Equal(audited, await AuditActionsAsync());
        Assert.Equal(2, (await _services.Models.GetAsync("credit-risk", 1))!.Samples);
    }

    [Theory]
    [InlineData("""{"samples":[SAMPLE],"record":99}""", "'probes.record' must be between 0 and 32")]
    [InlineData("""{"samples":[SAMPLE],"record":-1}""", "'probes.record' must be between 0 and 32")]
    [InlineData("""{"samples":[SAMPLE,INT64],"record":2}""", "probes: sample 2 does not fit model credit-risk: input 'features' has datatype INT64")]
    [InlineData("""{"samples":[SAMPLE],"recrod":2}""", "recrod")]
    public async Task PutDeployment_BadProbes_Is400AndStoresNothing(string probes, string expected)
    {
        await PushCreditRiskAsync();
        var spec = $$$"""{"model":"credit-risk","version":1,"replicas":1,"probes":{{{probes.Replace("SAMPLE", CreditRiskSamples.Fitting(), StringComparison.Ordinal).Replace("INT64", CreditRiskSamples.Int64Features, StringComparison.Ordinal)}}}}""";

        using var response = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody(spec));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.GetRawText(), StringComparison.Ordinal);
        Assert.Empty(await _services.Deployments.ListAsync());
        Assert.Empty(await SamplesAsync());
        Assert.Equal(["model.push"], await AuditActionsAsync());
        Assert.Equal(0, _triggers);
    }
}
