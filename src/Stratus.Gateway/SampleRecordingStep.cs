using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Stratus.Core.Routing;
using Yarp.ReverseProxy.Model;

namespace Stratus.Gateway;

/// <summary>
/// Records a few real requests as a version's samples, for deployments that opted in
/// (<see cref="Route.RecordProbes"/>; off by default, so no payload is kept otherwise): a JSON request that the
/// version answered 2xx is handed to the sink after the caller's answer, until this gateway has handed over that
/// many for the version. The sink (the control plane) checks each against the signature before it keeps it.
/// </summary>
public sealed class SampleRecordingStep(GatewayOptions options, GatewayMetrics metrics)
{
    /// <summary>Largest request recorded as a sample.</summary>
    public const int MaxSampleBytes = 1024 * 1024;

    private readonly ConcurrentDictionary<(string, string), int> _recorded = new();

    public Func<string, Route?>? Routes { get; set; }

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        await next();
        var proxy = context.Features.Get<IReverseProxyFeature>()!;
        var deployment = proxy.Cluster.Config.ClusterId;
        if (options.SampleSink is not { } sink || Routes?.Invoke(deployment) is not { RecordProbes: > 0 } route ||
            context.Response.StatusCode is < 200 or >= 300 || proxy.ProxiedDestination is not { } destination ||
            BufferedRequest.HeaderLength(context.Request.Headers) is not null)
        {
            return;
        }

        var version = RetryStep.VersionOf(destination);
        var key = (deployment, version);
        if (_recorded.GetValueOrDefault(key) >= route.RecordProbes || !int.TryParse(version, CultureInfo.InvariantCulture, out var number))
        {
            return;
        }

        if (await BufferedRequest.CopyAsync(context.Request, MaxSampleBytes, context.RequestAborted) is not { } body ||
            _recorded.AddOrUpdate(key, 1, (_, n) => n + 1) > route.RecordProbes)
        {
            return;
        }

        metrics.RecordedSample(deployment, version);
        _ = Task.Run(async () =>
        {
            try
            {
                await sink.RecordAsync(deployment, number, body, CancellationToken.None);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A sample that cannot be kept is only a missed sample; the caller was answered long ago.
            }
        });
    }
}
