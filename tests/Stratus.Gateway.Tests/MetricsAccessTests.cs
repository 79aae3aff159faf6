using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;

namespace Stratus.Gateway.Tests;

/// <summary>/metrics names private deployments and replicas: loopback callers only, or callers with the metrics token.</summary>
public sealed class MetricsAccessTests
{
    private const string Token = "0123456789abcdef0123456789abcdef";

    private static int? Refused(string? token, string remote, string? authorization = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        var refusal = new MetricsAccess(token).Refusal(context);
        return refusal is null ? null : ((IStatusCodeHttpResult)refusal).StatusCode;
    }

    [Theory]
    [InlineData("127.0.0.1", null)]
    [InlineData("::1", null)]
    [InlineData("::ffff:127.0.0.1", null)]
    [InlineData("10.1.2.3", 403)]
    [InlineData("192.168.0.7", 403)]
    [InlineData("2001:db8::1", 403)]
    public void Refusal_WithoutAToken_ServesLoopbackCallersOnly(string remote, int? expected) =>
        Assert.Equal(expected, Refused(null, remote));

    [Theory]
    [InlineData("10.1.2.3", "Bearer " + Token, null)]
    [InlineData("10.1.2.3", "bearer " + Token, null)]
    [InlineData("10.1.2.3", null, 401)]
    [InlineData("127.0.0.1", null, 401)]
    [InlineData("10.1.2.3", "Bearer 0123456789abcdef0123456789abcdee", 401)]
    [InlineData("10.1.2.3", "Bearer " + Token + "0", 401)]
    [InlineData("10.1.2.3", "Basic " + Token, 401)]
    public void Refusal_WithAToken_ServesThoseWhoSendIt(string remote, string? authorization, int? expected) =>
        Assert.Equal(expected, Refused(Token, remote, authorization));

    [Fact]
    public async Task Metrics_OnARealGatewayWithAToken_Is401WithoutItAndTheSeriesWithIt()
    {
        await using var gateway = await TestGateway.StartAsync(new GatewayOptions { MetricsToken = Token });

        using var without = await gateway.Client.GetAsync("metrics");
        using var request = new HttpRequestMessage(HttpMethod.Get, "metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        using var with = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Equal("Bearer", without.Headers.WwwAuthenticate.ToString());
        Assert.DoesNotContain("stratus_gateway", await without.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, with.StatusCode);
        Assert.Contains("stratus_gateway", await with.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
