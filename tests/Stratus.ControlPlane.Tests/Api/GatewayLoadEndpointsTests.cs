using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stratus.ControlPlane.Tests.Load;

namespace Stratus.ControlPlane.Tests.Api;

/// <summary><c>POST /api/v1/gateways/{id}/load</c> and <c>GET /api/v1/gateways</c>.</summary>
public sealed partial class ControlPlaneApiTests
{
    private static JsonContent ReportBody(Stratus.Core.Scaling.GatewayLoadReport report) => JsonContent.Create(report, options: new JsonSerializerOptions(JsonSerializerDefaults.Web));

    [Fact]
    public async Task ReportLoad_WithADeployerToken_IsAppliedOnce()
    {
        var report = GatewayLoadsTests.Report("gw-1", 1, 3, 40, requests: 40, failures: 4);

        using var first = await SendAsync(HttpMethod.Post, "api/v1/gateways/gw-1/load", _deployer, ReportBody(report));
        using var again = await SendAsync(HttpMethod.Post, "api/v1/gateways/gw-1/load", _deployer, ReportBody(report));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True((await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("applied").GetBoolean());
        Assert.False((await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("applied").GetBoolean());
        Assert.Equal((3L, 40L), _loads.Read("risk"));
        Assert.Equal(4, _loads.ResultsSince("risk", 2, DateTimeOffset.MinValue).Failures);
        using var gateways = await SendAsync(HttpMethod.Get, "api/v1/gateways", _viewer);
        var listed = Assert.Single((await gateways.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray());
        Assert.Equal(("gw-1", "eu", 1L, true), (listed.GetProperty("gateway").GetString(), listed.GetProperty("region").GetString(), listed.GetProperty("sequence").GetInt64(), listed.GetProperty("fresh").GetBoolean()));
    }

    [Theory]
    [InlineData("{\"gateway\":")]
    [InlineData("{\"gateway\":\"gw-1\",\"sequence\":1,\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-01-01T00:00:00Z\",\"deployments\":[],\"results\":[],\"shadows\":[],\"extra\":1}")]
    [InlineData("{\"gateway\":\"gw-1\",\"sequence\":0,\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-01-01T00:00:00Z\",\"deployments\":[],\"results\":[],\"shadows\":[]}")]
    [InlineData("{\"gateway\":\"gw-2\",\"sequence\":1,\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-01-01T00:00:00Z\",\"deployments\":[],\"results\":[],\"shadows\":[]}")]
    [InlineData("{\"gateway\":\"gw-1\",\"sequence\":1,\"from\":\"2026-01-01T00:00:00Z\",\"to\":\"2026-01-01T00:00:00Z\",\"deployments\":[{\"deployment\":\"risk\",\"inFlight\":1,\"completed\":1}],\"results\":[{\"deployment\":\"risk\",\"version\":2,\"cloud\":\"c\",\"requests\":2,\"failures\":0,\"latency\":[1]}],\"shadows\":[]}")]
    public async Task ReportLoad_BadBody_Is400AndAppliesNothing(string body)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/v1/gateways/gw-1/load", _deployer, JsonBody(body));

        await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal((0L, 0L), _loads.Read("risk"));
        Assert.Empty(_loads.Gateways());
    }

    [Fact]
    public async Task ReportLoad_WithAViewerToken_Is403()
    {
        using var response = await SendAsync(HttpMethod.Post, "api/v1/gateways/gw-1/load", _viewer, ReportBody(GatewayLoadsTests.Report("gw-1", 1, 3, 40)));

        await ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Empty(_loads.Gateways());
    }
}
