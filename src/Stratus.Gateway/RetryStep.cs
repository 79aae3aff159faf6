using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Stratus.Gateway;

/// <summary>
/// The first step of the proxy pipeline: retries a request whose attempt never reached a model, on another replica
/// (the balancer then prefers the next region when the near one is out), within the request deadline.
/// <para>
/// Never reached a model: the connection was refused or reset before any answer came back (replica gone, or a
/// keep-alive connection it closed as it stopped; YARP's <see cref="ForwarderError.Request"/>, which excludes
/// timeouts), or the replica answered 503 (loading, queue full, draining), which it does before running anything. A
/// request that did reach the model (a timeout, a reset mid-answer, a 4xx, a 500) is not retried. The body is buffered so a retry sends the same bytes. When no replica is left, the
/// caller gets 503 with the reason, not a hang.
/// </para>
/// </summary>
public sealed class RetryStep(GatewayOptions options, RegionLatencies latencies, GatewayMetrics metrics)
{
    /// <summary>Set by the response transform when a replica answered 503: its body was held back so this step can retry.</summary>
    public const string RefusedKey = "stratus.refused";

    private int _held;

    /// <summary>The current route table (set by the host), to know which deployments scale from zero.</summary>
    public Func<Stratus.Core.Routing.RouteTable>? Routes { get; set; }

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var proxy = context.Features.Get<IReverseProxyFeature>()!;
        var deployment = proxy.Cluster.Config.ClusterId;
        context.Request.EnableBuffering();
        if (proxy.AvailableDestinations.Count == 0 && Routes?.Invoke().Routes.FirstOrDefault(r => r.Deployment == deployment) is { ScalesFromZero: true })
        {
            // Scaled to zero: hold the request (counted as load, so the autoscaler starts a replica) until one is ready.
            if (!await HoldAsync(proxy, context.RequestAborted))
            {
                await FailAsync(context, $"deployment '{deployment}' is scaled to zero and no replica became ready within {options.ColdStartTimeout.TotalSeconds:0} s (or too many requests are waiting)");
                return;
            }

            proxy.AvailableDestinations = proxy.Route.Cluster!.DestinationsState.AvailableDestinations;
        }

        var candidates = proxy.AvailableDestinations;
        var tried = new List<DestinationState>();
        var started = Stopwatch.GetTimestamp();
        string? lastFailure = null;
        for (var attempt = 1; ; attempt++)
        {
            var attemptStarted = Stopwatch.GetTimestamp();
            await next();
            var destination = proxy.ProxiedDestination;
            var error = context.Features.Get<IForwarderErrorFeature>();
            var refused = context.Items.Remove(RefusedKey);
            var notReached = refused || error is { Error: ForwarderError.Request };
            if (destination is not null)
            {
                var region = RegionAwareLoadBalancingPolicy.RegionOf(destination);
                if (error is null && !refused)
                {
                    latencies.Record(region, Stopwatch.GetElapsedTime(attemptStarted));
                }
                else if (context.Items.Remove(RegionAwareLoadBalancingPolicy.MeasuringKey, out var measuring))
                {
                    latencies.Release((string)measuring!);
                }

                metrics.Attempt(deployment, region, destination, error is null && !refused ? context.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : notReached ? "not_reached" : "failed", Stopwatch.GetElapsedTime(attemptStarted));
            }

            if (error is { Error: ForwarderError.NoAvailableDestinations } && tried.Count == 0)
            {
                await FailAsync(context, $"deployment '{deployment}' has no ready replica");
                return;
            }

            if (error is { Error: ForwarderError.RequestTimedOut })
            {
                await FailAsync(context, $"replica {destination?.DestinationId} did not answer within {options.RequestTimeout.TotalSeconds:0.###} s", StatusCodes.Status504GatewayTimeout);
                return;
            }

            if (error is { Error: ForwarderError.RequestBodyClient, Exception: var bodyError } && (bodyError as BadHttpRequestException ?? bodyError?.InnerException as BadHttpRequestException) is { StatusCode: StatusCodes.Status413PayloadTooLarge })
            {
                await FailAsync(context, $"the request body is larger than the limit of {options.MaxRequestBodyBytes} bytes", StatusCodes.Status413PayloadTooLarge);
                return;
            }

            if (!notReached || context.Response.HasStarted)
            {
                if (destination is not null && int.TryParse(destination.Model?.Config.Metadata?.GetValueOrDefault(RouteTableProxyConfig.VersionKey), System.Globalization.CultureInfo.InvariantCulture, out var version))
                {
                    options.Load.Result(deployment, version, error is null && context.Response.StatusCode < 400, Stopwatch.GetElapsedTime(started), DateTimeOffset.UtcNow);
                }

                return;
            }

            lastFailure = refused ? $"replica {destination?.DestinationId} answered 503" : $"replica {destination?.DestinationId}: {error?.Exception?.Message}";
            if (destination is not null)
            {
                tried.Add(destination);
            }

            var remaining = candidates.Where(d => !tried.Contains(d)).ToList();
            if (remaining.Count == 0 || attempt >= options.MaxAttempts || Stopwatch.GetElapsedTime(started) > options.RequestTimeout)
            {
                await FailAsync(context, $"no replica of '{deployment}' could take the request after {attempt} attempt(s); last: {lastFailure}");
                return;
            }

            metrics.Retried(deployment);
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.Clear();
            context.Request.Body.Position = 0;
            proxy.AvailableDestinations = remaining;
        }
    }

    /// <summary>Waits (bounded in count and time) until the cluster has an available replica.</summary>
    private async Task<bool> HoldAsync(IReverseProxyFeature proxy, CancellationToken aborted)
    {
        if (Interlocked.Increment(ref _held) > options.MaxHeldRequests)
        {
            Interlocked.Decrement(ref _held);
            return false;
        }

        try
        {
            var deadline = Stopwatch.GetTimestamp();
            while (proxy.Route.Cluster!.DestinationsState.AvailableDestinations.Count == 0)
            {
                if (Stopwatch.GetElapsedTime(deadline) > options.ColdStartTimeout)
                {
                    return false;
                }

                // YARP applies a new configuration asynchronously; its destination state has no change event to await.
                await Task.Delay(20, aborted);
            }

            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }
    }

    private static async Task FailAsync(HttpContext context, string message, int status = StatusCodes.Status503ServiceUnavailable)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Features.Set<IForwarderErrorFeature>(null);
        context.Response.Clear();
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { error = message }));
    }
}
