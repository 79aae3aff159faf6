using Microsoft.Extensions.Logging.Abstractions;
using Stratus.ControlPlane.Deployments.Consistency;
using Stratus.ControlPlane.Deployments.Reconciliation;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.ControlPlane.Tests.Support;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Tests.Deployments;

/// <summary>
/// The reconciler over a real store, a real registry and two in-memory clouds whose replicas are real replica servers
/// (Kestrel and ONNX Runtime on loopback) in this process: what it needs of a provider is its behaviour, not a process.
/// </summary>
public sealed class ReconcilerTests : IAsyncLifetime
{
    private readonly Dictionary<string, InMemoryCloud> _cloudStates = new(StringComparer.Ordinal);
    private readonly List<LocalCloudProvider> _local = [];
    private TempDatabase _temp = null!;
    private SqliteDeploymentStore _store = null!;
    private ModelRegistry _registry = null!;
    private CloudSpec[] _clouds = null!;
    private Dictionary<string, InMemoryCloudProvider> _providers = null!;

    public async Task InitializeAsync()
    {
        _temp = await TempDatabase.CreateAsync();
        _store = new SqliteDeploymentStore(_temp.Database, TimeProvider.System);
        _registry = new ModelRegistry(_temp.Database, new DirectoryBlobStore(Path.Combine(_temp.Folder, "models")), TimeProvider.System);
        await using (var model = File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")))
        {
            await _registry.PushAsync("credit-risk", model, "admin");
        }

        _clouds = [Cloud("cheap", 0.05m, capacity: 2), Cloud("dear", 0.20m, capacity: 4)];
        _providers = Providers();
    }

    public async Task DisposeAsync()
    {
        foreach (var cloud in _cloudStates.Values)
        {
            await cloud.DisposeAsync();
        }

        foreach (var provider in _local)
        {
            await provider.StopAllAsync();
            await provider.DisposeAsync();
        }

        await _temp.DisposeAsync();
    }

    private static CloudSpec Cloud(string name, decimal price, int capacity) => new(
        name, "local", name + "-1", "us", new GeoLocation(0, 0),
        new Dictionary<string, int> { ["cpu-small"] = capacity },
        new Dictionary<string, ShapePrice> { ["cpu-small"] = new(price, price / 3) },
        TimeSpan.Zero);

    /// <summary>The state of the cloud of that name: the same for every provider made over it, as a real cloud's is.</summary>
    private InMemoryCloud State(string cloud)
    {
        if (!_cloudStates.TryGetValue(cloud, out var state))
        {
            _cloudStates[cloud] = state = new InMemoryCloud();
        }

        return state;
    }

    /// <summary>New providers over the clouds (what a restarted control plane makes).</summary>
    private Dictionary<string, InMemoryCloudProvider> Providers() =>
        _clouds.ToDictionary(c => c.Name, c => new InMemoryCloudProvider(c, State(c.Name)));

    private Reconciler Reconciler(Dictionary<string, InMemoryCloudProvider>? providers = null, TimeProvider? time = null, TimeSpan drain = default) => new(
        _store, _registry, (providers ?? _providers).ToDictionary(kv => kv.Key, kv => (ICloudProvider)kv.Value), _clouds, NullLogger.Instance, time, drain);

    private async Task<List<ReplicaRecord>> ReadyAsync(string deployment) =>
        [.. (await _store.ListReplicasAsync()).Where(r => r.Deployment == deployment && r.State == ReplicaState.Ready)];

    [Fact]
    public async Task Reconcile_NewDeployment_SpreadsReplicasCheapestFirstWithinCapacity()
    {
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 3, "cpu-small"));

        await Reconciler().ReconcileOnceAsync();

        var ready = await ReadyAsync("risk");
        Assert.Equal(3, ready.Count);
        Assert.Equal(2, ready.Count(r => r.Cloud == "cheap"));
        Assert.Equal(1, ready.Count(r => r.Cloud == "dear"));
        using var client = new HttpClient();
        foreach (var replica in ready)
        {
            Assert.True((await client.GetAsync(new Uri(replica.Endpoint!, "v2/health/ready"))).IsSuccessStatusCode);
        }
    }

    [Fact]
    public async Task Reconcile_Again_ChangesNothing()
    {
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        await Reconciler().ReconcileOnceAsync();
        var before = (await ReadyAsync("risk")).Select(r => r.Id).Order().ToList();

        await Reconciler().ReconcileOnceAsync();

        Assert.Equal(before, (await ReadyAsync("risk")).Select(r => r.Id).Order());
    }

    [Fact]
    public async Task Reconcile_AfterAReplicaIsKilled_ReplacesIt()
    {
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        await Reconciler().ReconcileOnceAsync();
        var victim = (await ReadyAsync("risk"))[0];

        await State(victim.Cloud).KillAsync(victim.Id);
        await Reconciler().ReconcileOnceAsync();

        var ready = await ReadyAsync("risk");
        Assert.Equal(2, ready.Count);
        Assert.DoesNotContain(ready, r => r.Id == victim.Id);
    }

    [Fact]
    public async Task Reconcile_AReplicaWhoseContainerExited_IsRecordedFailedWithItsExitCodeStoppedAndReplaced()
    {
        var reconciler = Reconciler(time: new ManualClock(DateTimeOffset.UtcNow));
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        await reconciler.ReconcileOnceAsync();
        var (victim, survivor) = ((await ReadyAsync("risk"))[0], (await ReadyAsync("risk"))[1]);
        Assert.Equal(["cheap", "cheap"], new[] { victim.Cloud, survivor.Cloud });

        await State("cheap").ExitAsync(victim.Id, 137);
        await reconciler.ReconcileOnceAsync();

        // Shown failed with why (as GET /deployments/{name} lists it), gone from its cloud, and replaced.
        var failed = Assert.Single(await _store.ListReplicasAsync(), r => r.Id == victim.Id);
        Assert.Equal((ReplicaState.Failed, null), (failed.State, failed.Endpoint));
        Assert.Contains("container exited with code 137", failed.Reason, StringComparison.Ordinal);
        Assert.Equal([survivor.Id], (await _providers["cheap"].ListAsync()).Select(r => r.ReplicaId));
        var ready = await ReadyAsync("risk");
        Assert.Equal(2, ready.Count);
        Assert.Contains(ready, r => r.Id == survivor.Id);

        // An exit is what was launched did, not the cloud: the deployment backs off there, so its replacement went to
        // the next best cloud, and nobody else is held back.
        Assert.Equal("dear", Assert.Single(ready, r => r.Id != survivor.Id).Cloud);
        var block = Assert.Single(reconciler.Blocks.ActiveFor("risk"));
        Assert.Equal((BlockScope.Deployment, "cheap", "risk"), (block.Scope, block.Cloud, block.Deployment));
        Assert.Contains("exited with code 137", block.Reason, StringComparison.Ordinal);
        Assert.Empty(reconciler.Blocks.CloudBlocks());

        // The next pass clears the failed record and changes nothing that runs.
        await reconciler.ReconcileOnceAsync();
        Assert.DoesNotContain(await _store.ListReplicasAsync(), r => r.Id == victim.Id);
        Assert.Equal(ready.Select(r => r.Id).Order(), (await ReadyAsync("risk")).Select(r => r.Id).Order());
    }

    [Fact]
    public async Task Reconcile_ACloudWhoseApiIsUnreachable_HasItsReplicasReplacedElsewhereThenStoppedOnceItAnswers()
    {
        var reconciler = Reconciler(time: new ManualClock(DateTimeOffset.UtcNow));
        using var loop = new ReconcilerLoop(reconciler, _store, new Stratus.ControlPlane.Routing.RouteTablePublisher(TimeProvider.System), TimeSpan.FromMinutes(10), NullLogger.Instance);
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 3, "cpu-small"));
        await loop.PassAsync(CancellationToken.None);
        var stale = (await ReadyAsync("risk")).Where(r => r.Cloud == "cheap").Select(r => r.Id).Order().ToList();
        Assert.Equal(2, stale.Count);

        State("cheap").Unreachable = true;
        var table = await loop.PassAsync(CancellationToken.None);

        // The pass went on without the cheap cloud: blocked for everyone, its replicas out of the routes and replaced.
        var ready = await ReadyAsync("risk");
        Assert.Equal(["dear", "dear", "dear"], ready.Select(r => r.Cloud));
        var endpoints = Assert.Single(table.Routes).Endpoints;
        Assert.Equal(ready.Select(r => r.Id).Order(), endpoints.Select(e => e.ReplicaId).Order());
        var block = Assert.Single(reconciler.Blocks.CloudBlocks());
        Assert.Equal((BlockScope.Cloud, "cheap"), (block.Scope, block.Cloud));
        Assert.Contains("unreachable", block.Reason, StringComparison.Ordinal);
        Assert.Contains(reconciler.Statuses.Get("risk")!.Plan.Rejected, r => r.Cloud == "cheap" && r.Reason.StartsWith("cloud cheap blocked until", StringComparison.Ordinal));

        // Unseen, its replicas ran on; once it answers they belong to no record and are stopped.
        State("cheap").Unreachable = false;
        Assert.Equal(stale, (await _providers["cheap"].ListAsync()).Select(r => r.ReplicaId).Order());
        await loop.PassAsync(CancellationToken.None);

        Assert.Empty(await _providers["cheap"].ListAsync());
        Assert.Equal(ready.Select(r => r.Id).Order(), (await ReadyAsync("risk")).Select(r => r.Id).Order());
    }

    [Fact]
    public async Task Reconcile_ScaleDown_StopsTheDearestFirst()
    {
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 3, "cpu-small"));
        await Reconciler().ReconcileOnceAsync();

        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        await Reconciler().ReconcileOnceAsync();

        var ready = await ReadyAsync("risk");
        Assert.Equal(2, ready.Count);
        Assert.All(ready, r => Assert.Equal("cheap", r.Cloud));
        Assert.Empty(await _providers["dear"].ListAsync());
    }

    [Fact]
    public async Task Reconcile_DeletedDeployment_StopsEverything()
    {
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        await Reconciler().ReconcileOnceAsync();

        await _store.DeleteAsync("risk");
        await Reconciler().ReconcileOnceAsync();

        Assert.Empty(await _store.ListReplicasAsync());
        Assert.Empty(await _providers["cheap"].ListAsync());
    }

    [Fact]
    public async Task Reconcile_WithFreshProviders_AdoptsLiveReplicasWithoutDuplicates()
    {
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        await Reconciler().ReconcileOnceAsync();
        var before = (await ReadyAsync("risk")).Select(r => r.Id).Order().ToList();

        // A restarted control plane: new provider objects over the same folders, same store.
        var fresh = Providers();
        await Reconciler(fresh).ReconcileOnceAsync();

        Assert.Equal(before, (await ReadyAsync("risk")).Select(r => r.Id).Order());
        Assert.Equal(2, (await fresh["cheap"].ListAsync()).Count + (await fresh["dear"].ListAsync()).Count);
        foreach (var provider in fresh.Values)
        {
            await provider.DisposeAsync();
        }
    }

    [Fact]
    public async Task Reconcile_ReplicaNobodyOwns_IsStopped()
    {
        var model = (await _registry.GetAsync("credit-risk", 1))!;
        await _providers["dear"].LaunchAsync(new ReplicaLaunch("stray-1", "credit-risk", "1", await _registry.LocalPathAsync(model), model.Sha256, "cpu-small"));

        await Reconciler().ReconcileOnceAsync();

        Assert.Empty(await _providers["dear"].ListAsync());
    }

    [Fact]
    public async Task Reconcile_NoCloudCanHostIt_RecordsWhy()
    {
        await _store.PutAsync(new Deployment("big", "credit-risk", 1, 1, "gpu-huge"));
        var reconciler = Reconciler();

        await reconciler.ReconcileOnceAsync();

        Assert.Empty(await _store.ListReplicasAsync());
        var plan = reconciler.Statuses.Get("big")!.Plan;
        Assert.Equal("replicas: 1 wanted, but the 0 candidate clouds can hold 0: 1 short", plan.Infeasible);
        Assert.All(plan.Rejected, r => Assert.Equal("offers no shape 'gpu-huge'", r.Reason));
    }

    [Fact]
    public async Task Reconcile_UnknownModelVersion_IsRecordedAsFailedWithTheReason()
    {
        await _store.PutAsync(new Deployment("risk", "credit-risk", 7, 1, "cpu-small"));

        await Reconciler().ReconcileOnceAsync();

        var failed = Assert.Single(await _store.ListReplicasAsync());
        Assert.Equal(ReplicaState.Failed, failed.State);
        Assert.Contains("version 7 is not in the registry", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Loop_Trigger_RunsAPassAndPublishesTheReadyReplicas()
    {
        var routes = new Stratus.ControlPlane.Routing.RouteTablePublisher(TimeProvider.System);
        using var loop = new ReconcilerLoop(Reconciler(), _store, routes, TimeSpan.FromMinutes(10), NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        var initial = routes.Current.Version;
        var running = loop.RunAsync(stop.Token);

        // The first pass starts the replicas and publishes them.
        var table = await routes.WaitForNewerAsync(initial, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(2, Assert.Single(table.Routes).Endpoints.Count);

        // A change and a trigger bring the next table long before the ten-minute period.
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small"));
        loop.Trigger();
        var next = await routes.WaitForNewerAsync(table.Version, TimeSpan.FromMinutes(1), CancellationToken.None);

        var route = Assert.Single(next.Routes);
        Assert.Equal("risk", route.Deployment);
        Assert.Single(route.Endpoints);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task Reconcile_SpreadOverThreeClouds_PutsOneReplicaInEach()
    {
        _clouds = [Cloud("a", 0.05m, capacity: 4), Cloud("b", 0.06m, capacity: 4), Cloud("c", 0.07m, capacity: 4)];
        foreach (var provider in _providers.Values)
        {
            await provider.DisposeAsync();
        }

        _providers = Providers();
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 3, "cpu-small") { Placement = new() { MinClouds = 3 } });

        await Reconciler().ReconcileOnceAsync();

        Assert.Equal(["a", "b", "c"], (await ReadyAsync("risk")).Select(r => r.Cloud).Order());
    }

    [Fact]
    public async Task Reconcile_ScaleDown_DrainsOutOfTheRoutesBeforeStopping()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var routes = new Stratus.ControlPlane.Routing.RouteTablePublisher(TimeProvider.System);
        using var loop = new ReconcilerLoop(Reconciler(time: clock, drain: TimeSpan.FromSeconds(30)), _store, routes, TimeSpan.FromMinutes(10), NullLogger.Instance);
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        await loop.PassAsync(CancellationToken.None);

        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small"));
        var table = await loop.PassAsync(CancellationToken.None);

        // Out of the route table at once, but still running and answering what reaches it, until the drain ends.
        var draining = Assert.Single(await _store.ListReplicasAsync(), r => r.State == ReplicaState.Draining);
        Assert.Equal(clock.GetUtcNow().AddSeconds(30), draining.DrainUntil);
        Assert.DoesNotContain(Assert.Single(table.Routes).Endpoints, e => e.ReplicaId == draining.Id);
        Assert.Single(Assert.Single(table.Routes).Endpoints);
        using var client = new HttpClient();
        Assert.True((await client.GetAsync(new Uri(draining.Endpoint!, "v2/health/ready"))).IsSuccessStatusCode);

        await loop.PassAsync(CancellationToken.None);
        Assert.Contains(await _store.ListReplicasAsync(), r => r.Id == draining.Id);

        clock.Advance(TimeSpan.FromSeconds(31));
        await loop.PassAsync(CancellationToken.None);

        Assert.DoesNotContain(await _store.ListReplicasAsync(), r => r.Id == draining.Id);
        Assert.DoesNotContain(await _providers[draining.Cloud].ListAsync(), r => r.ReplicaId == draining.Id);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri(draining.Endpoint!, "v2/health/live")));
        Assert.Single(await ReadyAsync("risk"));
    }

    [Fact]
    public async Task Reconcile_WhileTheCloudLaunches_ReplicasShowStartingThenReady()
    {
        // The cloud boundary held still: launches take their place there and wait.
        var cloud = State("cheap");
        cloud.HoldLaunches();
        var reconciler = new Reconciler(_store, _registry, new Dictionary<string, ICloudProvider> { ["cheap"] = _providers["cheap"] }, [_clouds[0]], NullLogger.Instance);
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));

        var pass = reconciler.ReconcileOnceAsync();
        await Stratus.Testing.Eventually.HoldsAsync(() => cloud.Holding == 2, "both launches reached the cloud");

        var records = await _store.ListReplicasAsync();
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.Equal(ReplicaState.Starting, r.State));
        Assert.All(records, r => Assert.Null(r.Endpoint));

        cloud.ReleaseLaunches();
        await pass;
        Assert.Equal(2, (await ReadyAsync("risk")).Count);
    }

    [Fact]
    public async Task Reconcile_AReplicaStillStartingFromACrashedControlPlane_IsCountedNotLaunchedAgain()
    {
        // What a control plane that died mid-launch leaves: its record pending, its replica in the cloud not ready yet.
        var cloud = State("cheap");
        cloud.HoldLaunches();
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small"));
        await _store.PutReplicaAsync(new ReplicaRecord("risk-old", "risk", "cheap", "cpu-small", ReplicaState.Pending, null, null));
        var model = (await _registry.GetAsync("credit-risk", 1))!;
        var launching = _providers["cheap"].LaunchAsync(new ReplicaLaunch("risk-old", "credit-risk", "1", await _registry.LocalPathAsync(model), model.Sha256, "cpu-small") { ServedName = "risk" });
        await Stratus.Testing.Eventually.HoldsAsync(() => cloud.Holding == 1, "the crashed control plane's launch is starting in the cloud");
        var launches = cloud.Launches;
        var reconciler = new Reconciler(_store, _registry, new Dictionary<string, ICloudProvider> { ["cheap"] = Providers()["cheap"] }, [_clouds[0]], NullLogger.Instance);

        // Were it launched again, the pass would wait on the held cloud: it fails rather than hangs.
        await reconciler.ReconcileOnceAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(launches, cloud.Launches);
        Assert.Equal(ReplicaState.Starting, Assert.Single(await _store.ListReplicasAsync()).State);

        cloud.ReleaseLaunches();
        var handle = await launching;
        await reconciler.ReconcileOnceAsync();

        var ready = Assert.Single(await _store.ListReplicasAsync());
        Assert.Equal((ReplicaState.Ready, handle.Endpoint), (ready.State, ready.Endpoint));
        Assert.Equal(launches, cloud.Launches);
    }

    [Fact]
    public async Task Reconcile_ByALeaderDeposedSinceItsToken_StopsNoUnrecordedReplica()
    {
        // A replica the store does not know (as one the new leader recorded after this pass read the store would be).
        var model = (await _registry.GetAsync("credit-risk", 1))!;
        var cloud = _providers["cheap"];
        await cloud.LaunchAsync(new ReplicaLaunch("risk-new", "credit-risk", "1", await _registry.LocalPathAsync(model), model.Sha256, "cpu-small"));
        var leases = new SqliteLeaseStore(_temp.Database);
        var reconciler = new Reconciler(_store, _registry, new Dictionary<string, ICloudProvider> { ["cheap"] = cloud }, [_clouds[0]], NullLogger.Instance, leases: leases);
        var old = await leases.TryAcquireAsync("controller", "old", TimeSpan.FromMinutes(1));
        await leases.ReleaseAsync("controller", "old");
        var current = await leases.TryAcquireAsync("controller", "new", TimeSpan.FromMinutes(1));

        using (Fencing.Enter(new FencingToken("controller", "old", old!.Epoch)))
        {
            await Assert.ThrowsAsync<FencedException>(() => reconciler.ReconcileOnceAsync());
        }

        Assert.Equal(["risk-new"], (await cloud.ListAsync()).Select(r => r.ReplicaId));

        // The leader in office stops it: it belongs to no deployment.
        using (Fencing.Enter(new FencingToken("controller", "new", current!.Epoch)))
        {
            await reconciler.ReconcileOnceAsync();
        }

        Assert.Empty(await cloud.ListAsync());
    }

    [Fact]
    public async Task Failover_ARefusingCloudIsBlockedAndTheNextBestTakesTheReplicasThenTheyMoveBack()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var reconciler = Reconciler(time: clock);
        _providers["cheap"].Refuse(ProvisioningScope.Shape, "cpu-small");
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));

        await reconciler.ReconcileOnceAsync();

        // Refused in the cheap cloud, blocked there at the refusal's scope, placed in the next best within the pass.
        Assert.Equal(["dear", "dear"], (await ReadyAsync("risk")).Select(r => r.Cloud));
        var status = reconciler.Statuses.Get("risk")!;
        var block = Assert.Single(status.Blocked);
        Assert.Equal((BlockScope.Shape, "cheap"), (block.Scope, block.Cloud));
        Assert.Contains("refused the launch", block.Reason, StringComparison.Ordinal);
        Assert.Equal(2, status.Plan.In("dear"));
        Assert.Empty(await _providers["cheap"].ListAsync());

        // The cloud accepts again and the block has expired: 75% cheaper beats the stability threshold, so they move back.
        _providers["cheap"].Accept();
        clock.Advance(BlockList.FirstBackoff + TimeSpan.FromSeconds(1));
        await reconciler.ReconcileOnceAsync();

        Assert.Equal(["cheap", "cheap"], (await ReadyAsync("risk")).Select(r => r.Cloud));
        Assert.Empty(await _providers["dear"].ListAsync());
    }

    [Fact]
    public async Task Failover_EveryCloudRefuses_ShowsWhyAndRetriesWhenCapacityReturns()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var reconciler = Reconciler(time: clock);
        _providers["cheap"].Refuse(ProvisioningScope.Cloud, null);
        _providers["dear"].Refuse(ProvisioningScope.Shape, "cpu-small");
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small"));

        await reconciler.ReconcileOnceAsync();

        var status = reconciler.Statuses.Get("risk")!;
        Assert.False(status.Plan.Feasible);
        Assert.Equal("replicas: 1 wanted, but the 0 candidate clouds can hold 0: 1 short", status.Plan.Infeasible);
        Assert.Contains(status.Plan.Rejected, r => r.Cloud == "cheap" && r.Reason.StartsWith("cloud cheap blocked until", StringComparison.Ordinal));
        Assert.Contains(status.Plan.Rejected, r => r.Cloud == "dear" && r.Reason.StartsWith("shape cpu-small in dear blocked until", StringComparison.Ordinal));
        Assert.Empty(await ReadyAsync("risk"));

        // Refused again while blocked? No launch is tried until the backoff ends; then it is, and it works.
        _providers["dear"].Accept();
        await reconciler.ReconcileOnceAsync();
        Assert.Empty(await ReadyAsync("risk"));
        clock.Advance(BlockList.FirstBackoff + TimeSpan.FromSeconds(1));
        await reconciler.ReconcileOnceAsync();

        Assert.Equal("dear", Assert.Single(await ReadyAsync("risk")).Cloud);
    }

    [Fact]
    public async Task Blocks_BackOffExponentiallyUpToTheLimit()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var blocks = new BlockList(clock);

        var spans = new List<TimeSpan>();
        for (var i = 0; i < 8; i++)
        {
            var block = blocks.Add(ProvisioningScope.Cloud, _clouds[0], "cpu-small", "down");
            Assert.Equal(block, blocks.Add(ProvisioningScope.Cloud, _clouds[0], "cpu-small", "down again, same burst"));
            spans.Add(block.Until - clock.GetUtcNow());
            clock.Advance(spans[^1]);
        }

        Assert.Empty(blocks.Active());

        blocks.Succeeded(_clouds[0], "cpu-small", "risk");
        var reset = blocks.Add(ProvisioningScope.Cloud, _clouds[0], "cpu-small", "down").Until - clock.GetUtcNow();

        Assert.Equal([5, 10, 20, 40, 80, 120, 120, 120], spans.Select(s => (int)s.TotalSeconds));
        Assert.Equal(BlockList.FirstBackoff, reset);
    }

    [Fact]
    public async Task Spot_ReplicasAreLaunchedAndRecordedAsThePlanSplitsThem()
    {
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 3, "cpu-small") { Placement = new() { SpotAllowed = true, MinOnDemand = 1 } });
        var reconciler = Reconciler();

        await reconciler.ReconcileOnceAsync();

        var ready = await ReadyAsync("risk");
        var plan = reconciler.Statuses.Get("risk")!.Plan;
        Assert.Equal(3, ready.Count);
        Assert.Equal(1, ready.Count(r => !r.Spot));
        foreach (var item in plan.Placement)
        {
            Assert.Equal((item.OnDemand, item.Spot), (ready.Count(r => r.Cloud == item.Cloud && !r.Spot), ready.Count(r => r.Cloud == item.Cloud && r.Spot)));
        }

        // Again: nothing changes, the kinds already match.
        await reconciler.ReconcileOnceAsync();
        Assert.Equal(ready.Select(r => r.Id).Order(), (await ReadyAsync("risk")).Select(r => r.Id).Order());
    }

    [Fact]
    public async Task TrafficSplit_RunsEachVersionsReplicasAndPublishesTheWeights()
    {
        await using (var model = File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")))
        {
            await _registry.PushAsync("credit-risk", model, "admin");
        }

        var routes = new Stratus.ControlPlane.Routing.RouteTablePublisher(TimeProvider.System);
        using var loop = new ReconcilerLoop(Reconciler(), _store, routes, TimeSpan.FromMinutes(10), NullLogger.Instance);
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small") { Traffic = [new(1, 90), new(2, 10, 1)] });

        var table = await loop.PassAsync(CancellationToken.None);

        var ready = await ReadyAsync("risk");
        Assert.Equal(2, ready.Count(r => r.ModelVersion == 1));
        Assert.Equal(1, ready.Count(r => r.ModelVersion == 2));
        var route = Assert.Single(table.Routes);
        Assert.Equal([new Stratus.Core.Routing.VersionWeight(1, 90), new Stratus.Core.Routing.VersionWeight(2, 10)], route.Weights);
        Assert.Equal([1, 1, 2], route.Endpoints.Select(e => e.ModelVersion).Order());

        // Version 2 promoted: the split goes away, version 1's replicas drain, version 2 runs the deployment's count.
        await _store.PutAsync(new Deployment("risk", "credit-risk", 2, 2, "cpu-small"));
        await loop.PassAsync(CancellationToken.None);
        table = await loop.PassAsync(CancellationToken.None);

        Assert.Equal([2, 2], (await ReadyAsync("risk")).Select(r => r.ModelVersion));
        Assert.Empty(Assert.Single(table.Routes).Weights);
    }

    [Fact]
    public async Task Consistency_AReplicaOfAnotherModelIsKeptOutOfTrafficAndItsDeploymentBackedOffThere()
    {
        // The cheap cloud's API lies: it runs another model file while reporting the one it was asked for.
        await using (var other = File.OpenRead(Stratus.Testing.RepositoryFiles.Model("mlp-large.onnx")))
        {
            await _registry.PushAsync("other", other, "admin");
        }

        var wrong = (await _registry.GetAsync("other", 1))!;
        State("cheap").LoadsInstead = await _registry.LocalPathAsync(wrong);
        using var consistency = new ConsistencyChecker(new SqliteProbeReferenceStore(_temp.Database, TimeProvider.System));
        var reconciler = Checked(consistency, time: new ManualClock(DateTimeOffset.UtcNow));
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));

        await reconciler.ReconcileOnceAsync();

        var records = await _store.ListReplicasAsync();
        Assert.Equal(["dear", "dear"], records.Where(r => r.State == ReplicaState.Ready).Select(r => r.Cloud));
        Assert.Contains(records, r => r.State == ReplicaState.Failed && r.Cloud == "cheap" && r.Reason!.Contains("failed the consistency check: the model it serves has the signature", StringComparison.Ordinal));
        Assert.Empty(await _providers["cheap"].ListAsync());

        // The fault is the deployment's: it backs off in that cloud; the cloud itself is not blocked for others.
        Assert.Contains(reconciler.Blocks.Active(), b => b.Cloud == "cheap" && b.Scope == BlockScope.Deployment && b.Deployment == "risk");
        Assert.Empty(reconciler.Blocks.CloudBlocks());
    }

    private ConsistencyChecker Checker() => new(new SqliteProbeReferenceStore(_temp.Database, TimeProvider.System));

    private Reconciler Checked(ConsistencyChecker consistency, IReadOnlyDictionary<string, ICloudProvider>? providers = null, TimeProvider? time = null) => new(
        _store, _registry, providers ?? _providers.ToDictionary(kv => kv.Key, kv => (ICloudProvider)kv.Value), _clouds, NullLogger.Instance, time, consistency: consistency);

    [Fact]
    [Trait("Category", "Process")]
    public async Task Faults_OfOneDeploymentsModelBackOffThatDeploymentOnlyAndDeletingItClearsThem()
    {
        // Its answers differ on every run: every replica after the first fails the consistency check. Only across
        // processes, though: ONNX Runtime seeds unseeded random operators once per process, so two sessions in one
        // process draw the same noise. This test's replicas are therefore child processes of real local clouds.
        await using (var noisy = File.OpenRead(Stratus.Testing.RepositoryFiles.Model("nondeterministic.onnx")))
        {
            await _registry.PushAsync("noisy", noisy, "admin");
        }

        var local = _clouds.ToDictionary(c => c.Name, c => new LocalCloudProvider(c, _temp.Folder, TestReplicas.Executable));
        _local.AddRange(local.Values);
        using var consistency = Checker();
        var reconciler = Checked(consistency, local.ToDictionary(kv => kv.Key, kv => (ICloudProvider)kv.Value), new ManualClock(DateTimeOffset.UtcNow));
        await _store.PutAsync(new Deployment("noisy", "noisy", 1, 2, "cpu-small") { Placement = new() { AllowedClouds = ["cheap"] } });
        await reconciler.ReconcileOnceAsync();
        Assert.NotEmpty(reconciler.Blocks.ActiveFor("noisy"));

        // Were the failing model's faults the cloud's, the cheap cloud would be blocked for this one too.
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small"));
        await reconciler.ReconcileOnceAsync();

        // The healthy deployment is placed at once in the cheapest cloud; no cloud is blocked for anyone.
        Assert.Equal("cheap", Assert.Single(await ReadyAsync("risk")).Cloud);
        Assert.Empty(reconciler.Blocks.CloudBlocks());
        Assert.Empty(reconciler.Blocks.ActiveFor("risk"));
        var backedOff = reconciler.Blocks.ActiveFor("noisy");
        Assert.NotEmpty(backedOff);
        Assert.All(backedOff, b => Assert.Equal((BlockScope.Deployment, "noisy"), (b.Scope, b.Deployment)));
        Assert.Contains(backedOff, b => b.Reason.Contains("failed the consistency check: its answers differ", StringComparison.Ordinal));
        Assert.True((await ReadyAsync("noisy")).Count <= 1);

        // A killed replica of the healthy deployment comes back at once, in the cheapest cloud again.
        await local["cheap"].StopAsync(Assert.Single(await ReadyAsync("risk")).Id);
        await reconciler.ReconcileOnceAsync();
        Assert.Equal("cheap", Assert.Single(await ReadyAsync("risk")).Cloud);

        await _store.DeleteAsync("noisy");
        await reconciler.ReconcileOnceAsync();
        Assert.Empty(reconciler.Blocks.Active());
    }

    [Fact]
    public async Task Blocks_NeverEvictARunningReplica()
    {
        var reconciler = Reconciler();
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        await reconciler.ReconcileOnceAsync();
        var running = (await ReadyAsync("risk")).Select(r => r.Id).Order().ToList();
        Assert.All(await ReadyAsync("risk"), r => Assert.Equal("cheap", r.Cloud));

        // The cheap cloud refuses new launches (blocked for everyone): what runs there stays, the third goes elsewhere.
        reconciler.Blocks.Add(ProvisioningScope.Cloud, _clouds[0], "cpu-small", "refused a launch");
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 3, "cpu-small"));
        await reconciler.ReconcileOnceAsync();

        var ready = await ReadyAsync("risk");
        Assert.Equal(running, ready.Where(r => r.Cloud == "cheap").Select(r => r.Id).Order());
        Assert.Equal("dear", Assert.Single(ready, r => r.Cloud != "cheap").Cloud);
    }

    [Fact]
    public async Task Adopt_AReplicaFromACrashedControlPlaneThatWasNeverChecked_IsCheckedBeforeItServes()
    {
        await using (var other = File.OpenRead(Stratus.Testing.RepositoryFiles.Model("mlp-large.onnx")))
        {
            await _registry.PushAsync("other", other, "admin");
        }

        var risk = (await _registry.GetAsync("credit-risk", 1))!;
        var wrong = (await _registry.GetAsync("other", 1))!;
        await _store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));

        // What a control plane killed mid-launch leaves behind: records still starting, replicas that came up since,
        // one of them (through a cloud that swapped the artifact) serving another model.
        foreach (var (id, artifact, sha) in new[] { ("risk-good", await _registry.LocalPathAsync(risk), risk.Sha256), ("risk-bad", await _registry.LocalPathAsync(wrong), wrong.Sha256) })
        {
            await _store.PutReplicaAsync(new ReplicaRecord(id, "risk", "cheap", "cpu-small", ReplicaState.Starting, null, null) { ModelVersion = 1 });
            await _providers["cheap"].LaunchAsync(new ReplicaLaunch(id, "credit-risk", "1", artifact, sha, "cpu-small") { ServedName = "risk" });
        }

        using var consistency = Checker();
        var reconciler = Checked(consistency, time: new ManualClock(DateTimeOffset.UtcNow));
        await reconciler.ReconcileOnceAsync();

        var records = (await _store.ListReplicasAsync()).ToDictionary(r => r.Id);
        Assert.Equal(ReplicaState.Ready, records["risk-good"].State);
        Assert.False(records.ContainsKey("risk-bad") && records["risk-bad"].State == ReplicaState.Ready);
        Assert.DoesNotContain(await _providers["cheap"].ListAsync(), h => h.ReplicaId == "risk-bad");
        Assert.Contains(reconciler.Blocks.ActiveFor("risk"), b => b.Cloud == "cheap" && b.Reason.Contains("risk-bad", StringComparison.Ordinal));
        Assert.Equal(2, (await ReadyAsync("risk")).Count);
        var note = Assert.Single(await _store.ListConsistencyAsync());
        Assert.Equal(("risk", 1, true, "checked on 4 synthetic probe(s)"), (note.Deployment, note.Version, note.Checked, note.Note));
    }
}
