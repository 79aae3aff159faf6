using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Providers;
using Stratus.Inference.Server;

namespace Stratus.ControlPlane.Tests.Support;

/// <summary>
/// One cloud as <see cref="InMemoryCloudProvider"/>s see it: the replicas it runs (each a real <see cref="ReplicaHost"/>,
/// Kestrel and ONNX Runtime on a loopback port of this process), its emulated outage, refusal and faults, and whether
/// its API answers. It is the cloud's state, not a provider's: several providers over one cloud see the same replicas
/// and share its capacity, as control planes restarted over one real cloud do. Disposing it stops what it runs.
/// </summary>
internal sealed class InMemoryCloud : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Replica> _replicas = new(StringComparer.Ordinal);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"stratus-memory-cloud-{Guid.NewGuid():N}");
    private TaskCompletionSource? _hold;
    private int _holding;
    private int _launches;

    public InMemoryCloud()
    {
        Directory.CreateDirectory(_folder);
        Faults = new EmulatedFaultsFile(Path.Combine(_folder, "faults.json"));
    }

    /// <summary>The faults its replicas follow (the file a replica host re-reads, as a local cloud's replicas do).</summary>
    public EmulatedFaultsFile Faults { get; }

    public bool IsOut { get; private set; }

    public EmulatedRefusal? Refusal { get; set; }

    /// <summary>
    /// While set, the cloud's API does not answer: listing, launching and stopping throw a
    /// <see cref="ProvisioningException"/> of scope <see cref="ProvisioningScope.Cloud"/>. What runs keeps running.
    /// </summary>
    public bool Unreachable { get; set; }

    /// <summary>Every launch asked of the cloud, refused or not.</summary>
    public int Launches => Volatile.Read(ref _launches);

    /// <summary>Launches held by <see cref="HoldLaunches"/>: their place is taken and they are listed as starting.</summary>
    public int Holding => Volatile.Read(ref _holding);

    /// <summary>What the cloud's replicas load instead of the artifact they were launched with (a cloud that lies); null for none.</summary>
    public string? LoadsInstead { get; set; }

    /// <summary>Launches from now on take their place and wait, listed as starting, until <see cref="ReleaseLaunches"/>.</summary>
    public void HoldLaunches()
    {
        lock (_gate)
        {
            _hold ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void ReleaseLaunches()
    {
        TaskCompletionSource? hold;
        lock (_gate)
        {
            (hold, _hold) = (_hold, null);
        }

        hold?.TrySetResult();
    }

    /// <summary>The replica's server stops as a container's process ends by itself: the cloud still lists it, with why.</summary>
    public async Task ExitAsync(string replicaId, int exitCode)
    {
        ReplicaHost? host;
        lock (_gate)
        {
            var replica = _replicas[replicaId];
            replica.Exited = $"container exited with code {exitCode}";
            (host, replica.Host) = (replica.Host, null);
        }

        if (host is not null)
        {
            await host.DisposeAsync();
        }
    }

    /// <summary>The replica vanishes at once, as a killed process or a lost machine: no longer listed, nothing answers.</summary>
    public Task KillAsync(string replicaId) => StopAsync(Take(replicaId));

    /// <summary>Kills every replica at once and refuses launches until <see cref="Restore"/>.</summary>
    public Task OutageAsync()
    {
        List<Replica> all;
        lock (_gate)
        {
            IsOut = true;
            all = [.. _replicas.Values];
            _replicas.Clear();
        }

        return Task.WhenAll(all.Select(StopAsync));
    }

    public void Restore() => IsOut = false;

    internal void ThrowIfUnreachable(string cloud)
    {
        if (Unreachable)
        {
            throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {cloud} does not answer: its API is unreachable (emulated)");
        }
    }

    internal IReadOnlyList<Replica> Replicas()
    {
        lock (_gate)
        {
            return [.. _replicas.Values];
        }
    }

    internal Replica? Find(string replicaId)
    {
        lock (_gate)
        {
            return _replicas.GetValueOrDefault(replicaId);
        }
    }

    /// <summary>Takes a place for the launch, or throws the refusal the cloud gives; one launch at a time, so two cannot take the last place.</summary>
    internal Replica Reserve(string cloud, string shape, int? capacity, string replicaId)
    {
        Interlocked.Increment(ref _launches);
        lock (_gate)
        {
            ThrowIfUnreachable(cloud);
            if (IsOut)
            {
                throw new ProvisioningException(ProvisioningScope.Cloud, $"cloud {cloud} is down");
            }

            if (Refusal is { } refusal && refusal.Covers(shape))
            {
                throw refusal.Refuse(cloud, shape);
            }

            if (capacity is not { } limit)
            {
                throw new ProvisioningException(ProvisioningScope.Shape, $"cloud {cloud} offers no shape '{shape}'");
            }

            var used = _replicas.Values.Count(r => r.Shape == shape && r.Exited is null);
            if (used >= limit)
            {
                throw new ProvisioningException(ProvisioningScope.Shape, $"cloud {cloud} has no capacity left for shape '{shape}' ({used} of {limit} in use)");
            }

            var replica = new Replica(replicaId, shape);
            _replicas.Add(replicaId, replica);
            return replica;
        }
    }

    /// <summary>Waits while launches are held; the launch keeps its place meanwhile.</summary>
    internal async Task WaitWhileHeldAsync(CancellationToken cancellationToken)
    {
        Task? hold;
        lock (_gate)
        {
            hold = _hold?.Task;
        }

        if (hold is null)
        {
            return;
        }

        Interlocked.Increment(ref _holding);
        try
        {
            await hold.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _holding);
        }
    }

    /// <summary>Gives the starting replica its host; false when it was stopped meanwhile (the caller then disposes the host).</summary>
    internal bool Attach(Replica replica, ReplicaHost host)
    {
        lock (_gate)
        {
            if (!_replicas.TryGetValue(replica.Id, out var current) || current != replica)
            {
                return false;
            }

            replica.Host = host;
            return true;
        }
    }

    /// <summary>Marks the replica ready at its address; false when it was stopped meanwhile.</summary>
    internal bool MarkReady(Replica replica, Uri endpoint)
    {
        lock (_gate)
        {
            if (!_replicas.TryGetValue(replica.Id, out var current) || current != replica || replica.Host is null)
            {
                return false;
            }

            replica.Endpoint = endpoint;
            return true;
        }
    }

    /// <summary>Removes the replica (if it is still that one) without stopping it; null when the cloud has no such replica.</summary>
    internal Replica? Take(string replicaId, Replica? only = null)
    {
        lock (_gate)
        {
            if (!_replicas.TryGetValue(replicaId, out var replica) || (only is not null && replica != only))
            {
                return null;
            }

            _replicas.Remove(replicaId);
            return replica;
        }
    }

    /// <summary>Stops a replica taken from the cloud: its server finishes the requests it holds, then stops.</summary>
    internal async Task StopAsync(Replica? replica)
    {
        ReplicaHost? host = null;
        if (replica is not null)
        {
            lock (_gate)
            {
                (host, replica.Host) = (replica.Host, null);
            }
        }

        if (host is not null)
        {
            await host.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseLaunches();
        List<Replica> all;
        lock (_gate)
        {
            all = [.. _replicas.Values];
            _replicas.Clear();
        }

        await Task.WhenAll(all.Select(StopAsync));
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>One replica the cloud holds: starting (no endpoint), ready, or exited with a reason.</summary>
    internal sealed class Replica(string id, string shape)
    {
        public string Id { get; } = id;

        public string Shape { get; } = shape;

        public ReplicaHost? Host { get; set; }

        public Uri? Endpoint { get; set; }

        public string? Exited { get; set; }

        public ReplicaLog Log { get; } = new();
    }
}

/// <summary>The last lines a replica wrote, as a container runtime keeps them, with a logger provider that writes them.</summary>
internal sealed class ReplicaLog : ILoggerProvider
{
    private const int Kept = 10_000;
    private readonly Queue<string> _lines = new();

    public void Add(string line)
    {
        lock (_lines)
        {
            _lines.Enqueue(line);
            if (_lines.Count > Kept)
            {
                _lines.Dequeue();
            }
        }
    }

    public string Tail(int lines)
    {
        lock (_lines)
        {
            return string.Join('\n', _lines.TakeLast(lines));
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>Writes a line as the console logger's single-line format does: "info: Category[0] message".</summary>
    private sealed class Logger(ReplicaLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var level = logLevel switch
            {
                LogLevel.Trace => "trce",
                LogLevel.Debug => "dbug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                _ => "crit",
            };
            log.Add($"{level}: {category}[{eventId.Id}] {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception.Message)}");
        }
    }
}
