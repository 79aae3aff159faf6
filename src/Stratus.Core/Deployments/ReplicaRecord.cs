namespace Stratus.Core.Deployments;

/// <summary>Where a replica is in its life, as <c>stratus deployment get</c> shows it.</summary>
public enum ReplicaState
{
    /// <summary>Recorded and placed; its launch has not begun.</summary>
    Pending,

    /// <summary>The cloud is launching it: artifact copy, process start, model load and warm-up.</summary>
    Starting,

    /// <summary>Answering on its endpoint and in the route table.</summary>
    Ready,

    /// <summary>Out of the route table and finishing what it has; stopped at <see cref="ReplicaRecord.DrainUntil"/>.</summary>
    Draining,

    /// <summary>Could not be launched or died; <see cref="ReplicaRecord.Reason"/> says why.</summary>
    Failed,
}

/// <summary>The control plane's view of one replica.</summary>
public sealed record ReplicaRecord(string Id, string Deployment, string Cloud, string Shape, ReplicaState State, string? Reason, Uri? Endpoint)
{
    /// <summary>For a draining replica, when it is stopped.</summary>
    public DateTimeOffset? DrainUntil { get; init; }

    /// <summary>A spot replica (cheaper, may be reclaimed) rather than on-demand, as the plan placed it.</summary>
    public bool Spot { get; init; }

    /// <summary>The model version it serves; 0 for records from before traffic splits (the deployment's version).</summary>
    public int ModelVersion { get; init; }
}
