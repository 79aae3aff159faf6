using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stratus.Core.Routing;
using Stratus.Core.Scaling;
using Stratus.Core.Tls;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Transforms;

namespace Stratus.Gateway;

/// <summary>Where the gateway listens and how it treats replicas.</summary>
public sealed class GatewayOptions
{
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 8080;

    /// <summary>The gateway's own region: preferred until latencies are measured.</summary>
    public string? Region { get; set; }

    /// <summary>Outstanding requests at which a replica counts as saturated (the balancer spills to the next region).</summary>
    public int SaturationConcurrency { get; set; } = 8;

    /// <summary>Attempts per request at most (the first and its retries).</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>A request's deadline, retries included; also YARP's activity timeout per attempt.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a replica stays out of traffic after a failed request (passive health).</summary>
    public TimeSpan EjectionPeriod { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest request body forwarded (413 beyond).</summary>
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Requests per second each caller (a key; an address for public deployments) may send; 0 for no limit.</summary>
    public int RateLimitPerSecond { get; set; }

    /// <summary>How many requests a caller may send at once above the rate (default: twice the rate).</summary>
    public int RateLimitBurst { get; set; }

    /// <summary>How long a request to a deployment scaled to zero is held while a replica starts (503 beyond).</summary>
    public TimeSpan ColdStartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Requests held at once across deployments scaling from zero (503 beyond).</summary>
    public int MaxHeldRequests { get; set; } = 1000;

    /// <summary>This gateway's id in its load reports; unique per process, so a restarted gateway's reports count from sequence 1 again.</summary>
    public string Id { get; set; } = $"gateway-{Guid.NewGuid():N}"[..20];

    /// <summary>Where load reports go: each control-plane server the gateway follows, or the control plane in this process.</summary>
    public IReadOnlyList<ILoadReportSink> LoadSinks { get; set; } = [];

    /// <summary>How often the gateway reports its load (idle or not: a silent gateway's requests in flight stop counting).</summary>
    public TimeSpan LoadReportInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a canary attempt may take before the request goes to the stable version; default half of <see cref="RequestTimeout"/>.</summary>
    public TimeSpan? CanaryAttemptTimeout { get; set; }

    /// <summary>Largest request or answer mirrored to a shadow version (larger ones are skipped, counted).</summary>
    public long MaxShadowBodyBytes { get; set; } = 4L * 1024 * 1024;

    /// <summary>Mirrored requests in flight at once across deployments (more are skipped, counted).</summary>
    public int MaxShadowsInFlight { get; set; } = 64;

    /// <summary>The bearer token <c>/metrics</c> asks for (<see cref="MetricsAccess"/>); null serves it to loopback callers only.</summary>
    public string? MetricsToken { get; set; }

    /// <summary>Where live requests recorded as samples go (deployments that opted in); null records none.</summary>
    public Stratus.Core.Routing.IRequestSampleSink? SampleSink { get; set; }

    /// <summary>The inference endpoint's HTTPS certificate; null serves plain HTTP.</summary>
    public ServerTls? Tls { get; set; }

    /// <summary>How the gateway is to call replicas over mutual TLS (the platform roots and its client certificate). Not acted on yet: replicas are called as their route's address says.</summary>
    public ClientTls? ReplicaClient { get; set; }
}

/// <summary>
/// The inference endpoint in front of every deployment, built on YARP's proxy pipeline: the route table becomes YARP
/// routes and clusters (<see cref="RouteTableProxyConfig"/>); Stratus's policies pick the replica
/// (<see cref="RegionAwareLoadBalancingPolicy"/>), eject failing ones (<see cref="FirstFailureHealthPolicy"/>, with
/// YARP's active probes bringing them back) and retry attempts that never reached a model (<see cref="RetryStep"/>).
/// Keys, the body limit and per-caller rate limits are checked first (<see cref="AccessStep"/>). Unknown deployments
/// get 404, deployments without a ready replica 503, a replica that does not answer in time 504, each with a v2
/// <c>{"error"}</c>.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _following;
    private readonly Task _reporting;

    private readonly AccessStep _access;

    private readonly ShadowStep _shadow;

    private GatewayHost(WebApplication app, RouteTableFollower follower, RegionLatencies latencies, AccessStep access, ShadowStep shadow, LoadRecorder load, LoadReporter reporter)
    {
        _app = app;
        Load = load;
        Reporter = reporter;
        _access = access;
        _shadow = shadow;
        Routes = follower;
        Latencies = latencies;
        _following = Task.Run(() => follower.RunAsync(_stopping.Token));
        _reporting = Task.Run(() => reporter.RunAsync(_stopping.Token));
    }

    public Uri Address => new(_app.Urls.First());

    public RouteTableFollower Routes { get; }

    public RegionLatencies Latencies { get; }

    /// <summary>What the gateway counts for its load reports.</summary>
    public LoadRecorder Load { get; }

    /// <summary>Sends the load reports; <see cref="LoadReporter.FlushAsync"/> reports at once.</summary>
    public LoadReporter Reporter { get; }

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

        builder.WebHost.UseUrls($"{(options.Tls is null ? "http" : "https")}://{options.Host}:{options.Port}");
        if (options.Tls is not null)
        {
            // The slim builder leaves out Kestrel's HTTPS configuration until asked.
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            if (options.Tls is { } tls)
            {
                kestrel.ConfigureHttpsDefaults(https =>
                {
                    https.ServerCertificateSelector = (_, _) => tls.Certificate.Current;
                    https.SslProtocols = ServerTls.Protocols;
                });
            }
        });
        var config = new RouteTableProxyConfig(options);
        var latencies = new RegionLatencies(options.Region);
        var metrics = new GatewayMetrics();
        var load = new LoadRecorder();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(load);
        builder.Services.AddSingleton(latencies);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton<RetryStep>();
        builder.Services.AddSingleton<IProxyConfigProvider>(config);
        builder.Services.AddSingleton<ILoadBalancingPolicy, RegionAwareLoadBalancingPolicy>();
        builder.Services.AddSingleton<IPassiveHealthCheckPolicy, FirstFailureHealthPolicy>();
        builder.Services.AddReverseProxy().AddTransforms(transforms => transforms.AddRequestHeaderRemove("Authorization").AddResponseTransform(context =>
        {
            var items = context.HttpContext.Items;
            if (context.ProxyResponse is not { } response)
            {
                return ValueTask.CompletedTask;
            }

            if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable)
            {
                // A replica's 503 means it ran nothing: hold the answer back so the retry step can try another replica.
                context.SuppressResponseBody = true;
                items[RetryStep.RefusedKey] = true;
            }
            else if (items.ContainsKey(RetryStep.CanaryAttemptKey) && (int)response.StatusCode >= 400)
            {
                // A canary's error answer is held back: the retry step sends the request to the stable version.
                context.SuppressResponseBody = true;
                items[RetryStep.CanaryFailedKey] = true;
            }
            else if (items.TryGetValue(RetryStep.CanaryTimerKey, out var timer))
            {
                // The canary answered in time: its answer streams to the caller, whatever it takes now.
                ((CancellationTokenSource)timer!).CancelAfter(Timeout.Infinite);
            }

            return ValueTask.CompletedTask;
        }));

        // YARP adds data protection for session-affinity cookies, which Stratus does not use; its start-up service would
        // make a key ring and persist it, unencrypted and with a warning, in the user's home folder at every start.
        foreach (var keyRing in builder.Services.Where(d => d.ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService").ToList())
        {
            builder.Services.Remove(keyRing);
        }

        var app = builder.Build();
        var follower = new RouteTableFollower(source, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Stratus.Gateway"));
        follower.Changed += config.Update;

        app.MapGet("/v2/health/live", () => Results.Json(new { live = true }));
        app.MapGet("/v2/health/ready", () => follower.HasTable ? Results.Json(new { ready = true }) : Results.Json(new { ready = false }, statusCode: StatusCodes.Status503ServiceUnavailable));
        var metricsAccess = new MetricsAccess(options.MetricsToken);
        app.MapGet("/metrics", async context =>
        {
            if (metricsAccess.Refusal(context) is { } refusal)
            {
                await refusal.ExecuteAsync(context);
                return;
            }

            context.Response.ContentType = "text/plain; version=0.0.4";
            await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });

        // Deployments the table does not name (YARP's literal routes win over this pattern for those it does).
        app.Map("/v2/models/{deployment}/{**rest}", (HttpContext context, string deployment) =>
            Results.Json(new { error = $"no deployment named '{deployment}'" }, statusCode: StatusCodes.Status404NotFound));

        var retry = app.Services.GetRequiredService<RetryStep>();
        var access = new AccessStep(options, load, follower.Find);
        var shadow = new ShadowStep(options, metrics, load) { Routes = follower.Find };
        var recording = new SampleRecordingStep(options, metrics) { Routes = follower.Find };
        retry.Routes = follower.Find;
        app.MapReverseProxy(pipeline =>
        {
            pipeline.Use((context, next) => access.InvokeAsync(context, () => next(context)));
            pipeline.Use((context, next) => recording.InvokeAsync(context, () => next(context)));
            pipeline.Use((context, next) => shadow.InvokeAsync(context, () => next(context)));
            pipeline.Use((context, next) => retry.InvokeAsync(context, () => next(context)));
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });

        var reporter = new LoadReporter(load, options, TimeProvider.System, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Stratus.Gateway.Load"));
        await app.StartAsync(cancellationToken);
        return new GatewayHost(app, follower, latencies, access, shadow, load, reporter);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _following;
        await _reporting;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _access.Dispose();
        _shadow.Dispose();
        _stopping.Dispose();
    }
}
