using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Api;
using Stratus.ControlPlane.Audit;
using Stratus.ControlPlane.Auth;
using Stratus.ControlPlane.Deployments;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Routing;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Auth;
using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Tests.Api;

/// <summary>The REST API on real Kestrel (loopback, port 0) over a real SQLite file.</summary>
public sealed class ControlPlaneApiTests : IAsyncLifetime, IDisposable
{
    private TempDatabase _temp = null!;
    private WebApplication _app = null!;
    private ControlPlaneServices _services = null!;
    private HttpClient _client = null!;
    private string _admin = null!;
    private string _deployer = null!;
    private string _viewer = null!;
    private int _triggers;

    public async Task InitializeAsync()
    {
        _temp = await TempDatabase.CreateAsync();
        var tokens = new SqliteTokenStore(_temp.Database, TimeProvider.System);
        _services = new ControlPlaneServices(
            tokens,
            new SqliteAuditLog(_temp.Database, TimeProvider.System),
            new ModelRegistry(_temp.Database, new ContentStore(Path.Combine(_temp.Folder, "models")), TimeProvider.System),
            new DeploymentStore(_temp.Database, TimeProvider.System),
            new RouteTablePublisher(TimeProvider.System),
            () => Interlocked.Increment(ref _triggers));
        _admin = (await tokens.CreateAsync(Role.Admin, "admin")).Secret;
        _deployer = (await tokens.CreateAsync(Role.Deployer, "deployer")).Secret;
        _viewer = (await tokens.CreateAsync(Role.Viewer, "viewer")).Secret;

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        ControlPlaneApi.Map(_app, _services);
        await _app.StartAsync();
        _client = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
    }

    public void Dispose() => _client?.Dispose();

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        await _temp.DisposeAsync();
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
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
    [InlineData("""{"replicas":1}""", "'model' and 'version' are required")]
    [InlineData("""{"model":"credit-risk","version":1,"replicas":""", "malformed JSON")]
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
}
