using Stratus.Core.Rollouts;
using Stratus.Core.Scaling;

namespace Stratus.ControlPlane.Load;

/// <summary>
/// Every gateway's load reports merged, as the autoscaler and the rollout controller read them. A report is applied
/// once: one whose sequence this server has already applied from that gateway (sent again after its answer was lost)
/// changes nothing. Requests in flight are summed over gateways whose last report is fresh (a gateway silent for
/// longer than <see cref="StaleAfter"/> has stopped or lost its way here, and its last figure no longer counts);
/// completed requests only ever grow, by each gateway's increase; interval results and shadow comparisons are kept at
/// the moment their report arrived (by this server's clock, so gateway clocks need not agree) in a
/// <see cref="LoadHistory"/>. Thread-safe.
/// </summary>
public sealed class GatewayLoads(TimeProvider time) : ILoadView, ILoadReportSink
{
    public static readonly TimeSpan DefaultStaleAfter = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Reporter> _gateways = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _completed = new(StringComparer.Ordinal);
    private readonly LoadHistory _history = new();

    public TimeSpan StaleAfter { get; init; } = DefaultStaleAfter;

    /// <summary>Applies a report unless its sequence from that gateway was applied already; whether it was applied.</summary>
    public bool Apply(GatewayLoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_gateways.TryGetValue(report.Gateway, out var known) && report.Sequence <= known.Sequence)
            {
                return false;
            }

            var reporter = known ?? (_gateways[report.Gateway] = new Reporter());
            reporter.Sequence = report.Sequence;
            reporter.Region = report.Region;
            reporter.At = now;
            foreach (var d in report.Deployments)
            {
                var before = reporter.Deployments.GetValueOrDefault(d.Deployment);
                _completed[d.Deployment] = _completed.GetValueOrDefault(d.Deployment) + Math.Max(0, d.Completed - before.Completed);
                reporter.Deployments[d.Deployment] = (d.InFlight, Math.Max(before.Completed, d.Completed));
            }

            _history.Add(report, now);
            return true;
        }
    }

    /// <summary>The in-process sink: a gateway in this process (<c>stratus up</c>) reports straight here.</summary>
    public Task ReportLoadAsync(GatewayLoadReport report, CancellationToken cancellationToken)
    {
        Apply(report);
        return Task.CompletedTask;
    }

    public (long InFlight, long Completed) Read(string deployment)
    {
        var fresh = time.GetUtcNow() - StaleAfter;
        lock (_lock)
        {
            var inFlight = _gateways.Values.Where(g => g.At >= fresh).Sum(g => g.Deployments.GetValueOrDefault(deployment).InFlight);
            return (inFlight, _completed.GetValueOrDefault(deployment));
        }
    }

    /// <summary>The gateways that have reported here, by id.</summary>
    public IReadOnlyList<GatewayStatus> Gateways()
    {
        var fresh = time.GetUtcNow() - StaleAfter;
        lock (_lock)
        {
            return [.. _gateways.OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new GatewayStatus(g.Key, g.Value.Region, g.Value.Sequence, g.Value.At, g.Value.At >= fresh, g.Value.Deployments.Values.Sum(d => d.InFlight)))];
        }
    }

    public VersionResults ResultsSince(string deployment, int version, DateTimeOffset since) => _history.ResultsSince(deployment, version, since);

    public IReadOnlyDictionary<string, VersionResults> ResultsByCloudSince(string deployment, int version, DateTimeOffset since) => _history.ResultsByCloudSince(deployment, version, since);

    public ShadowSummary ShadowSince(string deployment, int version, DateTimeOffset since) => _history.ShadowSince(deployment, version, since);

    private sealed class Reporter
    {
        public long Sequence { get; set; }

        public string? Region { get; set; }

        public DateTimeOffset At { get; set; }

        public Dictionary<string, (long InFlight, long Completed)> Deployments { get; } = new(StringComparer.Ordinal);
    }
}
