using Stratus.Core.Placement;

namespace Stratus.Client;

/// <summary>One input or output of a model: name, element type and shape (-1 for a dynamic dimension).</summary>
public sealed record TensorInfo(string Name, string DataType, IReadOnlyList<long> Shape);

public sealed record SignatureInfo(IReadOnlyList<TensorInfo> Inputs, IReadOnlyList<TensorInfo> Outputs);

/// <summary>A model version in the registry.</summary>
public sealed record ModelVersionInfo(string Name, int Version, string Sha256, long SizeBytes, SignatureInfo Signature, DateTimeOffset CreatedAt, string CreatedBy)
{
    /// <summary>How many sample requests it has (its probe set when there are any).</summary>
    public int Samples { get; init; }
}

/// <summary>A stored sample request of a model version: where it came from (push, api, spec, gateway) and the request.</summary>
public sealed record SampleInfo(int Seq, string Sha256, string Source, DateTimeOffset CreatedAt, System.Text.Json.JsonElement Request);

/// <summary>What the consistency check found for a deployment's model version.</summary>
public sealed record ConsistencyInfo(string Deployment, int Version, bool Checked, string Note, DateTimeOffset At);

/// <summary>The settings of a rollout; null ones take the control plane's defaults.</summary>
public sealed record RolloutSettings
{
    public int? Replicas { get; init; }

    public IReadOnlyList<int>? Steps { get; init; }

    public int? StepSeconds { get; init; }

    public long? MinRequests { get; init; }

    public double? MaxP99Ratio { get; init; }

    public int? P99SlackMs { get; init; }

    public double? MaxErrorRateIncrease { get; init; }

    public int? MirrorPercent { get; init; }

    public double? AbsoluteTolerance { get; init; }

    public double? RelativeTolerance { get; init; }

    public double? MinArgmaxAgreement { get; init; }
}

/// <summary>A deployment's desired state.</summary>
public sealed record DeploymentInfo(string Name, string Model, int ModelVersion, int Replicas, string Shape)
{
    public PlacementConstraints? Placement { get; init; }

    public bool Public { get; init; }

    /// <summary>The traffic split between model versions; empty when the deployment's version takes it all.</summary>
    public IReadOnlyList<TrafficShare> Traffic { get; init; } = [];

    /// <summary>How many live requests per version gateways may record as its samples (0: none).</summary>
    public int RecordProbes { get; init; }
}

/// <summary>A model version's share of traffic, in percent, and its own replica count if it has one.</summary>
public sealed record TrafficShare(int Version, int Weight, int? Replicas)
{
    /// <summary>When the version is a shadow: the share of requests mirrored to it and the tolerances of the comparison.</summary>
    public MirrorInfo? Mirror { get; init; }
}

public sealed record MirrorInfo(int Percent, double AbsoluteTolerance, double RelativeTolerance);

/// <summary>An inference key as listed: never the key.</summary>
public sealed record KeySummary(string Id, string Deployment, string Description, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>An inference key just created; <see cref="Key"/> is shown this once.</summary>
public sealed record IssuedKey(string Id, string Deployment, string Description, string Key);

/// <summary>A deployment's last plan, the locations blocked after refusals, and when it was planned.</summary>
public sealed record PlacementStatusInfo(PlacementPlan Plan, IReadOnlyList<Block> Blocked, DateTimeOffset At);

/// <summary>One replica: pending, starting, ready, draining or failed (with the reason).</summary>
public sealed record ReplicaInfo(string Id, string Deployment, string Cloud, string Shape, string State, string? Reason, Uri? Endpoint, DateTimeOffset? DrainUntil)
{
    public bool Spot { get; init; }

    /// <summary>The model version it serves (0 on records from before traffic splits: the deployment's).</summary>
    public int ModelVersion { get; init; }
}

public sealed record DeploymentStatusInfo(DeploymentInfo Deployment, int ReadyReplicas, IReadOnlyList<ReplicaInfo> Replicas)
{
    public PlacementStatusInfo? Placement { get; init; }

    /// <summary>The autoscaler's last reason, for autoscaled deployments.</summary>
    public string? Autoscaler { get; init; }

    /// <summary>What the consistency check found per model version.</summary>
    public IReadOnlyList<ConsistencyInfo> Consistency { get; init; } = [];
}

/// <summary>A token as listed: never its secret.</summary>
public sealed record TokenSummary(string Id, string Role, string Description, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A token just created; <see cref="Token"/> is shown this once.</summary>
public sealed record IssuedToken(string Id, string Role, string Description, string Token);

/// <summary>A deployment's rollout: strategy (rolling, canary, blueGreen), versions, step, state and why.</summary>
public sealed record RolloutInfo(string Deployment, string Strategy, int FromVersion, int ToVersion, int Replicas, int Step, DateTimeOffset StepStartedAt, string State, string Reason)
{
    public IReadOnlyList<int> Steps { get; init; } = [];

    /// <summary>How the new version's answers to the probe set differ from the old one's.</summary>
    public string? Divergence { get; init; }

    /// <summary>The last figures of the analysis (a shadow's comparison with the stable version).</summary>
    public string? Report { get; init; }
}
