using System.Text.Json;
using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.Core.Deployments;
using Stratus.Core.Routing;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Store;

/// <summary>
/// What every store's writes must do under <see cref="Fencing"/>: land under the token in force, and be refused with
/// nothing written under a token whose lease has lapsed or moved on. Each provider's tests subclass this.
/// </summary>
public abstract class FencingContractTests : StoreContractTests<FencingContractTests.Stores>
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    private static readonly Dictionary<string, Func<Stores, Task>> Writes = new()
    {
        ["deployment put"] = s => s.Deployments.PutAsync(new Deployment("fraud", "fraud", 1, 1, "cpu-small")),
        ["deployment delete"] = s => s.Deployments.DeleteAsync("risk"),
        ["replica put"] = s => s.Deployments.PutReplicaAsync(new ReplicaRecord("risk-2", "risk", "local-us", "cpu-small", ReplicaState.Pending, null, null)),
        ["replica delete"] = s => s.Deployments.DeleteReplicaAsync("risk-1"),
        ["rollout put"] = s => s.Deployments.PutRolloutAsync(new Rollout("risk", RolloutStrategy.Canary, 1, 2, 2, 0, DateTimeOffset.UnixEpoch, RolloutState.Progressing, "started")),
        ["audit append"] = s => s.Audit.AppendAsync("reconciler", "replica.launch", "risk-2", null, null),
        ["route publish"] = s => s.Routes.PublishAsync([new Route("risk", "credit-risk", 1, [])], 0),
    };

    /// <summary>Each way a token can be out of date: it sets up the lease and returns the token the old leader still holds.</summary>
    private static readonly Dictionary<string, Func<ILeaseStore, Task<FencingToken>>> BadTokens = new()
    {
        ["stale epoch"] = async leases =>
        {
            await leases.TryAcquireAsync("leader", "a", Long);
            await leases.ReleaseAsync("leader", "a");
            await leases.TryAcquireAsync("leader", "a", Long);
            return new FencingToken("leader", "a", 1);
        },
        ["another holder"] = async leases =>
        {
            await leases.TryAcquireAsync("leader", "a", Long);
            return new FencingToken("leader", "b", 1);
        },
        ["expired lease"] = async leases =>
        {
            await leases.TryAcquireAsync("leader", "a", Long);
            await leases.ReleaseAsync("leader", "a");
            return new FencingToken("leader", "a", 1);
        },
        ["taken over"] = async leases =>
        {
            await leases.TryAcquireAsync("leader", "a", Long);
            await leases.ReleaseAsync("leader", "a");
            await leases.TryAcquireAsync("leader", "b", Long);
            return new FencingToken("leader", "a", 1);
        },
        ["never taken"] = _ => Task.FromResult(new FencingToken("leader", "a", 1)),
    };

    protected override async Task SeedAsync()
    {
        await Store.Deployments.PutAsync(new Deployment("risk", "credit-risk", 1, 1, "cpu-small"));
        await Store.Deployments.PutReplicaAsync(new ReplicaRecord("risk-1", "risk", "local-us", "cpu-small", ReplicaState.Ready, null, null));
    }

    public static TheoryData<string> WriteNames => [.. Writes.Keys];

    public static TheoryData<string, string> BadTokenWrites
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var token in BadTokens.Keys)
            {
                foreach (var write in Writes.Keys)
                {
                    data.Add(token, write);
                }
            }

            return data;
        }
    }

    /// <summary>Everything the writes touch, as one string, to show that a refused write changed nothing.</summary>
    private async Task<string> SnapshotAsync() => JsonSerializer.Serialize(new
    {
        Deployments = await Store.Deployments.ListAsync(),
        Replicas = await Store.Deployments.ListReplicasAsync(),
        Rollouts = await Store.Deployments.ListRolloutsAsync(),
        Audit = await Store.Audit.ListAsync(),
        Routes = await Store.Routes.GetAsync(),
    });

    [Theory]
    [MemberData(nameof(WriteNames))]
    public async Task Write_UnderTheCurrentToken_Lands(string write)
    {
        var lease = await Store.Leases.TryAcquireAsync("leader", "a", Long);
        var before = await SnapshotAsync();

        using (Fencing.Enter(new FencingToken("leader", lease!.Holder, lease.Epoch)))
        {
            await Writes[write](Store);
        }

        Assert.NotEqual(before, await SnapshotAsync());
    }

    [Theory]
    [MemberData(nameof(BadTokenWrites))]
    public async Task Write_UnderAnOutOfDateToken_IsFencedAndChangesNothing(string badToken, string write)
    {
        var token = await BadTokens[badToken](Store.Leases);
        var before = await SnapshotAsync();

        using (Fencing.Enter(token))
        {
            var fenced = await Assert.ThrowsAsync<FencedException>(() => Writes[write](Store));
            Assert.Equal(token, fenced.Token);
        }

        Assert.Equal(before, await SnapshotAsync());
    }

    [Theory]
    [MemberData(nameof(WriteNames))]
    public async Task Write_WithoutAToken_IsNotFencedWhileAnotherServerLeads(string write)
    {
        await Store.Leases.TryAcquireAsync("leader", "elsewhere", Long);
        var before = await SnapshotAsync();

        await Writes[write](Store);

        Assert.NotEqual(before, await SnapshotAsync());
    }

    [Fact]
    public async Task Enter_EndsWithItsScope()
    {
        var token = new FencingToken("leader", "a", 1);

        using (Fencing.Enter(token))
        {
            Assert.Equal(token, Fencing.Current);
        }

        Assert.Null(Fencing.Current);
        await Writes["deployment put"](Store);
    }

    public sealed record Stores(ILeaseStore Leases, IDeploymentStateStore Deployments, IAuditLog Audit, IRouteStore Routes);
}

public sealed class SqliteFencingTests : FencingContractTests
{
    protected override Task<(Stores, IAsyncDisposable)> CreateAsync() => TempDatabase.ForAsync(database => new Stores(
        new SqliteLeaseStore(database),
        new SqliteDeploymentStore(database, TimeProvider.System),
        new SqliteAuditLog(database, TimeProvider.System),
        new SqliteRouteStore(database)));
}

[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class PostgresFencingTests(PostgresServer server) : FencingContractTests
{
    protected override Task<(Stores, IAsyncDisposable)> CreateAsync() => server.ForAsync(database => new Stores(
        new PostgresLeaseStore(database),
        new PostgresDeploymentStore(database, TimeProvider.System),
        new PostgresAuditLog(database, TimeProvider.System),
        new PostgresRouteStore(database)));
}
