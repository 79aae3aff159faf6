using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Store;

/// <summary>What every lease store must do; each store's tests subclass this.</summary>
public abstract class LeaseStoreContractTests : StoreContractTests<ILeaseStore>
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    protected ILeaseStore Leases => Store;

    /// <summary>Takes the lease for <paramref name="holder"/> as soon as the current one has expired (by the store's clock).</summary>
    private async Task<Lease> AcquireOnceExpiredAsync(string holder)
    {
        Lease? taken = null;
        await Eventually.HoldsAsync(async () => (taken = await Leases.TryAcquireAsync("leader", holder, Long)) is not null, $"{holder} takes the expired lease", seconds: 10);
        return taken!;
    }

    [Fact]
    public async Task TryAcquire_NewLease_IsEpochOneUntilTheTtl()
    {
        var before = DateTimeOffset.UtcNow;

        var lease = await Leases.TryAcquireAsync("leader", "a", Long);

        Assert.NotNull(lease);
        Assert.Equal(("leader", "a", 1L), (lease.Name, lease.Holder, lease.Epoch));
        Assert.InRange(lease.ExpiresAt, before.AddMinutes(4), before.AddMinutes(6));
        Assert.Equal(lease, await Leases.GetAsync("leader"));
    }

    [Fact]
    public async Task Get_NeverTaken_IsNull() => Assert.Null(await Leases.GetAsync("leader"));

    [Fact]
    public async Task TryAcquire_RenewalByTheHolder_KeepsTheEpochAndExtends()
    {
        var first = await Leases.TryAcquireAsync("leader", "a", TimeSpan.FromMinutes(1));

        var renewed = await Leases.TryAcquireAsync("leader", "a", Long);

        Assert.NotNull(first);
        Assert.NotNull(renewed);
        Assert.Equal(1, renewed.Epoch);
        Assert.True(renewed.ExpiresAt > first.ExpiresAt.AddMinutes(3), $"{renewed.ExpiresAt:O} extends {first.ExpiresAt:O}");
    }

    [Fact]
    public async Task TryAcquire_AnotherHolderWhileLive_IsRefusedAndChangesNothing()
    {
        var held = await Leases.TryAcquireAsync("leader", "a", Long);

        Assert.Null(await Leases.TryAcquireAsync("leader", "b", Long));
        Assert.Equal(held, await Leases.GetAsync("leader"));
    }

    [Fact]
    public async Task TryAcquire_AfterExpiry_AnotherHolderTakesOverWithTheNextEpoch()
    {
        Assert.NotNull(await Leases.TryAcquireAsync("leader", "a", TimeSpan.FromMilliseconds(300)));

        var taken = await AcquireOnceExpiredAsync("b");

        Assert.Equal(("b", 2L), (taken.Holder, taken.Epoch));
        Assert.Null(await Leases.TryAcquireAsync("leader", "a", Long));
    }

    [Fact]
    public async Task TryAcquire_LeasesAreIndependentByName()
    {
        Assert.NotNull(await Leases.TryAcquireAsync("leader", "a", Long));

        var other = await Leases.TryAcquireAsync("autoscaler", "b", Long);

        Assert.Equal(("b", 1L), (other?.Holder, other?.Epoch));
    }

    [Fact]
    public async Task Release_ByTheHolder_ExpiresItAtOnceKeepingTheEpoch()
    {
        await Leases.TryAcquireAsync("leader", "a", Long);

        await Leases.ReleaseAsync("leader", "a");

        var released = await Leases.GetAsync("leader");
        Assert.Equal(("a", 1L), (released?.Holder, released?.Epoch));
        Assert.True(released!.ExpiresAt < DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(("b", 2L), await Leases.TryAcquireAsync("leader", "b", Long) is { } taken ? (taken.Holder, taken.Epoch) : default);
    }

    [Fact]
    public async Task Release_ByAnotherHolder_ChangesNothing()
    {
        var held = await Leases.TryAcquireAsync("leader", "a", Long);

        await Leases.ReleaseAsync("leader", "b");

        Assert.Equal(held, await Leases.GetAsync("leader"));
        Assert.Null(await Leases.TryAcquireAsync("leader", "b", Long));
    }

    [Fact]
    public async Task TryAcquire_SameHolderAfterItsLeaseLapsed_StartsANewEpoch()
    {
        await Leases.TryAcquireAsync("leader", "a", Long);
        await Leases.ReleaseAsync("leader", "a");

        var again = await Leases.TryAcquireAsync("leader", "a", Long);

        Assert.Equal(2, again?.Epoch);
    }

    [Fact]
    public async Task TryAcquire_Concurrently_HasExactlyOneWinner()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => Leases.TryAcquireAsync("leader", $"server-{i}", Long))));

        var winner = Assert.Single(results, r => r is not null);
        Assert.Equal(1, winner!.Epoch);
        Assert.Equal(winner, await Leases.GetAsync("leader"));
    }
}

public sealed class SqliteLeaseStoreTests : LeaseStoreContractTests
{
    protected override Task<(ILeaseStore, IAsyncDisposable)> CreateAsync() => TempDatabase.ForAsync<ILeaseStore>(database => new SqliteLeaseStore(database));
}

[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class PostgresLeaseStoreTests(PostgresServer server) : LeaseStoreContractTests
{
    protected override Task<(ILeaseStore, IAsyncDisposable)> CreateAsync() => server.ForAsync<ILeaseStore>(database => new PostgresLeaseStore(database));
}
