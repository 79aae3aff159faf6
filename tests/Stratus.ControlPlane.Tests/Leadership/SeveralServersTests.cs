using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Stratus.ControlPlane.Hosting;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Leadership;

/// <summary>
/// Two control planes on one real PostgreSQL database: the one that does not lead still serves the leader's route
/// table, and a change made through it reaches the leader at once through the store's change signal (the leader's
/// own period is set to ten minutes here, so nothing else could wake it).
/// </summary>
[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class SeveralServersTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-servers-{Guid.NewGuid():N}");
    private string _database = string.Empty;
    private string _store = string.Empty;

    public async Task InitializeAsync() => (_database, _store) = await postgres.CreateEmptyDatabaseAsync();

    public async Task DisposeAsync()
    {
        ChildProcesses.KillMatching(_data);
        NpgsqlConnection.ClearAllPools();
        await postgres.DropAsync(_database);
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private Task<ControlPlaneHost> StartAsync() => ControlPlaneHost.StartAsync(
        new ControlPlaneOptions
        {
            DataDirectory = _data,
            Store = _store,
            Port = 0,
            ReconcilePeriod = TimeSpan.FromMinutes(10),
            Replica = Support.TestReplicas.Executable,
        },
        logging => { });

    [Fact]
    public async Task ChangeSignal_OneServerSignals_AnotherServerHearsIt()
    {
        await using var one = await PostgresDatabase.OpenAsync(_store);
        await using var other = await PostgresDatabase.OpenAsync(_store);
        var heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var listening = new PostgresChangeSignal(one, NullLogger.Instance).ListenAsync(() => heard.TrySetResult(), stop.Token);

        // The listener may not be listening yet when the first signal goes: signal until it hears one.
        var signal = new PostgresChangeSignal(other, NullLogger.Instance);
        await Eventually.HoldsAsync(
            async () =>
            {
                await signal.SignalAsync();
                return heard.Task.IsCompleted;
            },
            "the other server heard the signal",
            seconds: 30);
        await stop.CancelAsync();
        await listening;
    }

    [Fact]
    public async Task Deploy_ThroughTheServerThatDoesNotLead_TheLeaderActsAtOnceAndBothServeItsRoutes()
    {
        await using var leader = await StartAsync();
        await Eventually.HoldsAsync(() => leader.Election.Leading is not null, "the first server leads");
        await using var follower = await StartAsync();
        Assert.Null(follower.Election.Leading);

        using var http = new HttpClient { BaseAddress = follower.Address, Timeout = TimeSpan.FromSeconds(90) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(leader.AdminTokenPath)).Trim());
        using (var model = new StreamContent(File.OpenRead(RepositoryFiles.Model("credit-risk.onnx"))))
        {
            Assert.True((await http.PostAsync("api/v1/models/credit-risk", model)).IsSuccessStatusCode);
        }

        using var spec = new StringContent("""{"model":"credit-risk","version":1,"replicas":1,"placement":{"allowedClouds":["local-us"]}}""", Encoding.UTF8, "application/json");
        Assert.True((await http.PutAsync("api/v1/deployments/risk", spec)).IsSuccessStatusCode);

        // The follower serves the table the leader stored, with the leader's version.
        var endpoints = await RouteWatch.WaitForEndpointsAsync(http, "risk", 1);
        Assert.Single(endpoints);
        await Eventually.HoldsAsync(
            async () => (await http.GetFromJsonAsync<JsonElement>("api/v1/routes")).GetProperty("version").GetInt64() == (await leader.RouteStore.GetAsync())!.Version,
            "the follower serves the stored table's version");
        var status = await http.GetFromJsonAsync<JsonElement>("api/v1/leader");
        Assert.False(status.GetProperty("leading").GetBoolean());
        Assert.Equal(leader.Election.Holder, status.GetProperty("leader").GetString());
    }
}
