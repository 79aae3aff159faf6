using System.Collections.Concurrent;

namespace Stratus.Core.Scaling;

/// <summary>
/// Requests in flight and completed, per deployment, as a gateway sees them (requests held while a deployment scales
/// from zero count as in flight), each version's results per cloud for canary analysis, and the comparisons of
/// mirrored requests for shadow analysis. The autoscaler and the rollout controller sample it; a gateway and a
/// control plane in one process (<c>stratus up</c>) share one.
/// </summary>
public sealed class DeploymentLoad
{
    /// <summary>Mirrored requests of shadow rollouts, compared with the stable answers.</summary>
    public Stratus.Core.Rollouts.ShadowResults Shadows { get; } = new();

    private readonly ConcurrentDictionary<string, Counters> _counters = new(StringComparer.Ordinal);

    public void Started(string deployment) => Interlocked.Increment(ref _counters.GetOrAdd(deployment, _ => new Counters()).InFlight);

    public void Finished(string deployment)
    {
        var counters = _counters.GetOrAdd(deployment, _ => new Counters());
        Interlocked.Decrement(ref counters.InFlight);
        Interlocked.Increment(ref counters.Completed);
    }

    /// <summary>Records a finished attempt's outcome against the model version (and cloud) that answered it, for canary analysis.</summary>
    public void Result(string deployment, int version, bool success, TimeSpan elapsed, DateTimeOffset at, string cloud = "")
    {
        var results = _results.GetOrAdd((deployment, version, cloud), _ => new VersionWindow());
        lock (results)
        {
            results.Entries[results.Next] = (at, success, elapsed, cloud);
            results.Next = (results.Next + 1) % results.Entries.Length;
            results.Count = Math.Min(results.Count + 1, results.Entries.Length);
        }
    }

    /// <summary>A version's requests, failures and p99 since a moment (over its last 4,096 requests per cloud at most).</summary>
    public VersionResults ResultsSince(string deployment, int version, DateTimeOffset since) => Summarise(Recent(deployment, version, since));

    /// <summary>The same, per cloud that answered.</summary>
    public IReadOnlyDictionary<string, VersionResults> ResultsByCloudSince(string deployment, int version, DateTimeOffset since) =>
        Recent(deployment, version, since).GroupBy(e => e.Cloud, StringComparer.Ordinal).ToDictionary(g => g.Key, g => Summarise([.. g]), StringComparer.Ordinal);

    /// <summary>A version's results since a moment, from every cloud's window (each keeps its own last 4,096, so a cloud with little traffic is never crowded out by a busy one).</summary>
    private List<(DateTimeOffset At, bool Success, TimeSpan Elapsed, string Cloud)> Recent(string deployment, int version, DateTimeOffset since)
    {
        var recent = new List<(DateTimeOffset At, bool Success, TimeSpan Elapsed, string Cloud)>();
        foreach (var (key, results) in _results)
        {
            if (key.Deployment == deployment && key.Version == version)
            {
                lock (results)
                {
                    recent.AddRange(results.Entries.Take(results.Count).Where(e => e.At >= since));
                }
            }
        }

        return recent;
    }

    private static VersionResults Summarise(List<(DateTimeOffset At, bool Success, TimeSpan Elapsed, string Cloud)> recent)
    {
        if (recent.Count == 0)
        {
            return new VersionResults(0, 0, TimeSpan.Zero);
        }

        var sorted = recent.Select(e => e.Elapsed).Order().ToList();
        return new VersionResults(recent.Count, recent.Count(e => !e.Success), sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(sorted.Count * 0.99) - 1)]);
    }

    private readonly ConcurrentDictionary<(string Deployment, int Version, string Cloud), VersionWindow> _results = new();

    private sealed class VersionWindow
    {
        public (DateTimeOffset At, bool Success, TimeSpan Elapsed, string Cloud)[] Entries { get; } = new (DateTimeOffset, bool, TimeSpan, string)[4096];

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
