using Stratus.Core.Clouds;

namespace Stratus.Core.Placement;

/// <summary>How the planner ranks feasible placements.</summary>
public enum PlacementStrategy
{
    /// <summary>Lowest hourly cost (SkyPilot's <c>any_of</c>).</summary>
    Cheapest,

    /// <summary>
    /// <see cref="PlacementConstraints.AllowedClouds"/> in order of preference (SkyPilot's <c>ordered</c>): as many replicas
    /// as the constraints allow in the first, then the second, and so on; cost only breaks ties.
    /// </summary>
    Ordered,
}

/// <summary>Where users are and the round-trip latency they accept to their nearest replica.</summary>
public sealed record UserLocation(string Name, GeoLocation Location, double LatencyBudgetMs);

/// <summary>
/// What a deployment asks of its placement, beyond how many replicas of which shape. Empty lists mean "no
/// restriction". Every constraint is hard: a placement breaking one is never returned. This is the <c>placement</c>
/// object of a deployment spec.
/// </summary>
public record PlacementConstraints
{
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

    /// <summary>Value equality, lists compared by their elements (a record alone compares list references).</summary>
    public virtual bool Equals(PlacementConstraints? other) =>
        other is not null && EqualityContract == other.EqualityContract &&
        AllowedClouds.SequenceEqual(other.AllowedClouds) && ForbiddenClouds.SequenceEqual(other.ForbiddenClouds) &&
        AllowedRegions.SequenceEqual(other.AllowedRegions) && ForbiddenRegions.SequenceEqual(other.ForbiddenRegions) &&
        Jurisdictions.SequenceEqual(other.Jurisdictions) && Users.SequenceEqual(other.Users) &&
        MinClouds == other.MinClouds && MinRegions == other.MinRegions && MaxPerCloud == other.MaxPerCloud &&
        Strategy == other.Strategy && SpotAllowed == other.SpotAllowed && MinOnDemand == other.MinOnDemand;

    public override int GetHashCode() => HashCode.Combine(AllowedClouds.Count, Jurisdictions.Count, MinClouds, MinRegions, MaxPerCloud, Strategy, SpotAllowed, MinOnDemand);

    /// <summary>The problems with these numbers, each said as what to change; empty when they are sound.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (MinClouds < 0 || MinRegions < 0 || MinOnDemand < 0)
        {
            problems.Add("'minClouds', 'minRegions' and 'minOnDemand' cannot be negative");
        }

        if (MaxPerCloud is < 1)
        {
            problems.Add("'maxPerCloud' must be at least 1");
        }

        if (MinClouds > 64 || MinRegions > 64 || MinOnDemand > 1000)
        {
            problems.Add("'minClouds' and 'minRegions' may be at most 64, 'minOnDemand' at most 1000");
        }

        if (Users.Count > 8)
        {
            problems.Add("at most 8 user locations");
        }

        foreach (var user in Users)
        {
            if (user is null || string.IsNullOrEmpty(user.Name) || user.Location is null || user.LatencyBudgetMs <= 0 ||
                Math.Abs(user.Location.Latitude) > 90 || Math.Abs(user.Location.Longitude) > 180)
            {
                problems.Add("each user location needs a 'name', a 'location' {latitude -90..90, longitude -180..180} and a positive 'latencyBudgetMs'");
                break;
            }
        }

        if (Strategy == PlacementStrategy.Ordered && AllowedClouds.Count == 0)
        {
            problems.Add("strategy 'ordered' needs 'allowedClouds' in order of preference");
        }

        if (AllowedClouds.Concat(ForbiddenClouds).Concat(AllowedRegions).Concat(ForbiddenRegions).Concat(Jurisdictions).Any(string.IsNullOrEmpty))
        {
            problems.Add("cloud, region and jurisdiction names cannot be empty");
        }

        return problems;
    }
}

/// <summary>A deployment's placement question: how many replicas of which shape, under which constraints.</summary>
public sealed record PlacementSpec : PlacementConstraints
{
    public PlacementSpec()
    {
    }

    public PlacementSpec(PlacementConstraints constraints, int replicas, string shape)
        : base(constraints)
    {
        Replicas = replicas;
        Shape = shape;
    }

    public int Replicas { get; init; } = 1;

    public string Shape { get; init; } = "cpu-small";
}
