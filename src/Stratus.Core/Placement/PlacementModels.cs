using Stratus.Core.Clouds;

namespace Stratus.Core.Placement;

/// <summary>How far a provisioning refusal reaches: this shape in this cloud, the cloud's region, or the whole cloud.</summary>
public enum BlockScope
{
    Shape,
    Region,
    Cloud,
}

/// <summary>A location the planner must avoid for now (a refused launch, an outage), and why.</summary>
public sealed record Block(BlockScope Scope, string Cloud, string Region, string Shape, string Reason, DateTimeOffset Until)
{
    public bool Covers(CloudSpec cloud, string shape) => Scope switch
    {
        BlockScope.Cloud => cloud.Name == Cloud,
        BlockScope.Region => cloud.Region == Region,
        _ => cloud.Name == Cloud && shape == Shape,
    };

    public string Describe() => Scope switch
    {
        BlockScope.Cloud => $"cloud {Cloud}",
        BlockScope.Region => $"region {Region}",
        _ => $"shape {Shape} in {Cloud}",
    };
}

/// <summary>What the planner plans over: the spec, the clouds, what runs now, and what is blocked.</summary>
public sealed record PlacementInput(PlacementSpec Spec, IReadOnlyList<CloudSpec> Clouds)
{
    /// <summary>Replicas of this shape other deployments hold per cloud (they take capacity).</summary>
    public IReadOnlyDictionary<string, int> UsedByOthers { get; init; } = new Dictionary<string, int>();

    /// <summary>This deployment's replicas per cloud now; keeping them in place is preferred (stability).</summary>
    public IReadOnlyDictionary<string, int> Current { get; init; } = new Dictionary<string, int>();

    public IReadOnlyList<Block> Blocks { get; init; } = [];
}

/// <summary>Replicas in one cloud, and what they cost per hour.</summary>
public sealed record PlacedReplicas(string Cloud, string Region, string Jurisdiction, int OnDemand, int Spot, decimal HourlyCost)
{
    public int Replicas => OnDemand + Spot;
}

/// <summary>A cloud the planner did not use, and why.</summary>
public sealed record RejectedCandidate(string Cloud, string Region, string Jurisdiction, string Reason);

/// <summary>
/// The planner's answer: a placement with its hourly cost and how many current replicas it moves, or why there is
/// none (which constraint cannot be met and by how much); in both cases the rejected candidates with reasons.
/// </summary>
public sealed record PlacementPlan(IReadOnlyList<PlacedReplicas> Placement, decimal HourlyCost, int Moves, IReadOnlyList<RejectedCandidate> Rejected, string? Infeasible)
{
    public bool Feasible => Infeasible is null;

    public int Replicas => Placement.Sum(p => p.Replicas);

    public int In(string cloud) => Placement.FirstOrDefault(p => p.Cloud == cloud)?.Replicas ?? 0;
}
