using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Stratus.ControlPlane.Deployments.Reconciliation;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.ControlPlane.Tests.Support;
using Stratus.Core.Api;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Tests.Deployments;

/// <summary>
/// The dry run and the reconciler's pass plan from one builder, so for the same state they plan the same; the clouds are
/// in-memory ones whose replicas are real replica servers in this process.
/// </summary>
public sealed class PlanningInputsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Later = DateTimeOffset.UtcNow.AddHours(1);
    private readonly Dictionary<string, InMemoryCloud> _cloudStates = new(StringComparer.Ordinal);
    private TempDatabase _temp = null!;
    private SqliteDeploymentStore _store = null!;
    private ModelRegistry _registry = null!;

    public async Task InitializeAsync()
    {
        _temp = await TempDatabase.CreateAsync();
        _store = new SqliteDeploymentStore(_temp.Database, TimeProvider.System);
        _registry = new ModelRegistry(_temp.Database, new DirectoryBlobStore(Path.Combine(_temp.Folder, "models")), TimeProvider.System);
        await using var model = File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx"));
        await _registry.PushAsync("credit-risk", model, "admin");
    }

    public async Task DisposeAsync()
    {
        foreach (var cloud in _cloudStates.Values)
        {
            await cloud.DisposeAsync();
        }

        await _temp.DisposeAsync();
    }

    private static CloudSpec Cloud(string name, decimal price, int capacity) => new(
        name, "local", name + "-1", "us", new GeoLocation(0, 0),
        new Dictionary<string, int> { ["cpu-small"] = capacity },
        new Dictionary<string, ShapePrice> { ["cpu-small"] = new(price, price / 3) },
        TimeSpan.Zero);

    /// <summary>Starts a replica in the cloud, as one already running there.</summary>
    private async Task RunAsync(InMemoryCloudProvider cloud, string id)
    {
        var model = (await _registry.GetAsync("credit-risk", 1))!;
        await cloud.LaunchAsync(new ReplicaLaunch(id, "credit-risk", "1", await _registry.LocalPathAsync(model), model.Sha256, "cpu-small"));
    }

    private Dictionary<string, InMemoryCloudProvider> Providers(CloudSpec[] clouds) =>
        clouds.ToDictionary(c => c.Name, c => new InMemoryCloudProvider(c, _cloudStates[c.Name] = new InMemoryCloud()));

    [Fact]
    public async Task ReadAsync_BeforeAPass_GivesThePlanThePassMakes()
    {
        // The cheap cloud is full: another deployment runs one replica there and drains a second that still runs.
        CloudSpec[] clouds = [Cloud("cheap", 0.05m, capacity: 2), Cloud("dear", 0.20m, capacity: 4), Cloud("far", 0.10m, capacity: 4)];
        var providers = Providers(clouds);
        await _store.PutAsync(new Deployment("other", "credit-risk", 1, 1, "cpu-small"));
        foreach (var (id, state) in new[] { ("other-a", ReplicaState.Ready), ("other-b", ReplicaState.Draining) })
        {
            await _store.PutReplicaAsync(new ReplicaRecord(id, "other", "cheap", "cpu-small", state, null, new Uri("http://127.0.0.1:1/")) { ModelVersion = 1, DrainUntil = state == ReplicaState.Draining ? Later : null });
            await RunAsync(providers["cheap"], id);
        }

        // This deployment runs one replica in the dearest cloud, and the middle one is blocked for it.
        var risk = new Deployment("risk", "credit-risk", 1, 3, "cpu-small");
        await _store.PutAsync(risk);
        await _store.PutReplicaAsync(new ReplicaRecord("risk-a", "risk", "dear", "cpu-small", ReplicaState.Ready, null, new Uri("http://127.0.0.1:1/")) { ModelVersion = 1 });
        await RunAsync(providers["dear"], "risk-a");
        var blocks = new BlockList(TimeProvider.System);
        blocks.Add(ProvisioningScope.Deployment, clouds[2], "cpu-small", "risk failed to load there", "risk");

        var (dryRun, planned) = await DryRunThenPassAsync(risk, providers, clouds, blocks);

        Assert.Equal(JsonSerializer.Serialize(planned, ApiJson.Strict), JsonSerializer.Serialize(dryRun, ApiJson.Strict));
        Assert.Equal([("dear", 3)], dryRun.Placement.Select(p => (p.Cloud, p.Replicas)));
    }

    [Fact]
    public async Task ReadAsync_WithACloudWhoseApiIsUnreachable_PlansElsewhereAsThePassDoes()
    {
        CloudSpec[] clouds = [Cloud("cheap", 0.05m, capacity: 4), Cloud("dear", 0.20m, capacity: 4)];
        var providers = Providers(clouds);
        var risk = new Deployment("risk", "credit-risk", 1, 2, "cpu-small");
        await _store.PutAsync(risk);
        await _store.PutReplicaAsync(new ReplicaRecord("risk-a", "risk", "cheap", "cpu-small", ReplicaState.Ready, null, new Uri("http://127.0.0.1:1/")) { ModelVersion = 1 });
        await RunAsync(providers["cheap"], "risk-a");
        _cloudStates["cheap"].Unreachable = true;

        // Neither throws; both count its replica gone and place nothing in the cloud they cannot see.
        var (dryRun, planned) = await DryRunThenPassAsync(risk, providers, clouds, new BlockList(TimeProvider.System));

        Assert.Equal(JsonSerializer.Serialize(planned, ApiJson.Strict), JsonSerializer.Serialize(dryRun, ApiJson.Strict));
        Assert.Equal([("dear", 2)], dryRun.Placement.Select(p => (p.Cloud, p.Replicas)));
        Assert.Contains(dryRun.Rejected, r => r.Cloud == "cheap" && r.Reason.Contains("unreachable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadAsync_WithAReplicaWhoseContainerExited_PlansItsReplacementAsThePassDoes()
    {
        CloudSpec[] clouds = [Cloud("cheap", 0.05m, capacity: 4), Cloud("dear", 0.20m, capacity: 4)];
        var providers = Providers(clouds);
        var risk = new Deployment("risk", "credit-risk", 1, 2, "cpu-small");
        await _store.PutAsync(risk);
        foreach (var id in new[] { "risk-a", "risk-b" })
        {
            await _store.PutReplicaAsync(new ReplicaRecord(id, "risk", "cheap", "cpu-small", ReplicaState.Ready, null, new Uri("http://127.0.0.1:1/")) { ModelVersion = 1 });
            await RunAsync(providers["cheap"], id);
        }

        await _cloudStates["cheap"].ExitAsync("risk-a", 1);

        // Both count it gone and back the deployment off in that cloud: the survivor stays, the replacement goes elsewhere.
        var (dryRun, planned) = await DryRunThenPassAsync(risk, providers, clouds, new BlockList(TimeProvider.System));

        Assert.Equal(JsonSerializer.Serialize(planned, ApiJson.Strict), JsonSerializer.Serialize(dryRun, ApiJson.Strict));
        Assert.Equal([("cheap", 1), ("dear", 1)], dryRun.Placement.Select(p => (p.Cloud, p.Replicas)).Order());
    }

    /// <summary>The dry run's plan of the deployment, then the plan a pass over the same state made.</summary>
    private async Task<(PlacementPlan DryRun, PlacementPlan Pass)> DryRunThenPassAsync(Deployment deployment, Dictionary<string, InMemoryCloudProvider> clouds, CloudSpec[] specs, BlockList blocks)
    {
        var providers = clouds.ToDictionary(kv => kv.Key, kv => (ICloudProvider)kv.Value);
        var dryRun = Planner.Plan(await PlanningInputs.ReadAsync(deployment, _store, providers, specs, blocks, CancellationToken.None));
        var reconciler = new Reconciler(_store, _registry, providers, specs, NullLogger.Instance, blocks: blocks);
        await reconciler.ReconcileOnceAsync();
        var planned = reconciler.Statuses.Get(deployment.Name)?.Plan;
        Assert.NotNull(planned);
        return (dryRun, planned);
    }
}
