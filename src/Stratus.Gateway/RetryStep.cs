using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Stratus.Core.Routing;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Stratus.Gateway;

/// <summary>
/// The proxy pipeline's attempt loop: chooses the model version a request goes to, retries attempts that never
/// reached a model on another replica, and sends a request whose canary attempt failed to the stable version, all
/// within the request deadline.
/// <para>
/// The version is the one the path names (<c>/versions/{v}/</c>), else one drawn by the traffic weights among the
/// versions with a replica available. Never reached a model: the connection was refused or reset before any answer
/// came back (replica gone, or a keep-alive connection it closed as it stopped; YARP's
/// <see cref="ForwarderError.Request"/>, which excludes timeouts), or the replica answered 503 (loading, queue full,
/// draining), which it does before running anything. Such an attempt is tried again on another replica of the same
/// version (the balancer then prefers the next region when the near one is out). A request that did reach the model
/// (a timeout, a reset mid-answer, a 4xx, a 500) is not retried, with one exception:
/// </para>
/// <para>
/// A canary attempt (a version other than the stable one, chosen by weight) that fails (any error answer, a transport
/// error, or no answer within <see cref="GatewayOptions.CanaryAttemptTimeout"/>) is counted against the canary for
/// its analysis and the request is sent to the stable version, so a bad canary costs callers nothing. Inference is
/// idempotent, which makes this safe. It is not possible when the canary's answer had already started streaming (a
/// 2xx), when the deadline is spent, or when the stable version has no replica available; the caller then gets the
/// canary's answer. The body is buffered so a retry sends the same bytes. When no replica is left, the caller gets
/// 503 with the reason, not a hang.
/// </para>
/// </summary>
public sealed class RetryStep(GatewayOptions options, RegionLatencies latencies, GatewayMetrics metrics, LoadRecorder load)
{
    /// <summary>Set by the response transform when a replica answered 503: its body was held back so this step can retry.</summary>
    public const string RefusedKey = "stratus.refused";

    /// <summary>Set on an attempt that goes to a canary: the response transform holds back an error answer's body.</summary>
    public const string CanaryAttemptKey = "stratus.canary";

    /// <summary>Set by the response transform when a canary attempt answered with an error, whose body was held back.</summary>
    public const string CanaryFailedKey = "stratus.canary-failed";

    /// <summary>The canary attempt's timer, stopped by the response transform once a good answer's headers arrive.</summary>
    public const string CanaryTimerKey = "stratus.canary-timer";

    private int _held;

    /// <summary>A deployment's route in the current table (set by the host): its weights, stable version and scale-from-zero.</summary>
    public Func<string, Route?>? Routes { get; set; }

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var proxy = context.Features.Get<IReverseProxyFeature>()!;
        var deployment = proxy.Cluster.Config.ClusterId;
        var route = Routes?.Invoke(deployment);
        context.Request.EnableBuffering();
        if (proxy.AvailableDestinations.Count == 0 && route is { ScalesFromZero: true })
        {
            // Scaled to zero: hold the request (counted as load, so the autoscaler starts a replica) until one is ready.
            if (!await HoldAsync(proxy, context.RequestAborted))
            {
                await FailAsync(context, $"deployment '{deployment}' is scaled to zero and no replica became ready within {options.ColdStartTimeout.TotalSeconds:0} s (or too many requests are waiting)");
                return;
            }

            proxy.AvailableDestinations = proxy.Route.Cluster!.DestinationsState.AvailableDestinations;
        }

        var all = Current(route, proxy.AvailableDestinations);
        var (version, named) = ChooseVersion(context, route, all);
        var candidates = version is null ? all : [.. all.Where(d => VersionOf(d) == version)];
        var stable = route?.ModelVersion.ToString(CultureInfo.InvariantCulture);
        var canary = version is not null && !named && version != stable && all.Any(d => VersionOf(d) == stable);
        proxy.AvailableDestinations = candidates;

        var tried = new List<DestinationState>();
        var started = Stopwatch.GetTimestamp();

        // When the version answering started on the request: its latency for canary analysis leaves out a failed canary attempt.
        var versionStarted = started;
        string? lastFailure = null;
        for (var attempt = 1; ; attempt++)
        {
            var attemptStarted = Stopwatch.GetTimestamp();
            var canaryTimedOut = canary ? await CanaryAttemptAsync(context, next) : await PlainAttemptAsync(next);
            var destination = proxy.ProxiedDestination;
            var error = context.Features.Get<IForwarderErrorFeature>();
            var refused = context.Items.Remove(RefusedKey);
            var canaryFailed = context.Items.Remove(CanaryFailedKey) || canaryTimedOut;
            var notReached = refused || error is { Error: ForwarderError.Request };
            if (destination is not null)
            {
                var region = RegionAwareLoadBalancingPolicy.RegionOf(destination);
                var answered = error is null && !refused && !canaryFailed;
                if (answered)
                {
                    latencies.Record(region, Stopwatch.GetElapsedTime(attemptStarted));
                }
                else if (context.Items.Remove(RegionAwareLoadBalancingPolicy.MeasuringKey, out var measuring))
                {
                    latencies.Release((string)measuring!);
                }

                metrics.Attempt(deployment, region, destination, answered ? context.Response.StatusCode.ToString(CultureInfo.InvariantCulture) : notReached ? "not_reached" : canaryTimedOut ? "timeout" : "failed", Stopwatch.GetElapsedTime(attemptStarted));
            }

            if (error is { Error: ForwarderError.NoAvailableDestinations } && tried.Count == 0)
            {
                await FailAsync(context, $"deployment '{deployment}' has no ready replica{(version is null ? string.Empty : $" of version {version}")}");
                return;
            }

            if (canary && destination is not null && (canaryFailed || error is not null || refused) && !context.Response.HasStarted)
            {
                // The canary failed this request: it counts against the canary, and the stable version answers it.
                Record(deployment, destination, success: false, Stopwatch.GetElapsedTime(attemptStarted));
                canary = false;
                candidates = [.. all.Where(d => VersionOf(d) == stable)];
                // YARP's own timeout is the whole deadline: a canary attempt that met it left nothing for a retry.
                var deadlineSpent = error is { Error: ForwarderError.RequestTimedOut } || Stopwatch.GetElapsedTime(started) >= options.RequestTimeout;
                if (candidates.Count > 0 && !deadlineSpent)
                {
                    metrics.CanaryFallback(deployment, version!);
                    Reset(context, proxy, candidates);
                    versionStarted = Stopwatch.GetTimestamp();
                    continue;
                }

                // The canary's error body was held back for the retry that cannot happen: say what happened instead.
                var what = canaryTimedOut || error is { Error: ForwarderError.RequestTimedOut } ? "no answer in time" : refused ? "it answered 503" : error is not null ? $"{error.Error}" : $"it answered {context.Response.StatusCode}";
                var status = error is { Error: ForwarderError.RequestTimedOut } ? StatusCodes.Status504GatewayTimeout : error is null && !canaryTimedOut ? context.Response.StatusCode : StatusCodes.Status502BadGateway;
                await FailAsync(context, $"version {version} of '{deployment}' failed the request ({what}) and no replica of the stable version could take it in time", status);
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
                if (destination is not null)
                {
                    Record(deployment, destination, error is null && context.Response.StatusCode < 400, Stopwatch.GetElapsedTime(versionStarted));
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
            Reset(context, proxy, remaining);
        }
    }

    /// <summary>
    /// The destinations the current route table still names. YARP applies a new table a moment after the gateway
    /// has it, so for that moment a replica just taken out (a canary rolled back, a replica draining) is still among
    /// its destinations; it gets no new request. When none is named yet (the other way round), YARP's stand.
    /// </summary>
    private static IReadOnlyList<DestinationState> Current(Route? route, IReadOnlyList<DestinationState> available)
    {
        if (route is null)
        {
            return available;
        }

        // The route's replica ids, made once per table (each table brings new Route objects).
        var names = RouteNames.GetValue(route, r => r.Endpoints.Select(e => e.ReplicaId).ToHashSet(StringComparer.Ordinal));
        if (available.All(d => names.Contains(d.DestinationId)))
        {
            return available;
        }

        var named = available.Where(d => names.Contains(d.DestinationId)).ToList();
        return named.Count > 0 ? named : available;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Route, HashSet<string>> RouteNames = new();

    private static async Task<bool> PlainAttemptAsync(Func<Task> next)
    {
        await next();
        return false;
    }

    /// <summary>
    /// One attempt at a canary with its own, shorter deadline (so the stable version still has time), and its error
    /// answers held back; true when it timed out. The deadline applies until the answer's headers arrive.
    /// </summary>
    private async Task<bool> CanaryAttemptAsync(HttpContext context, Func<Task> next)
    {
        var lifetime = context.Features.Get<IHttpRequestLifetimeFeature>()!;
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(lifetime.RequestAborted);
        timer.CancelAfter(options.CanaryAttemptTimeout ?? (options.RequestTimeout / 2));
        context.Items[CanaryAttemptKey] = true;
        context.Items[CanaryTimerKey] = timer;
        context.Features.Set<IHttpRequestLifetimeFeature>(new AttemptLifetime(lifetime, timer.Token));
        try
        {
            await next();
        }
        finally
        {
            context.Features.Set(lifetime);
            context.Items.Remove(CanaryAttemptKey);
            context.Items.Remove(CanaryTimerKey);
        }

        return timer.IsCancellationRequested && !lifetime.RequestAborted.IsCancellationRequested;
    }

    /// <summary>Clears a failed attempt's traces so the next one starts clean.</summary>
    private static void Reset(HttpContext context, IReverseProxyFeature proxy, IReadOnlyList<DestinationState> destinations)
    {
        context.Features.Set<IForwarderErrorFeature>(null);
        context.Response.Clear();
        context.Request.Body.Position = 0;
        proxy.AvailableDestinations = destinations;
    }

    /// <summary>The version a request goes to and whether its path named it; null when the deployment has no split.</summary>
    private static (string? Version, bool Named) ChooseVersion(HttpContext context, Route? route, IReadOnlyList<DestinationState> available)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        var marker = path.IndexOf("/versions/", StringComparison.Ordinal);
        if (marker >= 0)
        {
            return (path[(marker + "/versions/".Length)..].Split('/')[0], true);
        }

        if (route is null || route.Weights.Count == 0)
        {
            return (null, false);
        }

        var offered = route.Weights
            .Where(w => w.Weight > 0 && available.Any(d => VersionOf(d) == w.Version.ToString(CultureInfo.InvariantCulture)))
            .ToList();
        if (offered.Count == 0)
        {
            return (null, false);
        }

        var draw = Random.Shared.Next(offered.Sum(w => w.Weight));
        foreach (var weight in offered)
        {
            if (draw < weight.Weight)
            {
                return (weight.Version.ToString(CultureInfo.InvariantCulture), false);
            }

            draw -= weight.Weight;
        }

        return (null, false);
    }

    internal static string VersionOf(DestinationState destination) =>
        destination.Model?.Config.Metadata?.GetValueOrDefault(RouteTableProxyConfig.VersionKey) ?? string.Empty;

    /// <summary>An attempt's outcome for canary analysis: the version and cloud of the replica that answered.</summary>
    private void Record(string deployment, DestinationState destination, bool success, TimeSpan elapsed)
    {
        if (int.TryParse(VersionOf(destination), CultureInfo.InvariantCulture, out var version))
        {
            var cloud = destination.Model?.Config.Metadata?.GetValueOrDefault(RouteTableProxyConfig.CloudKey) ?? string.Empty;
            load.Result(deployment, version, success, elapsed, cloud);
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

    /// <summary>The request's lifetime as one attempt sees it: aborted when the caller goes away or the attempt's own deadline passes.</summary>
    private sealed class AttemptLifetime(IHttpRequestLifetimeFeature inner, CancellationToken aborted) : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted
        {
            get => aborted;
            set { }
        }

        public void Abort() => inner.Abort();
    }
}
