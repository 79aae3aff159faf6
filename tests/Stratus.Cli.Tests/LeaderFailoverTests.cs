using System.Net.Http.Headers;
using System.Text;
using Stratus.Cli.Tests.Support;
using Stratus.Client;
using Stratus.Testing;
using Xunit.Abstractions;

namespace Stratus.Cli.Tests;

/// <summary>
/// Three <c>stratus server</c> processes on one real PostgreSQL and a <c>stratus gateway</c> process following all
/// three: the leader is killed with SIGKILL while a deployment is scaling, keys are being created through another
/// server and inference runs through the gateway. Another server takes over; no acknowledged change is lost, no
/// replica runs twice or unowned, the audit chain verifies, and no caller sees a failure.
/// </summary>
[Trait("Category", "Process")]
[Trait("Category", "Postgres")]
[Collection(PostgresServer.Collection)]
public sealed class LeaderFailoverTests(PostgresServer postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-ha-{Guid.NewGuid():N}");
    private readonly List<StratusProcess> _processes = [];
    private readonly List<StratusClient> _clients = [];
    private string _database = string.Empty;
    private string _store = string.Empty;

    private ProcessTls _tls = null!;

    public async Task InitializeAsync()
    {
        (_database, _store) = await postgres.CreateEmptyDatabaseAsync();
        _tls = ProcessTls.ForDataDirectory(_data);
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        ChildProcesses.KillMatching(_data);
        Npgsql.NpgsqlConnection.ClearAllPools();
        await postgres.DropAsync(_database);
        Directory.Delete(_data, recursive: true);
    }

    private async Task<StratusProcess> ServerAsync()
    {
        var server = await StratusProcess.StartAsync("server", "--data-dir", _data, "--store", _store, "--port", "0");
        _processes.Add(server);
        return server;
    }

    private string AdminToken => File.ReadAllText(Path.Combine(_data, "admin.token")).Trim();

    private static async Task<bool> LeadsAsync(StratusClient server)
    {
        try
        {
            return (await server.GetLeaderAsync()).Leading;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Replica processes of this test's clouds, by replica id (their command line names the artifact under the data folder).</summary>
    private List<string> ReplicaProcesses() => [.. ChildProcesses.CommandLines(c =>
            c.Contains(_data, StringComparison.Ordinal) && c.Contains(" replica ", StringComparison.Ordinal) && !c.Contains(" server ", StringComparison.Ordinal))
        .Select(c => c.Split(' ').SkipWhile(a => a != "--ready-file").Skip(1).First())
        .Select(ready => Path.GetFileNameWithoutExtension(ready) ?? ready)];

    [Fact]
    public async Task Leader_KilledWhileDeploymentsChange_AnotherTakesOverAndNothingIsLostOrDoubled()
    {
        var servers = new List<StratusProcess> { await ServerAsync() };
        servers.Add(await ServerAsync());
        servers.Add(await ServerAsync());
        _clients.AddRange(servers.Select(s => new StratusClient(s.Address, AdminToken, _tls.Trust.CreateHandler())));
        var first = _clients[0];
        await using (var model = File.OpenRead(RepositoryFiles.Model("credit-risk.onnx")))
        {
            await first.PushModelAsync("credit-risk", model);
        }

        await first.DeployAsync("risk", "credit-risk", 1, 2, placement: new() { AllowedClouds = ["local-us"] });
        var callerKey = (await first.CreateKeyAsync("risk", "the load")).Key;
        await first.WaitForReadyAsync("risk", 2, TimeSpan.FromSeconds(90));

        var gateway = await StratusProcess.StartAsync("gateway", "--server", string.Join(',', servers.Select(s => s.Address.ToString().TrimEnd('/'))), "--token", AdminToken, "--port", "0", "--tls-dir", _tls.IssueGateway("gateway"));
        _processes.Add(gateway);

        // Callers through the gateway all along.
        using var stop = new CancellationTokenSource();
        var body = await File.ReadAllTextAsync(RepositoryFiles.Model("credit-risk.request.json"));
        var answered = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var callers = _tls.HttpClient(gateway.Address);
        callers.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", callerKey);
        await Eventually.HoldsAsync(async () => (await callers.PostAsync("v2/models/risk/infer", new StringContent(body, Encoding.UTF8, "application/json"))).IsSuccessStatusCode, "the gateway answers");
        async Task CallAsync()
        {
            for (var begun = System.Diagnostics.Stopwatch.GetTimestamp(); LoadBound.GoesOn(begun, stop.Token);)
            {
                try
                {
                    using var response = await callers.PostAsync("v2/models/risk/infer", new StringContent(body, Encoding.UTF8, "application/json"), CancellationToken.None);
                    if (response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref answered);
                    }
                    else
                    {
                        failures.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue(e.Message);
                }
            }
        }

        var load = Task.WhenAll(CallAsync(), CallAsync());

        // Changes through a server that does not lead, all along: every one it acknowledges must survive.
        await Eventually.HoldsAsync(async () => (await Task.WhenAll(_clients.Select(LeadsAsync))).Count(l => l) == 1, "exactly one server leads");
        var leader = (await Task.WhenAll(_clients.Select(LeadsAsync))).ToList().IndexOf(true);
        var writer = Enumerable.Range(0, 3).First(i => i != leader);
        var writerClient = _clients[writer];
        var acknowledged = new List<string>();
        async Task WriteAsync()
        {
            for (var i = 0; i < 400 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    acknowledged.Add((await writerClient.CreateKeyAsync("risk", $"key {i}", CancellationToken.None)).Id);
                }
                catch (StratusApiException e)
                {
                    failures.Enqueue($"a change through a surviving server failed: {e.Message}");
                }
            }
        }

        var writing = WriteAsync();

        // The leader dies while the deployment scales from 2 to 3.
        await writerClient.ScaleAsync("risk", 3);
        await Eventually.HoldsAsync(() => ReplicaProcesses().Count > 2, "the third replica's process started");
        await servers[leader].KillAsync();
        var killedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        var survivors = _clients.Where((_, i) => i != leader).ToList();
        await Eventually.HoldsAsync(async () => (await Task.WhenAll(survivors.Select(LeadsAsync))).Count(l => l) == 1, "a surviving server leads", seconds: 30);
        var takeover = System.Diagnostics.Stopwatch.GetElapsedTime(killedAt);

        // The new leader finishes the scale-up, and a change after the failover is acted on too.
        await writerClient.WaitForReadyAsync("risk", 3, TimeSpan.FromSeconds(90));
        await stop.CancelAsync();
        await writing;
        var lastKey = await writerClient.CreateKeyAsync("risk", "after the failover");
        acknowledged.Add(lastKey.Id);
        using var lastCaller = _tls.HttpClient(gateway.Address);
        lastCaller.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", lastKey.Key);
        await Eventually.HoldsAsync(async () => (await lastCaller.PostAsync("v2/models/risk/infer", new StringContent(body, Encoding.UTF8, "application/json"))).IsSuccessStatusCode, "a key made after the failover works at the gateway");
        await load;

        // Exactly three replica processes, each a replica the store knows, none twice.
        await Eventually.HoldsAsync(() => ReplicaProcesses().Count == 3, "exactly three replica processes run");
        var processes = ReplicaProcesses();
        var records = (await writerClient.ListReplicasAsync()).Where(r => r.Deployment == "risk").ToList();
        var keys = (await writerClient.ListKeysAsync("risk")).Select(k => k.Id).ToHashSet();
        var audit = await writerClient.VerifyAuditAsync();
        output.WriteLine($"takeover {takeover.TotalSeconds:0.00} s after SIGKILL; {acknowledged.Count} changes acknowledged, {acknowledged.Count(id => !keys.Contains(id))} lost; {processes.Count} replica processes ({processes.Count - processes.Distinct().Count()} doubled, {processes.Count(p => records.All(r => r.Id != p))} unowned); {answered} answered, {failures.Count} failed; audit intact {audit.Intact}");
        Assert.True(failures.IsEmpty, string.Join(" | ", failures.Take(5)));
        Assert.True(answered > 0);
        Assert.DoesNotContain(acknowledged, id => !keys.Contains(id));
        Assert.Equal(processes.Count, processes.Distinct().Count());
        Assert.All(processes, p => Assert.Contains(records, r => r.Id == p && r.State == Stratus.Core.Deployments.ReplicaState.Ready));
        Assert.True(audit.Intact, audit.Reason);
        Assert.True(takeover < TimeSpan.FromSeconds(15), $"took over after {takeover.TotalSeconds:0.0} s");
    }
}
