using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Stratus.Core.Routing;
using Yarp.ReverseProxy.Model;

namespace Stratus.Gateway;

/// <summary>
/// The gateway's door, before any replica is chosen: a private deployment needs one of its keys
/// (<c>Authorization: Bearer sk_...</c>, checked against the hashes the route table carries, so it works while the
/// control plane is away); a body over the limit is refused before it is read; each caller (a key, or for a public
/// deployment an address) gets a token bucket of requests per second. Every refusal is a v2 <c>{"error"}</c>.
/// </summary>
public sealed class AccessStep : IDisposable
{
    private readonly GatewayOptions _options;
    private readonly LoadRecorder _load;
    private readonly Func<string, Route?> _routes;
    private readonly PartitionedRateLimiter<string> _limiter;

    public AccessStep(GatewayOptions options, LoadRecorder load, Func<string, Route?> routes)
    {
        _options = options;
        _load = load;
        _routes = routes;
        _limiter = PartitionedRateLimiter.Create<string, string>(caller => options.RateLimitPerSecond <= 0 ? RateLimitPartition.GetNoLimiter(caller) : RateLimitPartition.GetTokenBucketLimiter(caller, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, options.RateLimitBurst > 0 ? options.RateLimitBurst : 2 * options.RateLimitPerSecond),
            TokensPerPeriod = Math.Max(1, options.RateLimitPerSecond),
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var deployment = context.Features.Get<IReverseProxyFeature>()!.Cluster.Config.ClusterId;
        var route = _routes(deployment);
        string caller;
        if (route is { Public: true })
        {
            caller = $"address:{context.Connection.RemoteIpAddress}";
        }
        else
        {
            var header = context.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
            {
                await RefuseAsync(context, StatusCodes.Status401Unauthorized, $"deployment '{deployment}' is private: send one of its keys as 'Authorization: Bearer sk_...'");
                return;
            }

            var hash = InferenceKeys.Hash(header["Bearer ".Length..].Trim());
            if (route is null || !route.KeyHashes.Contains(hash))
            {
                await RefuseAsync(context, StatusCodes.Status401Unauthorized, $"the key is not a live key of deployment '{deployment}'");
                return;
            }

            caller = $"key:{hash}";
        }

        if (context.Request.ContentLength > _options.MaxRequestBodyBytes)
        {
            await RefuseAsync(context, StatusCodes.Status413PayloadTooLarge, $"the request body is {context.Request.ContentLength} bytes; the limit is {_options.MaxRequestBodyBytes}");
            return;
        }

        using var lease = _limiter.AttemptAcquire(caller);
        if (!lease.IsAcquired)
        {
            context.Response.Headers.RetryAfter = "1";
            await RefuseAsync(context, StatusCodes.Status429TooManyRequests, $"rate limit: at most {_options.RateLimitPerSecond} requests per second per caller");
            return;
        }

        _load.Started(deployment);
        try
        {
            await next();
        }
        finally
        {
            _load.Finished(deployment);
        }
    }

    internal static Task RefuseAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { error = message }));
    }

    public void Dispose() => _limiter.Dispose();
}
