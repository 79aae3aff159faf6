using Prometheus;
using Yarp.ReverseProxy.Model;

namespace Stratus.Gateway;

/// <summary>The gateway's Prometheus series: attempts by deployment, version, region, replica and outcome; their latency by the same; retries; ejections.</summary>
public sealed class GatewayMetrics
{
    private readonly Counter _attempts;
    private readonly Histogram _latency;
    private readonly Counter _retries;
    private readonly Counter _ejections;
    private readonly Counter _canaryFallbacks;
    private readonly Counter _shadows;
    private readonly Counter _samples;

    public GatewayMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        _attempts = factory.CreateCounter(
            "stratus_gateway_attempts_total",
            "Forwarding attempts by deployment, version, region, replica and outcome (HTTP status, not_reached or failed).",
            new CounterConfiguration { LabelNames = ["deployment", "version", "region", "replica", "outcome"] });
        _latency = factory.CreateHistogram(
            "stratus_gateway_attempt_duration_seconds",
            "Time of one forwarding attempt, by deployment, version, region and replica.",
            new HistogramConfiguration { LabelNames = ["deployment", "version", "region", "replica"], Buckets = Histogram.ExponentialBuckets(0.0001, 2, 18) });
        _retries = factory.CreateCounter("stratus_gateway_retries_total", "Requests sent again to another replica after an attempt that never reached a model.", new CounterConfiguration { LabelNames = ["deployment"] });
        _ejections = factory.CreateCounter("stratus_gateway_ejections_total", "Replicas taken out of traffic by passive health.", new CounterConfiguration { LabelNames = ["deployment", "replica"] });
        _canaryFallbacks = factory.CreateCounter("stratus_gateway_canary_fallbacks_total", "Requests a canary version failed that the stable version then answered.", new CounterConfiguration { LabelNames = ["deployment", "version"] });
        _shadows = factory.CreateCounter("stratus_gateway_shadow_requests_total", "Mirrored requests of shadow versions by outcome: matched, diverged, shadow_failed, stable_failed, skipped.", new CounterConfiguration { LabelNames = ["deployment", "version", "outcome"] });
        _samples = factory.CreateCounter("stratus_gateway_recorded_samples_total", "Live requests handed to the control plane as samples of a version.", new CounterConfiguration { LabelNames = ["deployment", "version"] });
    }

    public CollectorRegistry Registry { get; }

    public void Attempt(string deployment, string region, DestinationState destination, string outcome, TimeSpan elapsed)
    {
        // Label lookups cost more than the increments: the children are cached per label set.
        var version = destination.Model?.Config.Metadata?.GetValueOrDefault(RouteTableProxyConfig.VersionKey) ?? string.Empty;
        _attemptChildren.GetOrAdd((deployment, version, region, destination.DestinationId, outcome), key => _attempts.WithLabels(key.Item1, key.Item2, key.Item3, key.Item4, key.Item5)).Inc();
        _latencyChildren.GetOrAdd((deployment, version, region, destination.DestinationId), key => _latency.WithLabels(key.Item1, key.Item2, key.Item3, key.Item4)).Observe(elapsed.TotalSeconds);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string, string, string, string), Counter.Child> _attemptChildren = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string, string, string), Histogram.Child> _latencyChildren = new();

    public void Retried(string deployment) => _retries.WithLabels(deployment).Inc();

    public void Ejected(string deployment, string replica) => _ejections.WithLabels(deployment, replica).Inc();

    public void CanaryFallback(string deployment, string version) => _canaryFallbacks.WithLabels(deployment, version).Inc();

    public void Shadow(string deployment, string version, string outcome) => _shadows.WithLabels(deployment, version, outcome).Inc();

    public void RecordedSample(string deployment, string version) => _samples.WithLabels(deployment, version).Inc();
}
