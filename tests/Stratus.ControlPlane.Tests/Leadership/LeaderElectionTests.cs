using Microsoft.Extensions.Logging.Abstractions;
using Stratus.ControlPlane.Leadership;
using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Sqlite;
using Stratus.ControlPlane.Tests.Store;
using Stratus.Core.Deployments;

namespace Stratus.ControlPlane.Tests.Leadership;

/// <summary>
/// Servers competing for the control-plane lease in one real SQLite file: one leads at a time, a stopped leader hands
/// over at once, a leader that can no longer renew stops its work, and the writes of a deposed leader are fenced.
/// </summary>
public sealed class LeaderElectionTests : IAsyncLifetime
{
    private static readonly LeadershipOptions Fast = new() { Ttl = TimeSpan.FromMilliseconds(900), RenewEvery = TimeSpan.FromMilliseconds(150) };
    private TempDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TempDatabase.CreateAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    /// <summary>A server's election and what its leader's work saw: the tokens it led under, and whether it is running now.</summary>
    private sealed class Server(ILeaseStore leases, string name) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _running = Task.CompletedTask;
        private int _working;

        public LeaderElection Election { get; } = new(leases, name, Fast, TimeProvider.System, NullLogger.Instance);

        public List<FencingToken> LedUnder { get; } = [];

        public bool Working => Volatile.Read(ref _working) == 1;

        public void Start() => _running = Election.RunAsync(
            async (token, leading) =>
            {
                lock (LedUnder)
                {
                    LedUnder.Add(token);
                }

                Interlocked.Exchange(ref _working, 1);
                try
                {
                    await Task.Delay(Timeout.Infinite, leading);
                }
                finally
                {
                    Interlocked.Exchange(ref _working, 0);
                }
            },
            _stop.Token);

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _running;
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }
    }

    /// <summary>A lease store whose answers can be cut off for one server, as a network partition or a long pause would.</summary>
    private sealed class Partitionable(ILeaseStore inner) : ILeaseStore
    {
        public volatile bool Cut;

        public Task<Lease?> TryAcquireAsync(string name, string holder, TimeSpan ttl, CancellationToken cancellationToken = default) =>
            Cut ? Task.FromException<Lease?>(new TimeoutException("partitioned")) : inner.TryAcquireAsync(name, holder, ttl, cancellationToken);

        public Task<Lease?> GetAsync(string name, CancellationToken cancellationToken = default) => inner.GetAsync(name, cancellationToken);

        public Task ReleaseAsync(string name, string holder, CancellationToken cancellationToken = default) =>
            Cut ? Task.FromException(new TimeoutException("partitioned")) : inner.ReleaseAsync(name, holder, cancellationToken);
    }

    [Fact]
    public async Task RunAsync_TwoServers_ExactlyOneLeadsAndAStoppedLeaderHandsOverAtOnce()
    {
        var leases = new SqliteLeaseStore(_database.Database);
        await using var a = new Server(leases, "a");
        await using var b = new Server(leases, "b");
        a.Start();
        await Stratus.Testing.Eventually.HoldsAsync(() => a.Working, "a leads");
        b.Start();

        // b asks several times while a renews: it never leads beside a.
        for (var i = 0; i < 10; i++)
        {
            Assert.False(b.Working);
            Assert.Null(b.Election.Leading);
            await Task.Delay(Fast.RenewEvery);
        }

        await a.StopAsync();
        Assert.False(a.Working);
        await Stratus.Testing.Eventually.HoldsAsync(() => b.Working, "b leads once a has stopped");
        var lease = await leases.GetAsync(Fast.LeaseName);
        Assert.Equal("b", lease!.Holder);
        Assert.Equal(a.LedUnder.Single().Epoch + 1, b.LedUnder.Single().Epoch);
    }

    [Fact]
    public async Task RunAsync_ALeaderThatCannotRenew_StopsItsWorkAndItsWritesAreFencedOnceAnotherLeads()
    {
        var leases = new SqliteLeaseStore(_database.Database);
        var cutOff = new Partitionable(leases);
        await using var a = new Server(cutOff, "a");
        await using var b = new Server(leases, "b");
        a.Start();
        await Stratus.Testing.Eventually.HoldsAsync(() => a.Working, "a leads");
        b.Start();
        var aToken = a.LedUnder.Single();

        // a can no longer reach the store: it stops its work before its lease lapses, and b takes over after it has.
        cutOff.Cut = true;
        await Stratus.Testing.Eventually.HoldsAsync(() => !a.Working, "a stopped leading", seconds: 10);
        await Stratus.Testing.Eventually.HoldsAsync(() => b.Working, "b leads after a's lease lapsed", seconds: 10);
        Assert.Equal(aToken.Epoch + 1, b.LedUnder.Single().Epoch);

        // Had a been paused rather than cut off, a write it made on waking would carry its old token: refused.
        var store = new SqliteDeploymentStore(_database.Database, TimeProvider.System);
        using (Fencing.Enter(aToken))
        {
            await Assert.ThrowsAsync<FencedException>(() => store.PutAsync(new Deployment("stale", "m", 1, 1, "cpu-small")));
        }

        using (Fencing.Enter(b.LedUnder.Single()))
        {
            await store.PutAsync(new Deployment("current", "m", 1, 1, "cpu-small"));
        }

        Assert.Equal(["current"], (await store.ListAsync()).Select(d => d.Name));
    }
}
