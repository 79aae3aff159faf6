using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Stratus.Core.Routing;
using Stratus.Core.Scaling;

namespace Stratus.Gateway.Tests;

/// <summary>A gateway on a free port following a <see cref="ScriptedRoutes"/> source, and a client that calls it.</summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private TestGateway(GatewayOptions options, ScriptedRoutes routes, GatewayHost host, ReportedLoad reported)
    {
        Reported = reported;
        Options = options;
        Routes = routes;
        Host = host;
        Client = new HttpClient { BaseAddress = host.Address };
    }

    public GatewayOptions Options { get; }

    public ScriptedRoutes Routes { get; }

    public GatewayHost Host { get; }

    public HttpClient Client { get; }

    /// <summary>The gateway's load reports, kept as the control plane keeps them.</summary>
    public ReportedLoad Reported { get; }

    /// <summary>Reports the gateway's load now and returns every report's figures so far.</summary>
    public async Task<LoadHistory> ReportedAsync()
    {
        await Host.Reporter.FlushAsync();
        return Reported.History;
    }

    /// <summary>Starts a gateway with the options (on port 0) and, when routes are given, waits until it took them.</summary>
    public static async Task<TestGateway> StartAsync(GatewayOptions options, params Route[] routes)
    {
        options.Port = 0;
        var reported = new ReportedLoad();
        options.LoadSinks = [reported];
        var source = new ScriptedRoutes();
        var gateway = new TestGateway(options, source, await GatewayHost.StartAsync(options, source, logging => logging.SetMinimumLevel(LogLevel.Critical)), reported);
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

/// <summary>A load-report sink that keeps every report's figures at the moment it arrived, as a control plane does.</summary>
internal sealed class ReportedLoad : ILoadReportSink
{
    public LoadHistory History { get; } = new();

    public Task ReportLoadAsync(GatewayLoadReport report, CancellationToken cancellationToken)
    {
        History.Add(report, DateTimeOffset.UtcNow);
        return Task.CompletedTask;
    }
}
