using Stratus.ControlPlane.Hosting;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Routing;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Hosting;

/// <summary>Two control planes on one PostgreSQL database, each with its own data folder, see one lease and one route table.</summary>
[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class ControlPlaneHostStoreTests(PostgresServer server)
{
    // The leading host publishes its own route table at its first pass and then only every ten minutes, so that the
    // table this test publishes is not replaced by the leader's while the test reads it.
    private static Task<ControlPlaneHost> StartAsync(string data, string? store) => ControlPlaneHost.StartAsync(
        new ControlPlaneOptions { DataDirectory = data, Port = 0, Store = store, Replica = Support.TestReplicas.Executable, ReconcilePeriod = TimeSpan.FromMinutes(10) },
        logging => { });

    [Fact]
    public async Task Start_TwoServersOnOnePostgresStore_ShareLeasesAndRoutes()
    {
        await using var database = await server.CreateDatabaseAsync();
        await using var firstData = new TempFolder();
        await using var secondData = new TempFolder();
        await using var first = await StartAsync(firstData.Path, database.ConnectionString);
        await using var second = await StartAsync(secondData.Path, database.ConnectionString);
        await Eventually.HoldsAsync(async () => await first.RouteStore.GetAsync() is not null, "the leading host published its first route table");

        var lease = await first.Leases.TryAcquireAsync("leader", "first", TimeSpan.FromMinutes(1));
        var table = await first.RouteStore.PublishAsync([new Route("risk", "credit-risk", 1, [])], atLeastVersion: 0);

        Assert.Null(await second.Leases.TryAcquireAsync("leader", "second", TimeSpan.FromMinutes(1)));
        Assert.Equal(lease, await second.Leases.GetAsync("leader"));
        Assert.Equal(table.Version, (await second.RouteStore.GetAsync())?.Version);
        Assert.False(File.Exists(Path.Combine(firstData.Path, "stratus.db")));
    }

    [Fact]
    public async Task Start_WithoutAStore_UsesSqliteInTheDataDirectory()
    {
        await using var data = new TempFolder();
        await using (var host = await StartAsync(data.Path, store: null))
        {
            Assert.Equal(1, (await host.Leases.TryAcquireAsync("leader", "only", TimeSpan.FromMinutes(1)))?.Epoch);
        }

        Assert.True(File.Exists(Path.Combine(data.Path, "stratus.db")));
    }
}
