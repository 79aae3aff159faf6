using Prometheus;

namespace Stratus.Inference.Server;

/// <summary>
/// The replica's Prometheus metrics, labelled by model and version. Each replica keeps its own registry so several
/// servers in one process (tests, <c>stratus up</c>) never mix their figures.
/// </summary>
public sealed class ReplicaMetrics
{
    private static readonly double[] LatencyBuckets = Prometheus.Histogram.ExponentialBuckets(0.0001, 2, 18);

    private readonly Counter.Child _success;
    private readonly Counter.Child _failure;
    private readonly Histogram.Child _requestDuration;
    private readonly Histogram.Child _queueDuration;
    private readonly Histogram.Child _computeDuration;
    private readonly Histogram.Child _batchSize;
    private readonly Counter.Child _batches;
    private readonly Gauge.Child _inFlight;

    public ReplicaMetrics(string model, string version)
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        string[] labels = ["model", "version"];
        var requests = factory.CreateCounter(
            "stratus_inference_requests_total",
            "Inference requests completed, by outcome (success or failure).",
            new CounterConfiguration { LabelNames = [.. labels, "outcome"] });
        _success = requests.WithLabels(model, version, "success");
        _failure = requests.WithLabels(model, version, "failure");
        _requestDuration = CreateLatencyHistogram(factory, "stratus_inference_request_duration_seconds", "Time from receiving an inference request to its response.", labels).WithLabels(model, version);
        _queueDuration = CreateLatencyHistogram(factory, "stratus_inference_queue_duration_seconds", "Time a request waited in the scheduler queue before its run started.", labels).WithLabels(model, version);
        _computeDuration = CreateLatencyHistogram(factory, "stratus_inference_compute_duration_seconds", "Time ONNX Runtime spent on one run (one batch).", labels).WithLabels(model, version);
        _batchSize = factory.CreateHistogram(
            "stratus_inference_batch_size",
            "Rows (batch-dimension entries) per ONNX Runtime run.",
            new HistogramConfiguration { LabelNames = labels, Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256] }).WithLabels(model, version);
        _batches = factory.CreateCounter(
            "stratus_inference_runs_total",
            "ONNX Runtime runs; fewer runs than requests means requests were batched.",
            new CounterConfiguration { LabelNames = labels }).WithLabels(model, version);
        _inFlight = factory.CreateGauge(
            "stratus_inference_inflight_requests",
            "Inference requests received and not yet answered.",
            new GaugeConfiguration { LabelNames = labels }).WithLabels(model, version);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>ONNX Runtime runs so far (batches, or requests when unbatched).</summary>
    public long Runs => (long)_batches.Value;

    public void RequestStarted() => _inFlight.Inc();

    public void RequestFinished(bool success, TimeSpan duration)
    {
        _inFlight.Dec();
        (success ? _success : _failure).Inc();
        _requestDuration.Observe(duration.TotalSeconds);
    }

    public void Queued(TimeSpan wait) => _queueDuration.Observe(wait.TotalSeconds);

    public void Ran(int rows, TimeSpan compute)
    {
        _batches.Inc();
        _batchSize.Observe(rows);
        _computeDuration.Observe(compute.TotalSeconds);
    }

    private static Histogram CreateLatencyHistogram(MetricFactory factory, string name, string help, string[] labels) =>
        factory.CreateHistogram(name, help, new HistogramConfiguration { LabelNames = labels, Buckets = LatencyBuckets });
}
