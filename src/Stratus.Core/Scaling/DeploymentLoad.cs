using System.Collections.Concurrent;

namespace Stratus.Core.Scaling;

/// <summary>
/// Requests in flight and completed, per deployment, as a gateway sees them (requests held while a deployment scales
/// from zero count as in flight). The autoscaler samples it; a gateway and a control plane in one process
/// (<c>stratus up</c>) share one.
/// </summary>
public sealed class DeploymentLoad
{
    private readonly ConcurrentDictionary<string, Counters> _counters = new(StringComparer.Ordinal);

    public void Started(string deployment) => Interlocked.Increment(ref _counters.GetOrAdd(deployment, _ => new Counters()).InFlight);

    public void Finished(string deployment)
    {
        var counters = _counters.GetOrAdd(deployment, _ => new Counters());
        Interlocked.Decrement(ref counters.InFlight);
        Interlocked.Increment(ref counters.Completed);
    }

    /// <summary>Records a finished request's outcome against the model version that answered it (for canary analysis).</summary>
    public void Result(string deployment, int version, bool success, TimeSpan elapsed, DateTimeOffset at)
    {
        var results = _results.GetOrAdd((deployment, version), _ => new VersionWindow());
        lock (results)
        {
            results.Entries[results.Next] = (at, success, elapsed);
            results.Next = (results.Next + 1) % results.Entries.Length;
            results.Count = Math.Min(results.Count + 1, results.Entries.Length);
        }
    }

    /// <summary>A version's requests, failures and p99 since a moment (over its last 4,096 requests at most).</summary>
    public VersionResults ResultsSince(string deployment, int version, DateTimeOffset since)
    {
        if (!_results.TryGetValue((deployment, version), out var results))
        {
            return new VersionResults(0, 0, TimeSpan.Zero);
        }

        List<(DateTimeOffset At, bool Success, TimeSpan Elapsed)> recent;
        lock (results)
        {
            recent = [.. results.Entries.Take(results.Count).Where(e => e.At >= since)];
        }

        if (recent.Count == 0)
        {
            return new VersionResults(0, 0, TimeSpan.Zero);
        }

        var sorted = recent.Select(e => e.Elapsed).Order().ToList();
        return new VersionResults(recent.Count, recent.Count(e => !e.Success), sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(sorted.Count * 0.99) - 1)]);
    }

    private readonly ConcurrentDictionary<(string, int), VersionWindow> _results = new();

    private sealed class VersionWindow
    {
        public (DateTimeOffset At, bool Success, TimeSpan Elapsed)[] Entries { get; } = new (DateTimeOffset, bool, TimeSpan)[4096];

        public int Next { get; set; }

        public int Count { get; set; }
    }

    /// <summary>Requests in flight now, and completed since the start.</summary>
    public (long InFlight, long Completed) Read(string deployment) =>
        _counters.TryGetValue(deployment, out var c) ? (Interlocked.Read(ref c.InFlight), Interlocked.Read(ref c.Completed)) : (0, 0);

    private sealed class Counters
    {
        public long InFlight;
        public long Completed;
    }
}
