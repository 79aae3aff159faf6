using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Deployments;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Deployments;

/// <summary>What every deployment store must do; each store's tests subclass this.</summary>
public abstract class DeploymentStoreContractTests : StoreContractTests<IDeploymentStateStore>
{
    private static ReplicaRecord Replica(string id, string deployment, ReplicaState state = ReplicaState.Pending) =>
        new(id, deployment, "local-us", "cpu-small", state, null, null);

    [Fact]
    public async Task Put_CreatesThenReplacesTheWholeDeployment()
    {
        await Store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        await Store.PutAsync(new Deployment("fraud", "fraud", 3, 1, "cpu-large"));
        await Store.PutAsync(new Deployment("risk", "credit-risk", 2, 5, "cpu-large"));

        Assert.Equal(
            [new Deployment("fraud", "fraud", 3, 1, "cpu-large"), new Deployment("risk", "credit-risk", 2, 5, "cpu-large")],
            await Store.ListAsync());
    }

    [Fact]
    public async Task Delete_RemovesOnlyThatOneAndSaysWhetherItExisted()
    {
        await Store.PutAsync(new Deployment("risk", "credit-risk", 1, 2, "cpu-small"));
        await Store.PutAsync(new Deployment("fraud", "fraud", 1, 1, "cpu-small"));

        Assert.True(await Store.DeleteAsync("risk"));
        Assert.False(await Store.DeleteAsync("risk"));
        Assert.Equal("fraud", Assert.Single(await Store.ListAsync()).Name);
    }

    [Fact]
    public async Task PutReplica_RoundTripsEveryFieldAndUpdatesInPlace()
    {
        var drainUntil = new DateTimeOffset(2026, 11, 23, 12, 0, 0, 123, TimeSpan.Zero);
        await Store.PutReplicaAsync(Replica("risk-1", "risk"));
        await Store.PutReplicaAsync(Replica("risk-1", "risk") with
        {
            State = ReplicaState.Draining,
            Reason = "scaled to 1",
            Endpoint = new Uri("http://127.0.0.1:9001/"),
            DrainUntil = drainUntil,
            Spot = true,
        });

        var replica = Assert.Single(await Store.ListReplicasAsync());
        Assert.Equal(ReplicaState.Draining, replica.State);
        Assert.Equal("scaled to 1", replica.Reason);
        Assert.Equal(new Uri("http://127.0.0.1:9001/"), replica.Endpoint);
        Assert.Equal(drainUntil, replica.DrainUntil);
        Assert.True(replica.Spot);
        Assert.Equal("local-us", replica.Cloud);
    }

    [Fact]
    public async Task Replicas_AreListedByDeploymentThenIdAndDeletedOneByOne()
    {
        await Store.PutReplicaAsync(Replica("risk-b", "risk", ReplicaState.Ready));
        await Store.PutReplicaAsync(Replica("fraud-a", "fraud", ReplicaState.Failed));
        await Store.PutReplicaAsync(Replica("risk-a", "risk", ReplicaState.Starting));

        Assert.Equal(["fraud-a", "risk-a", "risk-b"], (await Store.ListReplicasAsync()).Select(r => r.Id));

        await Store.DeleteReplicaAsync("risk-a");
        await Store.DeleteReplicaAsync("nothing");
        Assert.Equal(["fraud-a", "risk-b"], (await Store.ListReplicasAsync()).Select(r => r.Id));
    }

    [Fact]
    public async Task Keys_AreAddedRevokedOnceAndGoWithTheirDeployment()
    {
        await Store.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small") { Public = true });
        var at = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        await Store.AddKeyAsync(new DeploymentKey("k1", "risk", "app", "aa11", at, null));
        await Store.AddKeyAsync(new DeploymentKey("k2", "risk", "batch", "bb22", at.AddSeconds(1), null));

        Assert.True(await Store.RevokeKeyAsync("risk", "k1"));
        Assert.False(await Store.RevokeKeyAsync("risk", "k1"));
        Assert.False(await Store.RevokeKeyAsync("fraud", "k2"));
        var keys = await Store.ListKeysAsync();
        Assert.Equal(["k1", "k2"], keys.Select(k => k.Id));
        Assert.NotNull(keys[0].RevokedAt);
        Assert.Equal(("batch", "bb22", at.AddSeconds(1), (DateTimeOffset?)null), (keys[1].Description, keys[1].Hash, keys[1].CreatedAt, keys[1].RevokedAt));
        Assert.True(Assert.Single(await Store.ListAsync()).Public);

        await Store.DeleteAsync("risk");
        Assert.Empty(await Store.ListKeysAsync());
    }

    [Fact]
    public async Task PutConsistency_IsTrueWhenNewOrChangedAndFalseWhenTheSame()
    {
        var at = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        var note = new ConsistencyNote("risk", 1, true, "checked on 4 synthetic probe(s)", at);

        Assert.True(await Store.PutConsistencyAsync(note));
        Assert.False(await Store.PutConsistencyAsync(note with { At = at.AddMinutes(1) }));
        Assert.True(await Store.PutConsistencyAsync(note with { Note = "checked on 2 sample probe(s)", At = at.AddMinutes(2) }));
        Assert.True(await Store.PutConsistencyAsync(note with { Checked = false, Note = "checked on 2 sample probe(s)", At = at.AddMinutes(3) }));

        // An unchanged note is not written at all, its time included.
        Assert.False(await Store.PutConsistencyAsync(note with { Checked = false, Note = "checked on 2 sample probe(s)", At = at.AddMinutes(4) }));
        Assert.Equal(note with { Checked = false, Note = "checked on 2 sample probe(s)", At = at.AddMinutes(3) }, Assert.Single(await Store.ListConsistencyAsync()));
    }

    [Fact]
    public async Task ListConsistency_ByDeploymentThenVersion()
    {
        var at = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        await Store.PutConsistencyAsync(new ConsistencyNote("risk", 2, true, "b", at));
        await Store.PutConsistencyAsync(new ConsistencyNote("fraud", 1, false, "a", at));
        await Store.PutConsistencyAsync(new ConsistencyNote("risk", 1, true, "c", at));

        Assert.Equal([("fraud", 1, false, "a"), ("risk", 1, true, "c"), ("risk", 2, true, "b")], (await Store.ListConsistencyAsync()).Select(n => (n.Deployment, n.Version, n.Checked, n.Note)));
    }

    [Fact]
    public async Task Delete_RemovesTheDeploymentsConsistencyNotesOnly()
    {
        var at = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        await Store.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small"));
        await Store.PutAsync(new Deployment("fraud", "fraud", 1, 1, "cpu-small"));
        await Store.PutConsistencyAsync(new ConsistencyNote("risk", 1, true, "checked", at));
        await Store.PutConsistencyAsync(new ConsistencyNote("risk", 2, true, "checked", at));
        await Store.PutConsistencyAsync(new ConsistencyNote("fraud", 1, true, "checked", at));

        await Store.DeleteAsync("risk");

        Assert.Equal("fraud", Assert.Single(await Store.ListConsistencyAsync()).Deployment);
    }

    [Fact]
    public async Task Put_RoundTripsRecordProbes()
    {
        await Store.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small") { RecordProbes = 4 });
        await Store.PutAsync(new Deployment("fraud", "fraud", 1, 1, "cpu-small"));

        Assert.Equal([("fraud", 0), ("risk", 4)], (await Store.ListAsync()).Select(d => (d.Name, d.RecordProbes)));

        await Store.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small") { RecordProbes = 0 });
        Assert.Equal(0, (await Store.ListAsync()).Single(d => d.Name == "risk").RecordProbes);
    }

    [Fact]
    public async Task ConcurrentWriters_AllLand()
    {
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Store.PutReplicaAsync(Replica($"r-{i:00}", "risk"))));

        Assert.Equal(20, (await Store.ListReplicasAsync()).Count);
    }
}

public sealed class SqliteDeploymentStoreTests : DeploymentStoreContractTests
{
    protected override Task<(IDeploymentStateStore, IAsyncDisposable)> CreateAsync() => TempDatabase.ForAsync<IDeploymentStateStore>(database => new SqliteDeploymentStore(database, TimeProvider.System));
}

[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class PostgresDeploymentStoreTests(PostgresServer server) : DeploymentStoreContractTests
{
    protected override Task<(IDeploymentStateStore, IAsyncDisposable)> CreateAsync() => server.ForAsync<IDeploymentStateStore>(database => new PostgresDeploymentStore(database, TimeProvider.System));
}
