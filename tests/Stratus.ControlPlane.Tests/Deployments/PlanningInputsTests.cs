using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Stratus.ControlPlane.Deployments.Reconciliation;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Api;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Tests.Deployments;

/// <summary>The dry run and the reconciler's pass plan from one builder, so for the same state they plan the same.</summary>
public sealed class PlanningInputsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Later = DateTimeOffset.UtcNow.AddHours(1);
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

    public async Task DisposeAsync() => await _temp.DisposeAsync();

    private static CloudSpec Cloud(string name, decimal price, int capacity) => new(
        name, "local", name + "-1", "us", new GeoLocation(0, 0),
        new Dictionary<string, int> { ["cpu-small"] = capacity },
        new Dictionary<string, ShapePrice> { ["cpu-small"] = new(price, price / 3) },
        TimeSpan.Zero);

    [Fact]
    public async Task ReadAsync_BeforeAPass_GivesThePlanThePassMakes()
    {
        // The cheap cloud is full: another deployment runs one replica there and drains a second that still runs.
        CloudSpec[] clouds = [Cloud("cheap", 0.05m, capacity: 2), Cloud("dear", 0.20m, capacity: 4), Cloud("far", 0.10m, capacity: 4)];
        var providers = clouds.ToDictionary(c => c.Name, c => (ICloudProvider)new FakeCloud(c.Name));
        await _store.PutAsync(new Deployment("other", "credit-risk", 1, 1, "cpu-small"));
        foreach (var (id, state) in new[] { ("other-a", ReplicaState.Ready), ("other-b", ReplicaState.Draining) })
        {
            await _store.PutReplicaAsync(new ReplicaRecord(id, "other", "cheap", "cpu-small", state, null, new Uri("http://127.0.0.1:1/")) { ModelVersion = 1, DrainUntil = state == ReplicaState.Draining ? Later : null });
            ((FakeCloud)providers["cheap"]).Run(id, "cpu-small");
        }

        // This deployment runs one replica in the dearest cloud, and the middle one is blocked for it.
        var risk = new Deployment("risk", "credit-risk", 1, 3, "cpu-small");
        await _store.PutAsync(risk);
        await _store.PutReplicaAsync(new ReplicaRecord("risk-a", "risk", "dear", "cpu-small", ReplicaState.Ready, null, new Uri("http://127.0.0.1:1/")) { ModelVersion = 1 });
        ((FakeCloud)providers["dear"]).Run("risk-a", "cpu-small");
        var blocks = new BlockList(TimeProvider.System);
        blocks.Add(ProvisioningScope.Deployment, clouds[2], "cpu-small", "risk failed to load there", "risk");

        var dryRun = Planner.Plan(await PlanningInputs.ReadAsync(risk, _store, providers, clouds, blocks, CancellationToken.None));
        var reconciler = new Reconciler(_store, _registry, providers, clouds, NullLogger.Instance, blocks: blocks);
        await reconciler.ReconcileOnceAsync();

        var planned = reconciler.Statuses.Get("risk")?.Plan;
        Assert.NotNull(planned);
        Assert.Equal(JsonSerializer.Serialize(planned, ApiJson.Strict), JsonSerializer.Serialize(dryRun, ApiJson.Strict));
        Assert.Equal([("dear", 3)], dryRun.Placement.Select(p => (p.Cloud, p.Replicas)));
    }

    /// <summary>A cloud that runs what it is told to: a launch is ready at once, at an address nothing answers on.</summary>
    private sealed class FakeCloud(string name) : ICloudProvider
    {
        private readonly List<ReplicaHandle> _running = [];

        public string CloudName => name;

        public void Run(string id, string shape) => _running.Add(new ReplicaHandle(id, name, shape, new Uri("http://127.0.0.1:1/")));

        public Task<ReplicaHandle> LaunchAsync(ReplicaLaunch launch, CancellationToken cancellationToken = default)
        {
            Run(launch.ReplicaId, launch.Shape);
            return Task.FromResult(_running[^1]);
        }

        public Task StopAsync(string replicaId, CancellationToken cancellationToken = default)
        {
            _running.RemoveAll(r => r.ReplicaId == replicaId);
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<ReplicaHandle>> ListAsync(CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<ReplicaHandle>>([.. _running]);

        public Task<string?> LogsAsync(string replicaId, int lines, CancellationToken cancellationToken = default) => Task.FromResult<string?>(null);

        public Task StopAllAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
