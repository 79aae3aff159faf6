using Stratus.Core.Placement;

namespace Stratus.Core.Deployments;

/// <summary>What the user asked for: a model version, how many replicas, of which shape, placed under which constraints.</summary>
public sealed record Deployment(string Name, string Model, int ModelVersion, int Replicas, string Shape)
{
    public PlacementConstraints Placement { get; init; } = new();

    /// <summary>Anyone may call it through the gateway; otherwise callers need one of its keys.</summary>
    public bool Public { get; init; }

    /// <summary>
    /// How traffic splits between model versions, each with its own replicas (its count, or the deployment's);
    /// empty when <see cref="ModelVersion"/> takes it all.
    /// </summary>
    public IReadOnlyList<TrafficSplit> Traffic { get; init; } = [];

    /// <summary>When set, the autoscaler owns <see cref="Replicas"/> within these bounds.</summary>
    public Stratus.Core.Scaling.AutoscalingSpec? Autoscaling { get; init; }

    /// <summary>
    /// How many real requests (answered 2xx) gateways may record per model version as its sample requests, so later
    /// replicas are checked on real traffic; 0 (the default) keeps no payload at all.
    /// </summary>
    public int RecordProbes { get; init; }

    /// <summary>The model versions to run and how many replicas of each.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<(int Version, int Replicas)> VersionGroups =>
        Traffic.Count == 0 ? [(ModelVersion, Replicas)] : [.. Traffic.Select(t => (t.Version, t.Replicas ?? Replicas))];

    public bool Equals(Deployment? other) =>
        other is not null && Name == other.Name && Model == other.Model && ModelVersion == other.ModelVersion && Replicas == other.Replicas &&
        Shape == other.Shape && Public == other.Public && Placement == other.Placement && Traffic.SequenceEqual(other.Traffic) && Autoscaling == other.Autoscaling &&
        RecordProbes == other.RecordProbes;

    public override int GetHashCode() => HashCode.Combine(Name, Model, ModelVersion, Replicas, Shape, Public, Placement, Traffic.Count);

    /// <summary>The planner's question for this deployment.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public PlacementSpec PlacementSpec => new(Placement, Replicas, Shape);
}

/// <summary>A model version's share of a deployment's traffic (percent) and, optionally, its own replica count.</summary>
public sealed record TrafficSplit(int Version, int Weight, int? Replicas = null)
{
    /// <summary>Mirror this share of live requests to the version as a shadow (its answers compared, never returned); null for none.</summary>
    public MirrorSpec? Mirror { get; init; }
}

/// <summary>How much live traffic a shadow version receives as copies (percent), and how closely its answers must match.</summary>
public sealed record MirrorSpec(int Percent = 100, double AbsoluteTolerance = 1e-4, double RelativeTolerance = 1e-4);
