using System.Collections.Concurrent;
using Stratus.Core.Rollouts;

namespace Stratus.Core.Scaling;

/// <summary>
/// Reports' interval figures kept at the moments they were applied, per (deployment, version, cloud) and per shadow
/// version (the last <see cref="Capacity"/> intervals of each: half an hour of one gateway's reports), so that a
/// window since any moment sums the intervals that arrived in it. Thread-safe.
/// </summary>
public sealed class LoadHistory
{
    public const int Capacity = 4096;

    private readonly ConcurrentDictionary<(string Deployment, int Version, string Cloud), TimedWindow<VersionInterval>> _results = new();
    private readonly ConcurrentDictionary<(string Deployment, int Version), TimedWindow<ShadowSummary>> _shadows = new();

    /// <summary>Keeps a report's interval figures at <paramref name="at"/>.</summary>
    public void Add(GatewayLoadReport report, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(report);
        foreach (var result in report.Results.Where(r => r.Requests > 0))
        {
            _results.GetOrAdd((result.Deployment, result.Version, result.Cloud), _ => new TimedWindow<VersionInterval>(Capacity)).Add(at, result);
        }

        foreach (var shadow in report.Shadows)
        {
            _shadows.GetOrAdd((shadow.Deployment, shadow.Version), _ => new TimedWindow<ShadowSummary>(Capacity)).Add(at, shadow.Summary);
        }
    }

    public VersionResults ResultsSince(string deployment, int version, DateTimeOffset since) =>
        Sum(Windows(deployment, version).SelectMany(w => w.Window.Since(since)));

    public IReadOnlyDictionary<string, VersionResults> ResultsByCloudSince(string deployment, int version, DateTimeOffset since) =>
        Windows(deployment, version)
            .Select(w => (w.Cloud, Results: Sum(w.Window.Since(since))))
            .Where(c => c.Results.Requests > 0)
            .ToDictionary(c => c.Cloud, c => c.Results, StringComparer.Ordinal);

    public ShadowSummary ShadowSince(string deployment, int version, DateTimeOffset since) =>
        _shadows.TryGetValue((deployment, version), out var window)
            ? window.Since(since).Aggregate(ShadowSummary.Empty, (sum, s) => sum.Merge(s))
            : ShadowSummary.Empty;

    private IEnumerable<(string Cloud, TimedWindow<VersionInterval> Window)> Windows(string deployment, int version) =>
        _results.Where(r => r.Key.Deployment == deployment && r.Key.Version == version).Select(r => (r.Key.Cloud, r.Value));

    private static VersionResults Sum(IEnumerable<VersionInterval> intervals)
    {
        var merged = intervals.Aggregate((VersionInterval?)null, (sum, i) => sum is null ? i : sum.Merge(i));
        return merged?.Results() ?? new VersionResults(0, 0, TimeSpan.Zero);
    }
}
