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
    // Short, but with room for a renewal held up on a busy machine: a lease lost to a slow renewal is legitimate, and
    // the assertions allow it (a new epoch), but it should be rare.
    private static readonly LeadershipOptions Fast = new() { Ttl = TimeSpan.FromSeconds(2), RenewEvery = TimeSpan.FromMilliseconds(200) };
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

        /// <summary>The last token its work ran under.</summary>
        public FencingToken Last
        {
            get
            {
                lock (LedUnder)
                {
                    return LedUnder[^1];
                }
            }
        }

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

        // b asks many times while a renews: the two never lead at once.
        for (var i = 0; i < 15; i++)
        {
            Assert.False(a.Working && b.Working, "a and b lead at once");
            await Task.Delay(Fast.RenewEvery);
        }

        Assert.True(a.Working, "a kept the lease it renews");
        await a.StopAsync();
        Assert.False(a.Working);
        await Stratus.Testing.Eventually.HoldsAsync(() => b.Working, "b leads once a has stopped");
        var lease = await leases.GetAsync(Fast.LeaseName);
        Assert.Equal("b", lease!.Holder);
        Assert.True(b.Last.Epoch > a.Last.Epoch, $"b leads at epoch {b.Last.Epoch}, after a's {a.Last.Epoch}");
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

        // a can no longer reach the store: it stops its work before its lease lapses, and b takes over after it has.
        cutOff.Cut = true;
        await Stratus.Testing.Eventually.HoldsAsync(() => !a.Working, "a stopped leading", seconds: 10);
        await Stratus.Testing.Eventually.HoldsAsync(() => b.Working, "b leads after a's lease lapsed", seconds: 10);
        var aToken = a.Last;
        Assert.True(b.Last.Epoch > aToken.Epoch, $"b leads at epoch {b.Last.Epoch}, after a's {aToken.Epoch}");

        // Had a been paused rather than cut off, a write it made on waking would carry its old token: refused.
        var store = new SqliteDeploymentStore(_database.Database, TimeProvider.System);
        using (Fencing.Enter(aToken))
        {
            await Assert.ThrowsAsync<FencedException>(() => store.PutAsync(new Deployment("stale", "m", 1, 1, "cpu-small")));
        }

        using (Fencing.Enter(b.Last))
        {
            await store.PutAsync(new Deployment("current", "m", 1, 1, "cpu-small"));
        }

        Assert.Equal(["current"], (await store.ListAsync()).Select(d => d.Name));
    }
}
