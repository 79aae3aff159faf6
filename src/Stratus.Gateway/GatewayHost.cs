using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stratus.Core.Routing;
using Yarp.ReverseProxy.Forwarder;

namespace Stratus.Gateway;

/// <summary>Where the gateway listens.</summary>
public sealed class GatewayOptions
{
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 8080;
}

/// <summary>
/// The inference endpoint in front of every deployment: <c>/v2/models/{deployment}/...</c> goes to one of the
/// deployment's ready replicas, taken in turn, through YARP's forwarder (the request and answer stream through
/// unchanged). It follows the route table from an <see cref="IRouteSource"/>. This is the minimal route that
/// <c>stratus up</c> needs; region-aware balancing, health, retries, splits and keys are the gateway's own work.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _following;
    private readonly HttpMessageInvoker _invoker;

    private GatewayHost(WebApplication app, RouteTableFollower follower, HttpMessageInvoker invoker)
    {
        _app = app;
        _invoker = invoker;
        Routes = follower;
        _following = Task.Run(() => follower.RunAsync(_stopping.Token));
    }

    public Uri Address => new(_app.Urls.First());

    public RouteTableFollower Routes { get; }

    public static async Task<GatewayHost> StartAsync(GatewayOptions options, IRouteSource source, Action<ILoggingBuilder>? configureLogging = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        }
        else
        {
            configureLogging(builder.Logging);
        }

        builder.WebHost.UseUrls($"http://{options.Host}:{options.Port}");
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        var follower = new RouteTableFollower(source, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Stratus.Gateway"));
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();

        // One connection pool for every replica, configured as YARP recommends for a forwarder.
        var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            EnableMultipleHttp2Connections = true,
        });

        var next = 0;
        app.MapGet("/v2/health/live", () => Results.Json(new { live = true }));
        app.MapGet("/v2/health/ready", () => follower.HasTable ? Results.Json(new { ready = true }) : Results.Json(new { ready = false }, statusCode: StatusCodes.Status503ServiceUnavailable));
        app.Map("/v2/models/{deployment}/{**rest}", async (HttpContext context, string deployment) =>
        {
            var route = follower.Current.Routes.FirstOrDefault(r => r.Deployment == deployment);
            if (route is null)
            {
                await Error(context, StatusCodes.Status404NotFound, $"no deployment named '{deployment}'");
                return;
            }

            if (route.Endpoints.Count == 0)
            {
                await Error(context, StatusCodes.Status503ServiceUnavailable, $"deployment '{deployment}' has no ready replica");
                return;
            }

            var endpoint = route.Endpoints[(int)((uint)Interlocked.Increment(ref next) % (uint)route.Endpoints.Count)];
            var error = await forwarder.SendAsync(context, endpoint.Address.ToString(), invoker, ForwarderRequestConfig.Empty, HttpTransformer.Default);
            if (error != ForwarderError.None && !context.Response.HasStarted)
            {
                await Error(context, StatusCodes.Status502BadGateway, $"replica {endpoint.ReplicaId} in {endpoint.Cloud} failed: {error}");
            }
        });

        await app.StartAsync(cancellationToken);
        return new GatewayHost(app, follower, invoker);
    }

    private static Task Error(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = message });
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _following;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _invoker.Dispose();
        _stopping.Dispose();
    }
}
