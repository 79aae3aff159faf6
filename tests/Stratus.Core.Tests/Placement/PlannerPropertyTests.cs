using Stratus.Core.Clouds;
using Stratus.Core.Placement;

namespace Stratus.Core.Tests.Placement;

/// <summary>
/// The planner against a brute-force optimum over thousands of random small instances: every placement of every
/// replica count over every cloud is tried, with the spec's rules checked here from scratch. The planner must find
/// a placement exactly when one exists, hold every constraint, and match the optimum's objective exactly.
/// </summary>
public sealed class PlannerPropertyTests
{
    private static readonly string[] Regions = ["r1", "r2", "r3"];
    private static readonly string[] Jurisdictions = ["us", "eu", "cn"];

    [Fact]
    public void Plan_OnRandomSmallInstances_MatchesTheBruteForceOptimum()
    {
        var random = new Random(20261123);
        var feasible = 0;
        for (var instance = 0; instance < 3000; instance++)
        {
            var input = RandomInput(random);
            var plan = Planner.Plan(input);
            var best = BruteForce(input);

            var context = $"instance {instance}: {Describe(input)} -> {(plan.Feasible ? string.Join(", ", plan.Placement.Select(p => $"{p.Cloud}:{p.OnDemand}+{p.Spot}")) : plan.Infeasible)}";
            if (best is null)
            {
                Assert.False(plan.Feasible, context);
                Assert.False(string.IsNullOrWhiteSpace(plan.Infeasible), context);
                continue;
            }

            feasible++;
            Assert.True(plan.Feasible, context + $"; brute force found {Objective(input, best)}");
            var chosen = input.Clouds.Select(c => (plan.Placement.FirstOrDefault(p => p.Cloud == c.Name) is { } p ? (p.Replicas, p.OnDemand) : (0, 0))).ToArray();
            Assert.True(Holds(input, chosen), context + " breaks a constraint");
            Assert.Equal(Objective(input, best), Objective(input, chosen));
            Assert.Equal(input.Current.Sum(kv => Math.Max(0, kv.Value - plan.In(kv.Key))), plan.Moves);
            Assert.Equal(input.Clouds.Count, plan.Placement.Count + plan.Rejected.Count);
        }

        // The generator must exercise both outcomes, or the comparison proves little.
        Assert.InRange(feasible, 600, 2600);
    }

    private static PlacementInput RandomInput(Random random)
    {
        var clouds = new List<CloudSpec>();
        var count = random.Next(1, 5);
        for (var i = 0; i < count; i++)
        {
            var onDemand = random.Next(50, 400) / 1000m;
            var spot = Math.Round(onDemand * random.Next(20, 110) / 100m, 3);
            var shapes = random.Next(6) == 0 ? "gpu" : "cpu-small";
            clouds.Add(new CloudSpec(
                $"c{i}",
                "local",
                Regions[random.Next(Regions.Length)],
                Jurisdictions[random.Next(Jurisdictions.Length)],
                new GeoLocation(random.Next(-60, 60), random.Next(-180, 180)),
                new Dictionary<string, int> { [shapes] = random.Next(0, 4) },
                new Dictionary<string, ShapePrice> { [shapes] = new(onDemand, spot) },
                TimeSpan.Zero));
        }

        var names = clouds.Select(c => c.Name).ToList();
        List<string> Subset(int chance) => random.Next(chance) == 0 ? [.. names.Where(_ => random.Next(2) == 0)] : [];
        var strategy = random.Next(3) == 0 ? PlacementStrategy.Ordered : PlacementStrategy.Cheapest;
        var allowed = Subset(3);
        if (strategy == PlacementStrategy.Ordered && allowed.Count == 0)
        {
            allowed = [.. names.OrderBy(_ => random.Next())];
        }

        var spec = new PlacementSpec
        {
            Replicas = random.Next(0, 5),
            Shape = "cpu-small",
            AllowedClouds = allowed,
            ForbiddenClouds = Subset(5),
            AllowedRegions = random.Next(6) == 0 ? [Regions[random.Next(3)], Regions[random.Next(3)]] : [],
            ForbiddenRegions = random.Next(8) == 0 ? [Regions[random.Next(3)]] : [],
            Jurisdictions = random.Next(4) == 0 ? [Jurisdictions[random.Next(3)], Jurisdictions[random.Next(3)]] : [],
            MinClouds = random.Next(4) == 0 ? random.Next(0, 4) : 0,
            MinRegions = random.Next(4) == 0 ? random.Next(0, 3) : 0,
            MaxPerCloud = random.Next(3) == 0 ? random.Next(1, 4) : null,
            Users = random.Next(3) == 0
                ? [.. Enumerable.Range(0, random.Next(1, 3)).Select(u => new UserLocation($"u{u}", new GeoLocation(random.Next(-60, 60), random.Next(-180, 180)), random.Next(40, 200)))]
                : [],
            Strategy = strategy,
            SpotAllowed = random.Next(2) == 0,
            MinOnDemand = random.Next(3) == 0 ? random.Next(0, 3) : 0,
        };
        var current = clouds.Where(_ => random.Next(3) == 0).ToDictionary(c => c.Name, _ => random.Next(1, 3));
        var others = clouds.Where(_ => random.Next(4) == 0).ToDictionary(c => c.Name, _ => random.Next(1, 3));
        var blocks = random.Next(6) == 0
            ? new List<Block> { new((BlockScope)random.Next(4), clouds[0].Name, clouds[0].Region, "cpu-small", "refused", DateTimeOffset.UnixEpoch) { Deployment = "d" } }
            : [];
        return new PlacementInput(spec, clouds) { Current = current, UsedByOthers = others, Blocks = blocks };
    }

    /// <summary>Whether a cloud may hold replicas at all, decided here from the spec's rules.</summary>
    private static bool Allowed(PlacementInput input, CloudSpec cloud)
    {
        var spec = input.Spec;
        return cloud.Capacity.ContainsKey(spec.Shape)
            && (spec.AllowedClouds.Count == 0 || spec.AllowedClouds.Contains(cloud.Name))
            && !spec.ForbiddenClouds.Contains(cloud.Name)
            && (spec.AllowedRegions.Count == 0 || spec.AllowedRegions.Contains(cloud.Region))
            && !spec.ForbiddenRegions.Contains(cloud.Region)
            && (spec.Jurisdictions.Count == 0 || spec.Jurisdictions.Contains(cloud.Jurisdiction))
            && (!IsBlocked(input, cloud) || input.Current.GetValueOrDefault(cloud.Name) > 0)
            && (spec.Users.Count == 0 || spec.Users.Any(u => Within(u, cloud)));
    }

    private static bool IsBlocked(PlacementInput input, CloudSpec cloud) => input.Blocks.Any(b => b.Scope switch
    {
        BlockScope.Cloud or BlockScope.Deployment => b.Cloud == cloud.Name,
        BlockScope.Region => b.Region == cloud.Region,
        _ => b.Cloud == cloud.Name && b.Shape == input.Spec.Shape,
    });

    private static bool Within(UserLocation user, CloudSpec cloud) => LatencyEstimate.RoundTripMs(user.Location, cloud.Location) <= user.LatencyBudgetMs;

    /// <summary>What a cloud may hold: its free capacity, within maxPerCloud; blocked, no more than runs there now.</summary>
    private static int Room(PlacementInput input, CloudSpec cloud) =>
        !Allowed(input, cloud) ? 0
        : Math.Min(
            Math.Min(cloud.Capacity[input.Spec.Shape] - input.UsedByOthers.GetValueOrDefault(cloud.Name), input.Spec.MaxPerCloud ?? int.MaxValue),
            IsBlocked(input, cloud) ? input.Current.GetValueOrDefault(cloud.Name) : int.MaxValue);

    private static bool Holds(PlacementInput input, (int Replicas, int OnDemand)[] chosen)
    {
        var spec = input.Spec;
        var clouds = input.Clouds;
        var used = Enumerable.Range(0, clouds.Count).Where(i => chosen[i].Replicas > 0).ToList();
        return chosen.Sum(c => c.Replicas) == spec.Replicas
            && Enumerable.Range(0, clouds.Count).All(i => chosen[i].Replicas <= Math.Max(0, Room(input, clouds[i])) && chosen[i].OnDemand <= chosen[i].Replicas && chosen[i].OnDemand >= 0)
            && (spec.SpotAllowed || chosen.All(c => c.OnDemand == c.Replicas))
            && (!spec.SpotAllowed || chosen.Sum(c => c.OnDemand) >= spec.MinOnDemand)
            && (spec.Replicas == 0 || used.Count >= spec.MinClouds)
            && (spec.Replicas == 0 || used.Select(i => clouds[i].Region).Distinct().Count() >= spec.MinRegions)
            && (spec.Replicas == 0 || spec.Users.All(u => used.Any(i => Within(u, clouds[i]))));
    }

    /// <summary>The objective: for ordered, replicas in each preferred cloud first (more is better), then cost; cost includes the stability penalty.</summary>
    private static string Objective(PlacementInput input, (int Replicas, int OnDemand)[] chosen)
    {
        var spec = input.Spec;
        var cost = 0m;
        for (var i = 0; i < input.Clouds.Count; i++)
        {
            var cloud = input.Clouds[i];
            var (n, onDemand) = chosen[i];
            if (n > 0)
            {
                var price = cloud.Prices[spec.Shape];
                cost += (onDemand * price.OnDemandPerHour) + ((n - onDemand) * price.SpotPerHour);
            }

            if (input.Current.GetValueOrDefault(cloud.Name) is var current and > 0)
            {
                cost += Math.Max(0, current - n) * cloud.Prices.Values.First().OnDemandPerHour * Planner.MovePenaltyFraction;
            }
        }

        var ranks = spec.Strategy == PlacementStrategy.Ordered
            ? string.Join(",", spec.AllowedClouds.Select(name => input.Clouds.ToList().FindIndex(c => c.Name == name)).Where(i => i >= 0).Select(i => (99 - chosen[i].Replicas).ToString("00", System.Globalization.CultureInfo.InvariantCulture)))
            : string.Empty;
        return $"{ranks}|{cost:0.00000000}";
    }

    private static (int Replicas, int OnDemand)[]? BruteForce(PlacementInput input)
    {
        var clouds = input.Clouds;
        var choices = clouds.Select(c =>
        {
            var room = Math.Max(0, Room(input, c));
            return Enumerable.Range(0, room + 1)
                .SelectMany(n => input.Spec.SpotAllowed ? Enumerable.Range(0, n + 1).Select(d => (n, d)) : [(n, n)])
                .ToList();
        }).ToList();

        (int, int)[]? best = null;
        string? bestObjective = null;
        var current = new (int, int)[clouds.Count];
        void Walk(int i, int placed)
        {
            if (placed > input.Spec.Replicas)
            {
                return;
            }

            if (i == clouds.Count)
            {
                if (Holds(input, current))
                {
                    var objective = Objective(input, current);
                    if (bestObjective is null || string.CompareOrdinal(objective, bestObjective) < 0)
                    {
                        bestObjective = objective;
                        best = [.. current];
                    }
                }

                return;
            }

            foreach (var choice in choices[i])
            {
                current[i] = choice;
                Walk(i + 1, placed + choice.Item1);
            }
        }

        Walk(0, 0);
        return best;
    }

    private static string Describe(PlacementInput input)
    {
        var spec = input.Spec;
        return $"R={spec.Replicas} {spec.Strategy} spot={spec.SpotAllowed}/{spec.MinOnDemand} minClouds={spec.MinClouds} minRegions={spec.MinRegions} max={spec.MaxPerCloud} " +
            $"allowed=[{string.Join(",", spec.AllowedClouds)}] users={spec.Users.Count} clouds=[{string.Join("; ", input.Clouds.Select(c => $"{c.Name} {c.Region} {c.Jurisdiction} cap {c.Capacity.Values.First()} {c.Prices.Values.First().OnDemandPerHour}/{c.Prices.Values.First().SpotPerHour} cur {input.Current.GetValueOrDefault(c.Name)} others {input.UsedByOthers.GetValueOrDefault(c.Name)}"))}]";
    }
}
