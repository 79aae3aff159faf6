using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Stratus.Core.Routing;
using Stratus.Inference.Server;

namespace Stratus.Gateway.Tests;

/// <summary>Bodies the replica refuses as the caller's error reach the caller through the gateway as the replica answered them.</summary>
public sealed class HostileBodyTests : IAsyncLifetime
{
    private const string Request = """{"id":"r","inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[21,12000,0.415,0.524,4,2,1,6750,60,1.7,0,1.7]}]}""";
    private ReplicaHost _replica = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _replica = await TestReplicas.StartAsync();
        _gateway = await TestGateway.StartAsync(new GatewayOptions(), new Route("risk", "credit-risk", 1, [new RouteEndpoint("risk-0", "cloud-0", _replica.Address)]) { Public = true });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _replica.DisposeAsync();
    }

    [Theory]
    [InlineData("zstd", 415, "Content-Encoding 'zstd' is not supported")]
    [InlineData("gzip", 400, "not valid gzip data")]
    [InlineData(null, 400, "not valid UTF-8")]
    public async Task Infer_BodyTheReplicaRefuses_IsPassedThrough(string? encoding, int status, string expected)
    {
        var body = encoding is null ? [.. Request.Replace("\"r\"", "\"\u00FF\"", StringComparison.Ordinal).Select(c => (byte)c)] : Encoding.UTF8.GetBytes(Request);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (encoding is not null)
        {
            content.Headers.ContentEncoding.Add(encoding);
        }

        using var response = await _gateway.Client.PostAsync("v2/models/risk/infer", content);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Contains(expected, JsonDocument.Parse(text).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, await TestReplicas.ServedAsync(_replica, "failure"));
    }
}
