using System.Collections.Concurrent;
using Stratus.Core.Rollouts;
using Stratus.Core.Scaling;

namespace Stratus.Gateway;

/// <summary>
/// What the gateway saw since its last load report: requests in flight and completed per deployment (requests held
/// while a deployment scales from zero count as in flight), each finished attempt's outcome and latency against the
/// version and cloud that answered it, and each mirrored request's comparison. <see cref="TakeInterval"/> hands the
/// interval's figures to the <see cref="LoadReporter"/> and starts the next interval. Cheap and thread-safe on the
/// request path.
/// </summary>
public sealed class LoadRecorder
{
    private readonly ConcurrentDictionary<string, Counters> _counters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Deployment, int Version, string Cloud), Attempts> _attempts = new();
    private readonly ConcurrentDictionary<(string Deployment, int Version), Mirrors> _mirrors = new();

    public void Started(string deployment) => Interlocked.Increment(ref _counters.GetOrAdd(deployment, _ => new Counters()).InFlight);

    public void Finished(string deployment)
    {
        var counters = _counters.GetOrAdd(deployment, _ => new Counters());
        Interlocked.Decrement(ref counters.InFlight);
        Interlocked.Increment(ref counters.Completed);
    }

    /// <summary>A finished attempt's outcome against the model version (and cloud) that answered it, for canary analysis.</summary>
    public void Result(string deployment, int version, bool success, TimeSpan elapsed, string cloud = "")
    {
        var attempts = _attempts.GetOrAdd((deployment, version, cloud), _ => new Attempts());
        lock (attempts)
        {
            attempts.Requests++;
            attempts.Failures += success ? 0 : 1;
            LatencyBuckets.Add(attempts.Latency, elapsed);
        }
    }

    /// <summary>A mirrored request's outcome for shadow analysis.</summary>
    public void Shadow(string deployment, int version, ShadowSample sample) => Mirror(deployment, version, ShadowSummary.Of(sample));

    /// <summary>A mirror that was not sent (too many in flight, body too large): counted, not compared.</summary>
    public void ShadowSkipped(string deployment, int version) => Mirror(deployment, version, ShadowSummary.OneSkipped);

    /// <summary>Requests in flight now and completed since the start, per deployment.</summary>
    public (long InFlight, long Completed) Read(string deployment) =>
        _counters.TryGetValue(deployment, out var c) ? (Interlocked.Read(ref c.InFlight), Interlocked.Read(ref c.Completed)) : (0, 0);

    /// <summary>The counts now and the interval's results and comparisons, which start again from nothing.</summary>
    public (IReadOnlyList<DeploymentCounts> Deployments, IReadOnlyList<VersionInterval> Results, IReadOnlyList<ShadowInterval> Shadows) TakeInterval()
    {
        var deployments = _counters.Select(c => new DeploymentCounts(c.Key, Interlocked.Read(ref c.Value.InFlight), Interlocked.Read(ref c.Value.Completed))).ToList();
        var results = new List<VersionInterval>();
        foreach (var ((deployment, version, cloud), attempts) in _attempts)
        {
            lock (attempts)
            {
                if (attempts.Requests > 0)
                {
                    results.Add(new VersionInterval(deployment, version, cloud, attempts.Requests, attempts.Failures, LatencyBuckets.Trimmed(attempts.Latency)));
                    attempts.Requests = 0;
                    attempts.Failures = 0;
                    Array.Clear(attempts.Latency);
                }
            }
        }

        var shadows = new List<ShadowInterval>();
        foreach (var ((deployment, version), mirrors) in _mirrors)
        {
            lock (mirrors)
            {
                if (mirrors.Summary != ShadowSummary.Empty)
                {
                    shadows.Add(new ShadowInterval(deployment, version, mirrors.Summary));
                    mirrors.Summary = ShadowSummary.Empty;
                }
            }
        }

        return (deployments, results, shadows);
    }

    private void Mirror(string deployment, int version, ShadowSummary one)
    {
        var mirrors = _mirrors.GetOrAdd((deployment, version), _ => new Mirrors());
        lock (mirrors)
        {
            mirrors.Summary = mirrors.Summary.Merge(one);
        }
    }

    private sealed class Counters
    {
        public long InFlight;
        public long Completed;
    }

    private sealed class Attempts
    {
        public long Requests { get; set; }

        public long Failures { get; set; }

        public long[] Latency { get; } = new long[LatencyBuckets.Count];
    }

    private sealed class Mirrors
    {
        public ShadowSummary Summary { get; set; } = ShadowSummary.Empty;
    }
}
