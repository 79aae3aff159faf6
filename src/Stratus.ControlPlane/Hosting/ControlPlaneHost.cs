using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Api;
using Stratus.ControlPlane.Clouds;
using Stratus.ControlPlane.Deployments.Autoscaling;
using Stratus.ControlPlane.Deployments.Consistency;
using Stratus.ControlPlane.Deployments.Reconciliation;
using Stratus.ControlPlane.Leadership;
using Stratus.ControlPlane.Deployments.Rollouts;
using Stratus.ControlPlane.Load;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Routing;
using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.Core.Clouds;
using Stratus.Core.Routing;
using Stratus.Core.Tls;

namespace Stratus.ControlPlane.Hosting;

/// <summary>What <c>stratus server</c> runs on and where it keeps its state.</summary>
public sealed class ControlPlaneOptions
{
    public required string DataDirectory { get; set; }

    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 7700;

    /// <summary>A <c>clouds.yaml</c>; null uses the three default local clouds.</summary>
    public string? CloudsFile { get; set; }

    public TimeSpan ReconcilePeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a replica that is no longer wanted stays out of the route table, finishing its requests, before it stops.</summary>
    public TimeSpan DrainPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How to start this program: replicas of local clouds and model validation run it as child processes.</summary>
    public ReplicaExecutable Replica { get; set; } = ReplicaExecutable.Current();

    /// <summary>The memory and time a pushed model's validation (in a child process) may take before the push is refused.</summary>
    public ModelValidationOptions ModelValidation { get; set; } = new();

    /// <summary>
    /// The name of this Stratus installation, written on every container and pod it makes: a control plane adopts
    /// and stops only its own installation's replicas, so two installations may share a Docker engine or a cluster.
    /// </summary>
    public string ClusterId { get; set; } = "stratus";

    /// <summary>Null or empty: SQLite, <c>stratus.db</c> in the data directory. Otherwise a PostgreSQL connection string (servers sharing it share all state).</summary>
    public string? Store { get; set; }

    /// <summary>A folder for model bytes (several servers may share one). Null: <c>models</c> in the data directory with SQLite, the database itself with PostgreSQL.</summary>
    public string? Blobs { get; set; }

    /// <summary>The lease the servers of one store compete for, to run the reconciler, autoscaler and rollout controller.</summary>
    public LeadershipOptions Leadership { get; set; } = new();

    /// <summary>The API's HTTPS certificate; null serves plain HTTP (only with <c>--insecure</c> on the command line).</summary>
    public ServerTls? Tls { get; set; }

    /// <summary>
    /// Mutual TLS with replicas: the CA that issues each replica its certificate (named by its id) and the client
    /// certificate the control plane's probes present. Not acted on yet: replicas are launched on plain HTTP either way.
    /// </summary>
    public ReplicaTls? ReplicaTls { get; set; }
}

/// <summary>
/// The control plane in one object: its stores (SQLite under the data directory, or PostgreSQL), the registry, the clouds and their
/// providers, the reconciler loop and the REST API. On first start it creates an admin token and writes it, readable
/// by the owner only, to <c>admin.token</c> in the data directory.
/// </summary>
public sealed partial class ControlPlaneHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ReconcilerLoop _loop;
    private readonly CancellationTokenSource _stopping = new();
    private readonly IReadOnlyList<ICloudProvider> _providers;

    /// <summary>Competing for the lease and, while this server holds it, the leader's loops.</summary>
    private readonly Task _leading;

    /// <summary>Serving the stored route table, leader or not.</summary>
    private readonly Task _following;

    private readonly IAsyncDisposable? _database;

    private ControlPlaneHost(WebApplication app, ReconcilerLoop loop, IReadOnlyList<ICloudProvider> providers, string adminTokenPath, RouteTablePublisher routes, IReadOnlyList<CloudSpec> clouds, AutoscalerLoop autoscaler, RolloutController rollouts, IRequestSampleSink samples, GatewayLoads loads, ControlPlaneStores stores, LeaderElection election, RouteStoreFollower follower, IChangeSignal signal)
    {
        _database = stores.Database;
        Leases = stores.Leases;
        RouteStore = stores.Routes;
        Loads = loads;
        Samples = samples;
        _app = app;
        _loop = loop;
        _providers = providers;
        AdminTokenPath = adminTokenPath;
        Routes = routes;
        Clouds = clouds;
        Election = election;
        _following = Task.WhenAll(
            Task.Run(() => follower.RunAsync(_stopping.Token)),
            Task.Run(() => signal.ListenAsync(loop.Trigger, _stopping.Token)));
        _leading = Task.Run(() => election.RunAsync(
            (_, leading) => Task.WhenAll(
                Task.Run(() => loop.RunAsync(leading), CancellationToken.None),
                Task.Run(() => autoscaler.RunAsync(TimeSpan.FromSeconds(1), leading), CancellationToken.None),
                Task.Run(() => rollouts.RunAsync(TimeSpan.FromSeconds(1), leading), CancellationToken.None)),
            _stopping.Token));
    }

    /// <summary>This server's part in choosing the leader: whether it leads now, under which lease.</summary>
    public LeaderElection Election { get; }

    public Uri Address => new(_app.Urls.First());

    public string AdminTokenPath { get; }

    /// <summary>The route table, for a gateway in the same process.</summary>
    public IRouteSource Routes { get; }

    public IReadOnlyList<CloudSpec> Clouds { get; }

    /// <summary>Where a gateway in the same process hands the live requests it records as samples.</summary>
    public IRequestSampleSink Samples { get; }

    /// <summary>Every gateway's load, merged: where a gateway in the same process reports (its in-process sink), and what the autoscaler and the rollout controller read.</summary>
    public GatewayLoads Loads { get; }

    /// <summary>The leases of the store this host opened (what leader election takes).</summary>
    public ILeaseStore Leases { get; }

    /// <summary>The published route table of the store this host opened, shared by every server on the same store.</summary>
    public IRouteStore RouteStore { get; }

    public static async Task<ControlPlaneHost> StartAsync(ControlPlaneOptions options, Action<ILoggingBuilder>? configureLogging = null, CancellationToken cancellationToken = default)
    {
        OwnerOnly.CreateDataDirectory(options.DataDirectory);
        var time = TimeProvider.System;
        var stores = await ControlPlaneStores.OpenAsync(options, time, cancellationToken);
        try
        {
            return await StartOnAsync(options, stores, time, configureLogging, cancellationToken);
        }
        catch
        {
            // A PostgreSQL store's pool would otherwise outlive the failed start (a port in use, a bad clouds file).
            if (stores.Database is not null)
            {
                await stores.Database.DisposeAsync();
            }

            throw;
        }
    }

    private static async Task<ControlPlaneHost> StartOnAsync(ControlPlaneOptions options, ControlPlaneStores stores, TimeProvider time, Action<ILoggingBuilder>? configureLogging, CancellationToken cancellationToken)
    {
        var clouds = CloudsConfig.Parse(options.CloudsFile is null ? CloudsConfig.DefaultYaml() : await File.ReadAllTextAsync(options.CloudsFile, cancellationToken));
        var providers = clouds.Select(c => CloudProviders.Create(c, options)).ToList();
        var tokens = stores.Tokens;
        var adminTokenPath = Path.Combine(options.DataDirectory, "admin.token");
        if (await tokens.CreateFirstAdminAsync("created by the first start", cancellationToken) is { } admin)
        {
            // Created owner-only from the first byte, never readable by others even for a moment.
            var file = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            await using var writer = new StreamWriter(new FileStream(adminTokenPath, file));
            await writer.WriteLineAsync(admin.Secret);
        }

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
        if (options.Tls is { } tls)
        {
            // The slim builder leaves out Kestrel's HTTPS configuration until asked.
            builder.WebHost.UseKestrelHttpsConfiguration();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
            {
                https.ServerCertificateSelector = (_, _) => tls.Certificate.Current;
                https.SslProtocols = ServerTls.Protocols;
            }));
        }

        builder.Services.AddProblemDetails();
        ControlPlaneApi.AddServices(builder.Services, tokens);
        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Stratus.ControlPlane");
        using (var self = Process.GetCurrentProcess())
        {
            StaleStagingFiles.Remove([options.DataDirectory, options.Blobs], self.StartTime.ToUniversalTime(), logger);
        }

        var deployments = stores.Deployments;
        var validator = new ChildProcessModelValidator(options.Replica, options.ModelValidation);
        app.Lifetime.ApplicationStopped.Register(validator.Dispose);
        var registry = new ModelRegistry(stores.Versions, stores.Blobs, validator);
        var routes = new RouteTablePublisher(time);
        var leases = stores.Leases;
        var routeStore = stores.Routes;
        var election = new LeaderElection(leases, $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}", options.Leadership, time, logger);
        var byCloud = providers.ToDictionary(p => p.CloudName, p => (ICloudProvider)p);
        var blocks = new BlockList(time);
        var consistency = new ConsistencyChecker(stores.ProbeReferences);
        app.Lifetime.ApplicationStopped.Register(consistency.Dispose);
        var audit = stores.Audit;
        var reconciler = new Reconciler(deployments, registry, byCloud, clouds, logger, time, options.DrainPeriod, blocks, consistency: consistency, audit: audit, leases: leases);
        var loop = new ReconcilerLoop(reconciler, deployments, routes, options.ReconcilePeriod, logger, clouds.ToDictionary(c => c.Name, c => c.Region), routeStore, time);
        var loads = new GatewayLoads(time);
        var autoscaler = new AutoscalerLoop(deployments, audit, loads, clouds, loop.Trigger, time, logger);
        var rollouts = new RolloutController(deployments, audit, loads, loop.Trigger, time, logger, registry, consistency);
        // A change through this server wakes the leader, whichever server leads: by the store's signal, which this
        // server hears too, and at once here as well, should the signal be lost (that costs only the leader's period).
        IChangeSignal signal = stores.Database is PostgresDatabase shared ? new PostgresChangeSignal(shared, logger) : new InProcessChangeSignal();
        void Changed()
        {
            loop.Trigger();
            _ = signal.SignalAsync(CancellationToken.None).ContinueWith(t => LogSignalFailed(logger, t.Exception!.InnerException!.Message), TaskContinuationOptions.OnlyOnFaulted);
        }

        var samples = new RecordedSamples(deployments, registry, audit);
        var services = new ControlPlaneServices(tokens, audit, registry, deployments, routes, Changed, clouds, byCloud, reconciler.Statuses, blocks, ct => election.Leading is null ? Task.CompletedTask : loop.PublishAsync(ct), autoscaler.Decisions, rollouts, loads, samples);
        ControlPlaneApi.Map(app, services).MapLeader(election, leases, options.Leadership);
        await app.StartAsync(cancellationToken);
        return new ControlPlaneHost(app, loop, providers, adminTokenPath, routes, clouds, autoscaler, rollouts, samples, loads, stores, election, new RouteStoreFollower(routeStore, routes, time, logger), signal);
    }

    /// <summary>
    /// Stops the reconciler loop and then every replica, gracefully (what <c>stratus up</c> does on Ctrl+C). The
    /// deployments stay in the store, so the next start launches them again.
    /// </summary>
    public async Task StopReplicasAsync(CancellationToken cancellationToken = default)
    {
        await _stopping.CancelAsync();
        await _leading;
        await _following;
        await Task.WhenAll(_providers.Select(provider => provider.StopAllAsync(cancellationToken)));
    }

    /// <summary>Stops the API and the loop. Replicas keep running, so a restarted control plane adopts them.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _leading;
        await _following;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _loop.Dispose();
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        _stopping.Dispose();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Signalling a change to the other servers failed; the leader finds it at its next pass: {Reason}")]
    private static partial void LogSignalFailed(ILogger logger, string reason);
}
