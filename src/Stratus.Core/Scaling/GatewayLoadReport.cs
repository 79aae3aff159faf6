using System.Globalization;
using Stratus.Core.Rollouts;

namespace Stratus.Core.Scaling;

/// <summary>
/// What one gateway saw over one interval, as it reports it to every control-plane server (every 500 ms): requests in
/// flight now and completed since it started, per deployment; each version's results per cloud over the interval;
/// each shadow version's comparisons over the interval. <see cref="Sequence"/> counts the gateway's reports from 1, so a
/// server applies each report once however often it is sent.
/// </summary>
public sealed record GatewayLoadReport(
    string Gateway,
    string? Region,
    long Sequence,
    DateTimeOffset From,
    DateTimeOffset To,
    IReadOnlyList<DeploymentCounts> Deployments,
    IReadOnlyList<VersionInterval> Results,
    IReadOnlyList<ShadowInterval> Shadows)
{
    /// <summary>Why a report cannot be applied (none when it can): a server refuses it whole.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Gateway))
        {
            problems.Add("'gateway' is required");
        }

        if (Sequence < 1)
        {
            problems.Add("'sequence' must be 1 or more");
        }

        if (To < From)
        {
            problems.Add("'to' must not be before 'from'");
        }

        if (Deployments is null || Results is null || Shadows is null)
        {
            problems.Add("'deployments', 'results' and 'shadows' are required (empty lists when there is nothing)");
            return problems;
        }

        foreach (var d in Deployments)
        {
            if (d is null || string.IsNullOrEmpty(d.Deployment) || d.InFlight < 0 || d.Completed < 0)
            {
                problems.Add("each deployment needs a name and counts of 0 or more");
                break;
            }
        }

        foreach (var r in Results)
        {
            if (r?.Problem() is { } problem)
            {
                problems.Add(problem);
                break;
            }
        }

        foreach (var s in Shadows)
        {
            if (s is null || string.IsNullOrEmpty(s.Deployment) || s.Summary is not { Outputs: not null } summary ||
                summary.Mirrored < 0 || summary.Skipped < 0 || summary.StableFailures < 0 || summary.ShadowFailures < 0 ||
                summary.Compared < 0 || summary.Mismatched < 0 || summary.Compared > summary.Mirrored || summary.Mismatched > summary.Compared)
            {
                problems.Add("each shadow needs a deployment, a version and counts of 0 or more (compared at most mirrored, mismatched at most compared)");
                break;
            }
        }

        return problems;
    }

    /// <summary>
    /// Several reports' figures as one (the gateway fields of the first): in-flight and completed counts summed per
    /// deployment, results and shadow comparisons merged per key. Several gateways' reports of one interval so merge
    /// into what one gateway that saw all their requests would report.
    /// </summary>
    public static GatewayLoadReport Combine(IReadOnlyList<GatewayLoadReport> reports)
    {
        ArgumentOutOfRangeException.ThrowIfZero(reports.Count);
        var deployments = reports.SelectMany(r => r.Deployments)
            .GroupBy(d => d.Deployment, StringComparer.Ordinal)
            .Select(g => new DeploymentCounts(g.Key, g.Sum(d => d.InFlight), g.Sum(d => d.Completed)));
        var results = reports.SelectMany(r => r.Results)
            .GroupBy(r => (r.Deployment, r.Version, r.Cloud))
            .Select(g => g.Aggregate((a, b) => a.Merge(b)));
        var shadows = reports.SelectMany(r => r.Shadows)
            .GroupBy(s => (s.Deployment, s.Version))
            .Select(g => new ShadowInterval(g.Key.Deployment, g.Key.Version, g.Select(s => s.Summary).Aggregate((a, b) => a.Merge(b))));
        return reports[0] with
        {
            From = reports.Min(r => r.From),
            To = reports.Max(r => r.To),
            Deployments = [.. deployments],
            Results = [.. results],
            Shadows = [.. shadows],
        };
    }
}

/// <summary>A deployment's requests at a gateway: in flight now (held while it scales from zero included), and completed since the gateway started.</summary>
public sealed record DeploymentCounts(string Deployment, long InFlight, long Completed);

/// <summary>
/// One version's attempts in one cloud over an interval: how many, how many failed (5xx and transport), and their
/// latencies as <see cref="LatencyBuckets"/> counts.
/// </summary>
public sealed record VersionInterval(string Deployment, int Version, string Cloud, long Requests, long Failures, IReadOnlyList<long> Latency)
{
    public VersionInterval Merge(VersionInterval other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return this with { Requests = Requests + other.Requests, Failures = Failures + other.Failures, Latency = LatencyBuckets.Merge(Latency, other.Latency) };
    }

    /// <summary>The figures as canary analysis reads them.</summary>
    public VersionResults Results() => new(Requests, Failures, LatencyBuckets.Quantile(Latency, 0.99));

    internal string? Problem()
    {
        var where = $"results of {Deployment} v{Version.ToString(CultureInfo.InvariantCulture)} in '{Cloud}'";
        if (string.IsNullOrEmpty(Deployment) || Cloud is null || Latency is null)
        {
            return "each result needs a deployment, a version, a cloud and a latency histogram";
        }

        if (Requests < 0 || Failures < 0 || Failures > Requests)
        {
            return $"{where}: requests and failures must be 0 or more, failures at most requests";
        }

        if (Latency.Count > LatencyBuckets.Count || Latency.Any(c => c < 0) || Latency.Sum() != Requests)
        {
            return $"{where}: the latency histogram needs at most {LatencyBuckets.Count.ToString(CultureInfo.InvariantCulture)} buckets of 0 or more that sum to the requests";
        }

        return null;
    }
}

/// <summary>A shadow version's mirrored requests over an interval.</summary>
public sealed record ShadowInterval(string Deployment, int Version, ShadowSummary Summary);

/// <summary>A server's answer to a report: whether it applied it, or had already applied that sequence from that gateway.</summary>
public sealed record LoadReportReceipt(long Sequence, bool Applied);

/// <summary>A gateway as this server last heard from it.</summary>
/// <param name="Fresh">It reported within the staleness bound, so its requests in flight count.</param>
public sealed record GatewayStatus(string Gateway, string? Region, long Sequence, DateTimeOffset LastReportAt, bool Fresh, long InFlight);

/// <summary>Where a gateway's reports go: a control plane in the same process, or one server's API over HTTP.</summary>
public interface ILoadReportSink
{
    /// <summary>Delivers one report; throws when it did not arrive (the gateway sends it again with the same sequence).</summary>
    Task ReportLoadAsync(GatewayLoadReport report, CancellationToken cancellationToken);
}

/// <summary>What the autoscaler and the rollout controller read: the load of every gateway that reports, merged.</summary>
public interface ILoadView
{
    /// <summary>Requests in flight now (at gateways that report) and completed so far, summed over gateways.</summary>
    (long InFlight, long Completed) Read(string deployment);

    /// <summary>A version's requests, failures and p99 since a moment, over every cloud.</summary>
    VersionResults ResultsSince(string deployment, int version, DateTimeOffset since);

    /// <summary>The same, per cloud that answered.</summary>
    IReadOnlyDictionary<string, VersionResults> ResultsByCloudSince(string deployment, int version, DateTimeOffset since);

    /// <summary>A shadow version's mirrored requests since a moment.</summary>
    ShadowSummary ShadowSince(string deployment, int version, DateTimeOffset since);
}
