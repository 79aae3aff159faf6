using Stratus.Core.Clouds;
using Stratus.Core.Placement;

namespace Stratus.Core.Tests.Placement;

/// <summary>The planner on the default three clouds and a few more: what it picks, and how it explains refusals.</summary>
public sealed class PlannerTests
{
    private static readonly CloudSpec[] Clouds =
    [
        Cloud("local-us", "us-east", "us", 38.9, -77.0, 8, 0.096m, 0.031m),
        Cloud("local-eu", "eu-west", "eu", 53.3, -6.3, 6, 0.107m, 0.036m),
        Cloud("local-ap", "ap-southeast", "sg", 1.35, 103.8, 4, 0.088m, 0.027m),
        Cloud("local-de", "eu-central", "eu", 50.1, 8.7, 2, 0.120m, 0.040m),
    ];

    private static CloudSpec Cloud(string name, string region, string jurisdiction, double lat, double lon, int capacity, decimal onDemand, decimal spot) => new(
        name, "local", region, jurisdiction, new GeoLocation(lat, lon),
        new Dictionary<string, int> { ["cpu-small"] = capacity },
        new Dictionary<string, ShapePrice> { ["cpu-small"] = new(onDemand, spot) },
        TimeSpan.Zero);

    private static PlacementPlan Plan(PlacementSpec spec, Dictionary<string, int>? current = null, List<Block>? blocks = null) =>
        Planner.Plan(new PlacementInput(spec, Clouds) { Current = current ?? [], Blocks = blocks ?? [] });

    [Fact]
    public void Cheapest_PutsEverythingInTheCheapestCloudWithRoom()
    {
        var plan = Plan(new PlacementSpec { Replicas = 5 });

        Assert.Equal(4, plan.In("local-ap"));
        Assert.Equal(1, plan.In("local-us"));
        Assert.Equal((4 * 0.088m) + 0.096m, plan.HourlyCost);
        Assert.Contains(plan.Rejected, r => r.Cloud == "local-eu" && r.Reason == "feasible, but not part of the best placement");
    }

    [Fact]
    public void Residency_OnlyEu_NeverLeavesTheEu()
    {
        var plan = Plan(new PlacementSpec { Replicas = 7, Jurisdictions = ["eu"] });

        Assert.Equal(6, plan.In("local-eu"));
        Assert.Equal(1, plan.In("local-de"));
        Assert.Contains(plan.Rejected, r => r.Cloud == "local-ap" && r.Reason == "jurisdiction sg is not in [eu] (residency)");
    }

    [Fact]
    public void Residency_MoreThanTheEuHolds_SaysByHowMuch()
    {
        var plan = Plan(new PlacementSpec { Replicas = 10, Jurisdictions = ["eu"] });

        Assert.False(plan.Feasible);
        Assert.Equal("replicas: 10 wanted, but the 2 candidate clouds can hold 8: 2 short", plan.Infeasible);
    }

    [Fact]
    public void Spread_ThreeCloudsAtMostTwoEach_PaysForResilience()
    {
        var plan = Plan(new PlacementSpec { Replicas = 5, MinClouds = 3, MaxPerCloud = 2 });

        Assert.Equal([2, 2, 1], plan.Placement.Select(p => p.Replicas).OrderDescending());
        Assert.Equal(2, plan.In("local-ap"));
        Assert.Equal(2, plan.In("local-us"));
        Assert.Equal(1, plan.In("local-eu"));
    }

    [Fact]
    public void Spread_MoreRegionsThanCandidates_IsExplained()
    {
        var plan = Plan(new PlacementSpec { Replicas = 3, MinRegions = 3, Jurisdictions = ["eu"] });

        Assert.Equal("minRegions: 3 regions wanted, the candidates span 2: 1 short", plan.Infeasible);
    }

    [Fact]
    public void Users_WithABudget_GetANearbyReplicaEach()
    {
        var plan = Plan(new PlacementSpec
        {
            Replicas = 2,
            Users = [new("dublin", new GeoLocation(53.3, -6.3), 30), new("singapore", new GeoLocation(1.3, 103.8), 30)],
        });

        Assert.Equal(1, plan.In("local-eu"));
        Assert.Equal(1, plan.In("local-ap"));
        Assert.StartsWith("too far from every user location", plan.Rejected.Single(r => r.Cloud == "local-us").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Users_NoCloudNearEnough_SaysHowFarOver()
    {
        var plan = Plan(new PlacementSpec { Replicas = 1, Users = [new("sydney", new GeoLocation(-33.9, 151.2), 40)] });

        Assert.Matches(@"^users sydney: no candidate cloud within 40 ms; the nearest allowed, local-ap, is est\. \d+ ms \(\d+ ms over\)$", plan.Infeasible);
    }

    [Fact]
    public void Ordered_FillsTheFirstPreferenceBeforeCost()
    {
        var plan = Plan(new PlacementSpec { Replicas = 8, Strategy = PlacementStrategy.Ordered, AllowedClouds = ["local-eu", "local-de", "local-us"] });

        Assert.Equal(6, plan.In("local-eu"));
        Assert.Equal(2, plan.In("local-de"));
        Assert.Equal(0, plan.In("local-us"));
    }

    [Fact]
    public void Spot_KeepsTheOnDemandMinimumOnTheSmallestPremium()
    {
        var plan = Plan(new PlacementSpec { Replicas = 4, SpotAllowed = true, MinOnDemand = 1 });

        var ap = plan.Placement.Single(p => p.Cloud == "local-ap");
        Assert.Equal((1, 3), (ap.OnDemand, ap.Spot));
        Assert.Equal(0.088m + (3 * 0.027m), plan.HourlyCost);
    }

    [Fact]
    public void Stability_ASmallSavingDoesNotMoveReplicas()
    {
        // local-us is 9% dearer than local-ap: below the 25% threshold, the running replicas stay.
        var plan = Plan(new PlacementSpec { Replicas = 2 }, current: new() { ["local-us"] = 2 });

        Assert.Equal(2, plan.In("local-us"));
        Assert.Equal(0, plan.Moves);
    }

    [Fact]
    public void Stability_ConstraintsStillForceMoves()
    {
        var plan = Plan(new PlacementSpec { Replicas = 2, Jurisdictions = ["eu"] }, current: new() { ["local-us"] = 2 });

        Assert.Equal(2, plan.In("local-eu"));
        Assert.Equal(2, plan.Moves);
    }

    [Fact]
    public void Blocks_SkipTheBlockedLocationAndSayUntilWhen()
    {
        var until = new DateTimeOffset(2026, 11, 23, 16, 30, 0, TimeSpan.Zero);
        var plan = Plan(new PlacementSpec { Replicas = 2 }, blocks: [new Block(BlockScope.Cloud, "local-ap", "ap-southeast", "cpu-small", "cloud local-ap is down", until)]);

        Assert.Equal(2, plan.In("local-us"));
        Assert.Equal("cloud local-ap blocked until 16:30:00: cloud local-ap is down", plan.Rejected.Single(r => r.Cloud == "local-ap").Reason);
    }

    [Fact]
    public void Blocks_KeepReplicasRunningInABlockedCloudButAddNone()
    {
        var until = new DateTimeOffset(2026, 11, 23, 16, 30, 0, TimeSpan.Zero);
        List<Block> blocked = [new Block(BlockScope.Cloud, "local-ap", "ap-southeast", "cpu-small", "refused a launch", until)];

        // Two replicas run in the cheapest cloud, now blocked: they stay, and a third goes elsewhere.
        var plan = Plan(new PlacementSpec { Replicas = 3 }, current: new() { ["local-ap"] = 2 }, blocks: blocked);

        Assert.Equal(2, plan.In("local-ap"));
        Assert.Equal(1, plan.In("local-us"));
        Assert.Equal(0, plan.Moves);
    }

    [Fact]
    public void Blocks_OfADeploymentCoverOnlyItsCloud()
    {
        var until = new DateTimeOffset(2026, 11, 23, 16, 30, 0, TimeSpan.Zero);
        var block = new Block(BlockScope.Deployment, "local-ap", "ap-southeast", "cpu-small", "its replica failed the consistency check", until) { Deployment = "vad" };
        var plan = Plan(new PlacementSpec { Replicas = 1 }, blocks: [block]);

        Assert.Equal(1, plan.In("local-us"));
        Assert.StartsWith("deployment vad in local-ap blocked until 16:30:00", plan.Rejected.Single(r => r.Cloud == "local-ap").Reason, StringComparison.Ordinal);
    }
}
