using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Api;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Routing;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Api;
using Stratus.Core.Auth;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Tests.Api;

/// <summary>
/// The REST API on real Kestrel (loopback, port 0) over a real SQLite file, with a local cloud and an in-memory one
/// (whose replicas are real replica servers in this process).
/// </summary>
public sealed partial class ControlPlaneApiTests : IAsyncLifetime, IDisposable
{
    private TempDatabase _temp = null!;
    private WebApplication _app = null!;
    private ControlPlaneServices _services = null!;
    private HttpClient _client = null!;
    private string _admin = null!;
    private string _deployer = null!;
    private string _viewer = null!;
    private int _triggers;
    private LocalCloudProvider _cloud = null!;
    private Support.InMemoryCloud _memoryState = null!;
    private Support.InMemoryCloudProvider _memory = null!;
    private readonly Stratus.ControlPlane.Load.GatewayLoads _loads = new(TimeProvider.System);

    public async Task InitializeAsync()
    {
        _temp = await TempDatabase.CreateAsync();
        var tokens = new SqliteTokenStore(_temp.Database, TimeProvider.System);
        var cloud = new CloudSpec(
            "local-test", "local", "test-1", "eu", new GeoLocation(50, 8),
            new Dictionary<string, int> { ["cpu-small"] = 4 },
            new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m) },
            TimeSpan.Zero);
        _cloud = new LocalCloudProvider(cloud, _temp.Folder, Support.TestReplicas.Executable);
        var memory = cloud with { Name = "memory-test", Provider = "memory" };
        _memoryState = new Support.InMemoryCloud();
        _memory = new Support.InMemoryCloudProvider(memory, _memoryState);
        _services = new ControlPlaneServices(
            tokens,
            new SqliteAuditLog(_temp.Database, TimeProvider.System),
            new ModelRegistry(_temp.Database, new DirectoryBlobStore(Path.Combine(_temp.Folder, "models")), TimeProvider.System),
            new SqliteDeploymentStore(_temp.Database, TimeProvider.System),
            new RouteTablePublisher(TimeProvider.System),
            () => Interlocked.Increment(ref _triggers),
            [cloud, memory],
            new Dictionary<string, ICloudProvider> { [cloud.Name] = _cloud, [memory.Name] = _memory },
            GatewayLoads: _loads);
        _admin = (await tokens.CreateAsync(Role.Admin, "admin")).Secret;
        _deployer = (await tokens.CreateAsync(Role.Deployer, "deployer")).Secret;
        _viewer = (await tokens.CreateAsync(Role.Viewer, "viewer")).Secret;

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        ControlPlaneApi.AddServices(builder.Services, tokens);
        _app = builder.Build();
        ControlPlaneApi.Map(_app, _services);
        await _app.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
    }

    public void Dispose() => _client?.Dispose();

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _cloud.DisposeAsync();
        await _memoryState.DisposeAsync();
        await _app.DisposeAsync();
        await _temp.DisposeAsync();
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, HttpContent? content = null)
    {
        // Large bodies are announced first, as curl and other clients do, so a body the server refuses is never sent.
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.ExpectContinue = content?.Headers.ContentLength > 64 * 1024;
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await _client.SendAsync(request);
    }

    private static StringContent JsonBody(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task PushCreditRiskAsync()
    {
        using var content = new StreamContent(File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")));
        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk", _deployer, content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Theory]
    [InlineData(null, "send a token")]
    [InlineData("stratus_nope_nope", "unknown or revoked")]
    public async Task Call_WithoutAValidToken_Is401AndChangesNothing(string? token, string expected)
    {
        using var response = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", token, JsonBody("""{"model":"credit-risk","version":1,"replicas":1}"""));

        var problem = await ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains(expected, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await _services.Deployments.ListAsync());
        Assert.Empty(await _services.Audit.ListAsync());
    }

    [Fact]
    public async Task Change_WithAViewerToken_Is403AndChangesNothing()
    {
        await PushCreditRiskAsync();
        var auditBefore = (await _services.Audit.ListAsync()).Count;

        using var response = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _viewer, JsonBody("""{"model":"credit-risk","version":1,"replicas":1}"""));

        var problem = await ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("needs the deployer role", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await _services.Deployments.ListAsync());
        Assert.Equal(auditBefore, (await _services.Audit.ListAsync()).Count);
    }

    [Fact]
    public async Task PushModel_Valid_IsVersionedAndAudited()
    {
        using var content = new StreamContent(File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")));

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/credit-risk", _deployer, content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, body.GetProperty("version").GetInt32());
        Assert.Equal(64, body.GetProperty("sha256").GetString()!.Length);
        var entry = Assert.Single(await _services.Audit.ListAsync());
        Assert.Equal("model.push", entry.Action);
        Assert.Equal("credit-risk/1", entry.Target);
    }

    [Fact]
    public async Task PushModel_Corrupt_Is400WithTheReasonAndStoresNothing()
    {
        using var content = new StreamContent(File.OpenRead(Stratus.Testing.RepositoryFiles.Model("corrupt.onnx")));

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/broken", _deployer, content);

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("ONNX Runtime cannot load", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await _services.Models.ListAsync());
        Assert.Empty(await _services.Audit.ListAsync());
    }

    [Fact]
    public async Task PutDeployment_CreateThenUpdate_IsStoredAuditedWithBeforeAndAfterAndTriggersAPass()
    {
        await PushCreditRiskAsync();

        using var created = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"model":"credit-risk","version":1,"replicas":2}"""));
        using var updated = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"model":"credit-risk","version":1,"replicas":3}"""));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(3, Assert.Single(await _services.Deployments.ListAsync()).Replicas);
        Assert.Equal(2, _triggers);
        var update = (await _services.Audit.ListAsync())[^1];
        Assert.Equal("deployment.update", update.Action);
        Assert.Contains("\"replicas\":2", update.Before, StringComparison.Ordinal);
        Assert.Contains("\"replicas\":3", update.After, StringComparison.Ordinal);
        Assert.StartsWith("token:", update.Actor, StringComparison.Ordinal);
        Assert.True((await _services.Audit.VerifyAsync()).Intact);
    }

    [Theory]
    [InlineData("""{"model":"credit-risk","version":1,"replicas":-1}""", "'replicas' must be between 0 and 1000")]
    [InlineData("""{"model":"credit-risk","version":9,"replicas":1}""", "model credit-risk version 9 is not in the registry")]
    [InlineData("""{"replicas":1}""", "'model' is required")]
    [InlineData("""{"model":"credit-risk","replicas":1,"replica":3}""", "'replica'")]
    [InlineData("""{"name":"other","model":"credit-risk","replicas":1}""", "'name' is 'other' but the URL names 'risk'")]
    [InlineData("""{"model":"credit-risk","replicas":1,"shape":"gpu-huge"}""", "no cloud offers shape 'gpu-huge' (offered: cpu-small)")]
    [InlineData("""{"model":"fraud","replicas":1}""", "model fraud is not in the registry; push it first")]
    [InlineData("""[1,2]""", "malformed JSON")]
    [InlineData("""{"model":"credit-risk","version":1,"replicas":""", "malformed JSON")]
    [InlineData("""{"model":"credit-risk","version":1,"replicas":"3"}""", "$.replicas")]
    [InlineData("""{"model":"credit-risk","version":"1","replicas":3}""", "$.version")]
    public async Task PutDeployment_BadSpec_Is400WithTheReasonAndChangesNothing(string body, string expected)
    {
        await PushCreditRiskAsync();

        using var response = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody(body));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.GetRawText(), StringComparison.Ordinal);
        Assert.Empty(await _services.Deployments.ListAsync());
        Assert.Equal(0, _triggers);
    }

    [Fact]
    public async Task DeleteDeployment_Unknown_Is404()
    {
        using var response = await SendAsync(HttpMethod.Delete, "api/v1/deployments/ghost", _deployer);

        await ProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Tokens_CreatedByAdmin_WorkUntilRevoked()
    {
        using var created = await SendAsync(HttpMethod.Post, "api/v1/tokens", _admin, JsonBody("""{"role":"viewer","description":"dashboard"}"""));
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var secret = body.GetProperty("token").GetString();
        var id = body.GetProperty("id").GetString();

        using var allowed = await SendAsync(HttpMethod.Get, "api/v1/deployments", secret);
        using var revoked = await SendAsync(HttpMethod.Delete, $"api/v1/tokens/{id}", _admin);
        using var refused = await SendAsync(HttpMethod.Get, "api/v1/deployments", secret);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Tokens_CreatedByADeployer_Is403()
    {
        using var response = await SendAsync(HttpMethod.Post, "api/v1/tokens", _deployer, JsonBody("""{"role":"admin"}"""));

        await ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal(3, (await _services.Tokens.ListAsync()).Count);
    }

    [Fact]
    public async Task Routes_LongPoll_AnswersWhenANewerTableIsPublished()
    {
        var held = _services.Routes.Current.Version;

        var waiting = SendAsync(HttpMethod.Get, $"api/v1/routes?after={held}&timeoutSeconds=60", _viewer);
        Assert.False(waiting.IsCompleted);
        _services.Routes.Publish([new Route("risk", "credit-risk", 1, [new RouteEndpoint("risk-1", "local-us", new Uri("http://127.0.0.1:9/"))])]);
        using var response = await waiting;

        var table = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(held + 1, table.GetProperty("version").GetInt64());
        Assert.Equal("risk", table.GetProperty("routes")[0].GetProperty("deployment").GetString());
    }

    [Fact]
    public async Task PushModel_LargerThanKestrelsDefaultLimit_ReachesTheRegistry()
    {
        // 40 MB of bytes that are not ONNX: past Kestrel's 30 MB default, so only the registry's limit applies and
        // ONNX Runtime gives the reason.
        var bytes = new byte[40 * 1024 * 1024];
        new Random(7).NextBytes(bytes);
        using var content = new ByteArrayContent(bytes);

        using var response = await SendAsync(HttpMethod.Post, "api/v1/models/big", _deployer, content);

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("ONNX Runtime cannot load", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await _services.Models.ListAsync());
    }

    [Fact]
    public async Task PutDeployment_OversizedBody_Is413AndChangesNothing()
    {
        await PushCreditRiskAsync();
        var padding = new string(' ', (int)ControlPlaneApi.MaxJsonBodyBytes);

        using var response = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("{" + padding + "\"model\":\"credit-risk\",\"replicas\":1}"));

        var problem = await ProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("at most 1048576 bytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await _services.Deployments.ListAsync());
    }

    [Fact]
    public async Task PutDeployment_NestedDeeperThanTheLimit_Is400AndChangesNothing()
    {
        await PushCreditRiskAsync();
        var deep = new string('[', 20_000) + new string(']', 20_000);

        using var response = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"model":"credit-risk","replicas":1,"probes":{"samples":""" + deep + "}}"));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("malformed JSON", problem.GetProperty("title").GetString());
        Assert.Contains($"maximum configured depth of {ApiJson.MaxDepth}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(await _services.Deployments.ListAsync());
        Assert.Equal(0, _triggers);
    }

    [Fact]
    public async Task PutDeployment_SameSpecAgain_ChangesAndAuditsNothing()
    {
        await PushCreditRiskAsync();
        using (await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"model":"credit-risk","replicas":2}""")))
        {
        }

        var audit = (await _services.Audit.ListAsync()).Count;
        using var again = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"model":"credit-risk","version":1,"replicas":2,"shape":"cpu-small"}"""));

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(audit, (await _services.Audit.ListAsync()).Count);
        Assert.Equal(1, _triggers);
    }

    [Fact]
    public async Task PutDeployment_WithoutAVersion_TakesTheLatest()
    {
        await PushCreditRiskAsync();
        await PushCreditRiskAsync();

        using var response = await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"name":"risk","model":"credit-risk","replicas":1}"""));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("modelVersion").GetInt32());
        Assert.Equal(2, Assert.Single(await _services.Deployments.ListAsync()).ModelVersion);
    }

    [Fact]
    public async Task Scale_ChangesOnlyTheReplicaCountAndIsAudited()
    {
        await PushCreditRiskAsync();
        using (await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"model":"credit-risk","replicas":1}""")))
        {
        }

        using var response = await SendAsync(HttpMethod.Post, "api/v1/deployments/risk/scale", _deployer, JsonBody("""{"replicas":3}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Deployment("risk", "credit-risk", 1, 3, "cpu-small"), Assert.Single(await _services.Deployments.ListAsync()));
        var entry = (await _services.Audit.ListAsync())[^1];
        Assert.Equal("deployment.scale", entry.Action);
        Assert.Contains("\"replicas\":1", entry.Before, StringComparison.Ordinal);
        Assert.Contains("\"replicas\":3", entry.After, StringComparison.Ordinal);
        Assert.Equal(2, _triggers);
    }

    [Theory]
    [InlineData("risk", """{"replicas":-2}""", HttpStatusCode.BadRequest)]
    [InlineData("risk", """{"replicas":"many"}""", HttpStatusCode.BadRequest)]
    [InlineData("risk", """{"replicas":"2"}""", HttpStatusCode.BadRequest)]
    [InlineData("ghost", """{"replicas":2}""", HttpStatusCode.NotFound)]
    public async Task Scale_Bad_IsRefusedAndChangesNothing(string name, string body, HttpStatusCode expected)
    {
        await PushCreditRiskAsync();
        using (await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"model":"credit-risk","replicas":1}""")))
        {
        }

        var audit = (await _services.Audit.ListAsync()).Count;

        using var response = await SendAsync(HttpMethod.Post, $"api/v1/deployments/{name}/scale", _deployer, JsonBody(body));

        await ProblemAsync(response, expected);
        Assert.Equal(1, Assert.Single(await _services.Deployments.ListAsync()).Replicas);
        Assert.Equal(audit, (await _services.Audit.ListAsync()).Count);
    }

    [Fact]
    public async Task Models_ShowOneModelAndOneVersionWithV2Datatypes()
    {
        await PushCreditRiskAsync();

        var versions = await (await SendAsync(HttpMethod.Get, "api/v1/models/credit-risk", _viewer)).Content.ReadFromJsonAsync<JsonElement>();
        var version = await (await SendAsync(HttpMethod.Get, "api/v1/models/credit-risk/versions/1", _viewer)).Content.ReadFromJsonAsync<JsonElement>();
        using var missing = await SendAsync(HttpMethod.Get, "api/v1/models/ghost", _viewer);
        using var missingVersion = await SendAsync(HttpMethod.Get, "api/v1/models/credit-risk/versions/4", _viewer);

        Assert.Equal(1, versions.GetArrayLength());
        Assert.Equal("FP32", version.GetProperty("signature").GetProperty("inputs")[0].GetProperty("dataType").GetString());
        await ProblemAsync(missing, HttpStatusCode.NotFound);
        await ProblemAsync(missingVersion, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Clouds_OutageAndRestore_NeedAdminAreAuditedAndReachTheProvider()
    {
        using var listed = await SendAsync(HttpMethod.Get, "api/v1/clouds", _viewer);
        using var byDeployer = await SendAsync(HttpMethod.Post, "api/v1/clouds/local-test/outage", _deployer);
        Assert.False(_cloud.IsOut);

        using var outage = await SendAsync(HttpMethod.Post, "api/v1/clouds/local-test/outage", _admin);
        var outState = (await outage.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString();
        var wasOut = _cloud.IsOut;
        using var restore = await SendAsync(HttpMethod.Post, "api/v1/clouds/local-test/restore", _admin);
        using var unknown = await SendAsync(HttpMethod.Post, "api/v1/clouds/ghost/outage", _admin);

        var cloud = (await listed.Content.ReadFromJsonAsync<JsonElement>())[0];
        Assert.Equal("local-test", cloud.GetProperty("name").GetString());
        Assert.Equal("eu", cloud.GetProperty("jurisdiction").GetString());
        Assert.Equal("up", cloud.GetProperty("state").GetString());
        Assert.Equal(4, cloud.GetProperty("capacity").GetProperty("cpu-small").GetInt32());
        await ProblemAsync(byDeployer, HttpStatusCode.Forbidden);
        Assert.Equal("outage", outState);
        Assert.True(wasOut);
        Assert.Equal("up", (await restore.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        Assert.False(_cloud.IsOut);
        await ProblemAsync(unknown, HttpStatusCode.NotFound);
        Assert.Equal(["cloud.outage", "cloud.restore"], (await _services.Audit.ListAsync()).Select(e => e.Action));
    }

    [Fact]
    public async Task OpenApi_DescribesEveryRouteWithBearerAuth()
    {
        using var response = await _client.GetAsync("api/v1/openapi.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await response.Content.ReadFromJsonAsync<JsonElement>();
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/models/{name}", "/api/v1/deployments/{name}", "/api/v1/deployments/{name}/scale", "/api/v1/clouds", "/api/v1/clouds/{name}/outage", "/api/v1/routes", "/api/v1/replicas/{id}/logs", "/api/v1/audit/verify", "/api/v1/tokens/{id}" })
        {
            Assert.True(paths.TryGetProperty(path, out _), path);
        }

        Assert.Equal(
            "#/components/schemas/DeploymentSpec",
            paths.GetProperty("/api/v1/deployments/{name}").GetProperty("put").GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task Keys_CreatedListedRevokedAuditedAndNeverShownAgain()
    {
        await PushCreditRiskAsync();
        using (await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"model":"credit-risk","replicas":1}""")))
        {
        }

        using var created = await SendAsync(HttpMethod.Post, "api/v1/deployments/risk/keys", _deployer, JsonBody("""{"description":"mobile app"}"""));
        using var byViewer = await SendAsync(HttpMethod.Post, "api/v1/deployments/risk/keys", _viewer, JsonBody("{}"));
        using var forGhost = await SendAsync(HttpMethod.Post, "api/v1/deployments/ghost/keys", _deployer, JsonBody("{}"));
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var key = body.GetProperty("key").GetString()!;
        var id = body.GetProperty("id").GetString()!;
        var listed = await (await SendAsync(HttpMethod.Get, "api/v1/deployments/risk/keys", _viewer)).Content.ReadAsStringAsync();
        using var revoked = await SendAsync(HttpMethod.Delete, $"api/v1/deployments/risk/keys/{id}", _deployer);
        using var again = await SendAsync(HttpMethod.Delete, $"api/v1/deployments/risk/keys/{id}", _deployer);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.StartsWith($"sk_{id}_", key, StringComparison.Ordinal);
        await ProblemAsync(byViewer, HttpStatusCode.Forbidden);
        await ProblemAsync(forGhost, HttpStatusCode.NotFound);
        Assert.Contains("mobile app", listed, StringComparison.Ordinal);
        Assert.DoesNotContain(key, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(InferenceKeys.Hash(key), listed, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        await ProblemAsync(again, HttpStatusCode.NotFound);
        var keys = await _services.Deployments.ListKeysAsync();
        Assert.Equal(InferenceKeys.Hash(key), Assert.Single(keys).Hash);
        Assert.NotNull(keys[0].RevokedAt);
        Assert.Equal(["model.push", "deployment.create", "key.create", "key.revoke"], (await _services.Audit.ListAsync()).Select(e => e.Action));
        Assert.DoesNotContain(await _services.Audit.ListAsync(), e => (e.After ?? string.Empty).Contains(key, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""[{"version":1,"weight":90},{"version":2,"weight":20}]""", "traffic weights must sum to 100, not 110")]
    [InlineData("""[{"version":1,"weight":50},{"version":1,"weight":50}]""", "each version may appear once")]
    [InlineData("""[{"version":1,"weight":50},{"version":9,"weight":50}]""", "model credit-risk version 9, which is not in the registry")]
    [InlineData("""[{"version":1,"weight":150}]""", "a 'weight' from 0 to 100")]
    public async Task Traffic_BadSplit_IsRefusedWithTheReasonAndChangesNothing(string body, string expected)
    {
        await PushCreditRiskAsync();
        await PushCreditRiskAsync();
        using (await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"model":"credit-risk","version":1,"replicas":1}""")))
        {
        }

        using var response = await SendAsync(HttpMethod.Post, "api/v1/deployments/risk/traffic", _deployer, JsonBody(body));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(expected, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(Assert.Single(await _services.Deployments.ListAsync()).Traffic);
    }

    [Fact]
    public async Task Traffic_GoodSplit_IsStoredAndAudited()
    {
        await PushCreditRiskAsync();
        await PushCreditRiskAsync();
        using (await SendAsync(HttpMethod.Put, "api/v1/deployments/risk", _deployer, JsonBody("""{"model":"credit-risk","version":1,"replicas":2}""")))
        {
        }

        using var response = await SendAsync(HttpMethod.Post, "api/v1/deployments/risk/traffic", _deployer, JsonBody("""[{"version":1,"weight":90},{"version":2,"weight":10,"replicas":1}]"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([new TrafficSplit(1, 90), new TrafficSplit(2, 10, 1)], Assert.Single(await _services.Deployments.ListAsync()).Traffic);
        Assert.Equal("deployment.traffic", (await _services.Audit.ListAsync())[^1].Action);
    }
}
