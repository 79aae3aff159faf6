using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Stratus.Core.Routing;

namespace Stratus.Gateway.Tests;

/// <summary>A gateway on a free port following a <see cref="ScriptedRoutes"/> source, and a client that calls it.</summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private TestGateway(GatewayOptions options, ScriptedRoutes routes, GatewayHost host)
    {
        Options = options;
        Routes = routes;
        Host = host;
        Client = new HttpClient { BaseAddress = host.Address };
    }

    public GatewayOptions Options { get; }

    public ScriptedRoutes Routes { get; }

    public GatewayHost Host { get; }

    public HttpClient Client { get; }

    /// <summary>Starts a gateway with the options (on port 0) and, when routes are given, waits until it took them.</summary>
    public static async Task<TestGateway> StartAsync(GatewayOptions options, params Route[] routes)
    {
        options.Port = 0;
        var source = new ScriptedRoutes();
        var gateway = new TestGateway(options, source, await GatewayHost.StartAsync(options, source, logging => logging.SetMinimumLevel(LogLevel.Critical)));
        if (routes.Length > 0)
        {
            await gateway.PublishAsync(routes);
        }

        return gateway;
    }

    /// <summary>Publishes a new table and waits until the gateway follows it.</summary>
    public async Task PublishAsync(params Route[] routes)
    {
        var version = Routes.Publish(routes);
        await Stratus.Testing.Eventually.HoldsAsync(() => Host.Routes.Current.Version >= version, "the gateway took the new table");
    }

    /// <summary>Posts a v2 JSON request body.</summary>
    public Task<HttpResponseMessage> InferAsync(string body, string path = "v2/models/risk/infer") =>
        Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    /// <summary>The value of one series on the gateway's /metrics (0 when it is absent), e.g. <c>stratus_gateway_canary_fallbacks_total{deployment="risk",version="2"}</c>.</summary>
    public async Task<double> MetricAsync(string series)
    {
        var metrics = await Client.GetStringAsync("metrics");
        var match = Regex.Match(metrics, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
    }
}
