using Stratus.ControlPlane.Deployments.Consistency;
using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Deployments.Consistency;

/// <summary>What every probe reference store must do; each store's tests subclass this.</summary>
public abstract class ProbeReferenceStoreContractTests : StoreContractTests<IProbeReferenceStore>
{
    protected IProbeReferenceStore References => Store;

    [Fact]
    public async Task SetIfAbsent_FirstWinsAndRoundTripsEveryField()
    {
        var first = new ProbeReference(true, [0.25, -1.5, double.NaN, double.PositiveInfinity], null, "risk-1");

        var stored = await References.SetIfAbsentAsync("model", "probe", first);
        var second = await References.SetIfAbsentAsync("model", "probe", new ProbeReference(false, null, "timed out", "risk-2"));

        Assert.Equal((true, "risk-1", (string?)null), (stored.Answered, stored.Replica, stored.Detail));
        Assert.Equal(first.Answer, stored.Answer);
        Assert.Equal(first.Answer, second.Answer);
        Assert.Equal("risk-1", second.Replica);
    }

    [Fact]
    public async Task List_GivesOneModelsReferencesByProbe()
    {
        await References.SetIfAbsentAsync("model", "p1", new ProbeReference(false, null, "400: bad input", "risk-1"));
        await References.SetIfAbsentAsync("model", "p2", new ProbeReference(true, [1.0], null, "risk-1"));
        await References.SetIfAbsentAsync("other", "p1", new ProbeReference(true, [2.0], null, "fraud-1"));

        var listed = await References.ListAsync("model");

        Assert.Equal(["p1", "p2"], listed.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("400: bad input", listed["p1"].Detail);
        Assert.Equal([1.0], listed["p2"].Answer!);
        Assert.Empty(await References.ListAsync("nothing"));
    }

    [Fact]
    public async Task SetIfAbsent_Concurrently_AllSeeTheSameReference()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => References.SetIfAbsentAsync("model", "probe", new ProbeReference(true, [i], null, $"risk-{i}")))));

        Assert.Single(results.Select(r => r.Replica).Distinct());
        Assert.Equal(results[0].Replica, (await References.ListAsync("model"))["probe"].Replica);
    }
}

public sealed class SqliteProbeReferenceStoreTests : ProbeReferenceStoreContractTests
{
    protected override Task<(IProbeReferenceStore, IAsyncDisposable)> CreateAsync() => TempDatabase.ForAsync<IProbeReferenceStore>(database => new SqliteProbeReferenceStore(database, TimeProvider.System));
}

[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class PostgresProbeReferenceStoreTests(PostgresServer server) : ProbeReferenceStoreContractTests
{
    protected override Task<(IProbeReferenceStore, IAsyncDisposable)> CreateAsync() => server.ForAsync<IProbeReferenceStore>(database => new PostgresProbeReferenceStore(database, TimeProvider.System));
}
