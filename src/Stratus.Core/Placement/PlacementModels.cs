using Stratus.Core.Clouds;

namespace Stratus.Core.Placement;

/// <summary>
/// How far a block reaches: this shape in this cloud, the cloud's region, or the whole cloud (the cloud's own faults,
/// which hold back every deployment), or one deployment in one cloud (faults of its model: it failed to load, crashed
/// at start, was not ready in time, or disagreed with itself), which holds back that deployment only.
/// </summary>
public enum BlockScope
{
    Shape,
    Region,
    Cloud,
    Deployment,
}

/// <summary>
/// A location the planner must not add replicas to for now (a refused launch, an outage, a deployment's failing
/// model), and why. Replicas that already run there stay: a block never evicts a running replica.
/// </summary>
public sealed record Block(BlockScope Scope, string Cloud, string Region, string Shape, string Reason, DateTimeOffset Until)
{
    /// <summary>The deployment a <see cref="BlockScope.Deployment"/> block holds back; null for the cloud's own blocks.</summary>
    public string? Deployment { get; init; }

    /// <summary>
    /// Whether it covers this cloud and shape. A deployment's block covers its cloud; the planner is only ever given
    /// the blocks of the deployment it plans (and the clouds' own).
    /// </summary>
    public bool Covers(CloudSpec cloud, string shape) => Scope switch
    {
        BlockScope.Cloud or BlockScope.Deployment => cloud.Name == Cloud,
        BlockScope.Region => cloud.Region == Region,
        _ => cloud.Name == Cloud && shape == Shape,
    };

    public string Describe() => Scope switch
    {
        BlockScope.Cloud => $"cloud {Cloud}",
        BlockScope.Region => $"region {Region}",
        BlockScope.Deployment => $"deployment {Deployment} in {Cloud}",
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
