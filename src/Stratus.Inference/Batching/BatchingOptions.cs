namespace Stratus.Inference.Batching;

public enum BatchingMode
{
    /// <summary>Batch when the model's signature makes it correct (see <see cref="Core.Models.BatchingAnalysis"/>).</summary>
    Auto,
    On,
    Off,
}

/// <summary>How the scheduler in front of the model merges and runs requests.</summary>
public sealed class BatchingOptions
{
    public BatchingMode Mode { get; set; } = BatchingMode.Auto;

    /// <summary>Most rows (entries of the batch dimension) merged into one run.</summary>
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>
    /// How long the first request of a batch may wait for others. Zero (the default, as in Triton) adds no latency at
    /// low load and still batches under load, because requests queue up while the previous run computes.
    /// </summary>
    public TimeSpan MaxQueueDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Runs of the model that may execute at once, each on its own thread (Triton's instance count).</summary>
    public int Instances { get; set; } = 1;

    /// <summary>Requests that may wait; beyond it callers get 503 rather than unbounded queueing.</summary>
    public int MaxQueueSize { get; set; } = 4096;
}
