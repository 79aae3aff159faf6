using System.Text.Json;
using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.Core.Routing;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Store;

/// <summary>What every route store must do; each store's tests subclass this.</summary>
public abstract class RouteStoreContractTests : StoreContractTests<IRouteStore>
{
    protected IRouteStore Routes => Store;

    private static Route Risk(params string[] replicas) =>
        new("risk", "credit-risk", 2, [.. replicas.Select(id => new RouteEndpoint(id, "local-us", new Uri($"http://127.0.0.1:9{id.Length:000}/")) { Region = "us-east", ModelVersion = 2 })])
        {
            Public = true,
            KeyHashes = ["aa11", "bb22"],
            Weights = [new VersionWeight(1, 90), new VersionWeight(2, 10)],
            ScalesFromZero = true,
            Shadow = new ShadowRoute(3, 5, 0.001, 0.01),
            RecordProbes = 4,
        };

    private static string Json(RouteTable table) => JsonSerializer.Serialize(table);

    [Fact]
    public async Task Get_NothingPublished_IsNull() => Assert.Null(await Routes.GetAsync());

    [Fact]
    public async Task Publish_RoundTripsEveryField()
    {
        var published = await Routes.PublishAsync([Risk("r-1", "r-22"), new Route("fraud", "fraud", 1, [])], atLeastVersion: 0);

        var stored = await Routes.GetAsync();

        Assert.NotNull(stored);
        Assert.Equal(1, published.Version);
        Assert.Equal(Json(published), Json(stored));
        Assert.True(stored.SameRoutesAs(published));
    }

    [Fact]
    public async Task Publish_SameRoutesInAnotherOrder_KeepsTheStoredTable()
    {
        var first = await Routes.PublishAsync([Risk("r-1", "r-22")], atLeastVersion: 5);

        var again = await Routes.PublishAsync([Risk("r-22", "r-1")], atLeastVersion: 9);

        Assert.Equal(5, first.Version);
        Assert.Equal(5, again.Version);
        Assert.Equal(Json(first), Json(again));
        Assert.Equal(5, (await Routes.GetAsync())?.Version);
    }

    [Fact]
    public async Task Publish_ChangedRoutes_GetAHigherVersionAtLeastTheOneAskedFor()
    {
        var first = await Routes.PublishAsync([Risk("r-1")], atLeastVersion: 0);
        var jumped = await Routes.PublishAsync([Risk("r-1", "r-2")], atLeastVersion: 40);
        var next = await Routes.PublishAsync([Risk("r-2")], atLeastVersion: 3);

        Assert.Equal([1L, 40L, 41L], [first.Version, jumped.Version, next.Version]);
        Assert.Equal(["r-2"], (await Routes.GetAsync())!.Routes.Single().Endpoints.Select(e => e.ReplicaId));
    }

    [Fact]
    public async Task Publish_Concurrently_NeverReusesAVersion()
    {
        var tables = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => Routes.PublishAsync([Risk($"r-{i}")], atLeastVersion: 0))));

        Assert.Equal(12, tables.Select(t => t.Version).Distinct().Count());
        var stored = await Routes.GetAsync();
        Assert.Equal(tables.Max(t => t.Version), stored?.Version);
        Assert.Equal(Json(tables.MaxBy(t => t.Version)!), Json(stored!));
    }
}

public sealed class SqliteRouteStoreTests : RouteStoreContractTests
{
    protected override Task<(IRouteStore, IAsyncDisposable)> CreateAsync() => TempDatabase.ForAsync<IRouteStore>(database => new SqliteRouteStore(database));
}

[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class PostgresRouteStoreTests(PostgresServer server) : RouteStoreContractTests
{
    protected override Task<(IRouteStore, IAsyncDisposable)> CreateAsync() => server.ForAsync<IRouteStore>(database => new PostgresRouteStore(database));
}
