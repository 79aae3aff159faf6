using Stratus.Core.Clouds;

namespace Stratus.Core.Placement;

/// <summary>How the planner ranks feasible placements.</summary>
public enum PlacementStrategy
{
    /// <summary>Lowest hourly cost (SkyPilot's <c>any_of</c>).</summary>
    Cheapest,

    /// <summary>
    /// <see cref="PlacementSpec.AllowedClouds"/> in order of preference (SkyPilot's <c>ordered</c>): as many replicas
    /// as the constraints allow in the first, then the second, and so on; cost only breaks ties.
    /// </summary>
    Ordered,
}

/// <summary>Where users are and the round-trip latency they accept to their nearest replica.</summary>
public sealed record UserLocation(string Name, GeoLocation Location, double LatencyBudgetMs);

/// <summary>
/// What a deployment asks of its placement. Empty lists mean "no restriction". Every constraint is hard: a placement
/// breaking one is never returned.
/// </summary>
public sealed record PlacementSpec
{
    public int Replicas { get; init; } = 1;

    public string Shape { get; init; } = "cpu-small";

    public IReadOnlyList<string> AllowedClouds { get; init; } = [];

    public IReadOnlyList<string> ForbiddenClouds { get; init; } = [];

    public IReadOnlyList<string> AllowedRegions { get; init; } = [];

    public IReadOnlyList<string> ForbiddenRegions { get; init; } = [];

    /// <summary>Residency: only clouds under these jurisdictions (<c>eu</c>, <c>cn</c>, …).</summary>
    public IReadOnlyList<string> Jurisdictions { get; init; } = [];

    /// <summary>Spread: replicas in at least this many distinct clouds.</summary>
    public int MinClouds { get; init; }

    /// <summary>Spread: replicas in at least this many distinct regions.</summary>
    public int MinRegions { get; init; }

    /// <summary>Spread: at most this many replicas in one cloud (no single point of failure); null for no limit.</summary>
    public int? MaxPerCloud { get; init; }

    /// <summary>Each location needs a replica within its latency budget; clouds within no budget are not candidates.</summary>
    public IReadOnlyList<UserLocation> Users { get; init; } = [];

    public PlacementStrategy Strategy { get; init; } = PlacementStrategy.Cheapest;

    /// <summary>Spot replicas are allowed (cheaper, may be reclaimed); <see cref="MinOnDemand"/> are always on-demand.</summary>
    public bool SpotAllowed { get; init; }

    public int MinOnDemand { get; init; }
}
