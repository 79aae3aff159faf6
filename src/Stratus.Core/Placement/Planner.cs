using System.Globalization;
using Stratus.Core.Clouds;

namespace Stratus.Core.Placement;

/// <summary>
/// Turns a placement spec, the clouds, what runs now and what is blocked into the cheapest placement that holds every
/// constraint (or, with <see cref="PlacementStrategy.Ordered"/>, the most preferred one), and explains every cloud it
/// did not use. Pure: no I/O, no clock, no randomness.
/// <para>
/// Candidates are filtered first (shape, allowed and forbidden clouds and regions, jurisdiction, blocks, user
/// latency budgets, free capacity), each rejection with its reason. A blocked cloud where the deployment already runs
/// replicas stays a candidate for at most those replicas: a block stops new launches, it never evicts what runs. An exact dynamic programme then chooses how many
/// replicas, on-demand and spot, go to each candidate: clouds are visited grouped by region, and the state is
/// (replicas placed, distinct clouds so far capped at minClouds, distinct regions capped at minRegions, user
/// locations covered, on-demand replicas capped at minOnDemand, whether the current region is used). Its cost is
/// the hourly price plus a stability penalty of <see cref="MovePenaltyFraction"/> of a cloud's on-demand price for
/// each current replica the placement takes away from it, so a replica moves only for a saving larger than that.
/// </para>
/// </summary>
public static class Planner
{
    /// <summary>Moving a replica must save more than this share of its current cloud's on-demand hourly price.</summary>
    public const decimal MovePenaltyFraction = 0.25m;

    /// <summary>Costs are exact integers in units of 1e-8 dollars per hour.</summary>
    private const decimal Scale = 100_000_000m;

    private const long Unreachable = long.MaxValue;

    public static PlacementPlan Plan(PlacementInput input)
    {
        var spec = input.Spec;
        var rejected = new List<RejectedCandidate>();
        var candidates = new List<Candidate>();
        foreach (var cloud in Ordered(input))
        {
            var reason = Reject(input, cloud);
            if (reason is not null)
            {
                rejected.Add(new RejectedCandidate(cloud.Name, cloud.Region, cloud.Jurisdiction, reason));
                continue;
            }

            candidates.Add(Candidate.Of(input, cloud));
        }

        // The programme counts distinct regions by visiting each region's clouds together; the preference order
        // (the order of filtering) is kept for the ordered strategy.
        var preferred = candidates.ToList();
        candidates = [.. candidates.OrderBy(c => c.Cloud.Region, StringComparer.Ordinal).ThenBy(c => preferred.IndexOf(c))];
        var infeasible = StaticallyInfeasible(input, candidates, rejected);
        if (infeasible is not null)
        {
            return new PlacementPlan([], 0, 0, rejected, infeasible);
        }

        var counts = Solve(spec, candidates, [.. preferred.Select(c => candidates.IndexOf(c))]);
        if (counts is null)
        {
            return new PlacementPlan(
                [],
                0,
                0,
                rejected,
                $"no placement of {spec.Replicas} replicas over the {candidates.Count} candidate clouds meets {Describe(spec)} together");
        }

        var placement = new List<PlacedReplicas>();
        for (var i = 0; i < candidates.Count; i++)
        {
            var (n, onDemand) = counts[i];
            var c = candidates[i];
            if (n == 0)
            {
                rejected.Add(new RejectedCandidate(c.Cloud.Name, c.Cloud.Region, c.Cloud.Jurisdiction, "feasible, but not part of the best placement"));
                continue;
            }

            var price = c.Cloud.Prices[spec.Shape];
            placement.Add(new PlacedReplicas(c.Cloud.Name, c.Cloud.Region, c.Cloud.Jurisdiction, onDemand, n - onDemand, (onDemand * price.OnDemandPerHour) + ((n - onDemand) * price.SpotPerHour)));
        }

        var moves = input.Current.Sum(kv => Math.Max(0, kv.Value - (placement.FirstOrDefault(p => p.Cloud == kv.Key)?.Replicas ?? 0)));
        return new PlacementPlan(placement, placement.Sum(p => p.HourlyCost), moves, rejected, null);
    }

    /// <summary>The clouds in the order the strategy prefers: the allowed list's order for <see cref="PlacementStrategy.Ordered"/>.</summary>
    private static IEnumerable<CloudSpec> Ordered(PlacementInput input)
    {
        var preference = input.Spec.AllowedClouds.ToList();
        return input.Spec.Strategy == PlacementStrategy.Ordered && preference.Count > 0
            ? input.Clouds.OrderBy(c => preference.IndexOf(c.Name) is var i and >= 0 ? i : int.MaxValue)
            : input.Clouds;
    }

    private static string? Reject(PlacementInput input, CloudSpec cloud)
    {
        var spec = input.Spec;
        if (!cloud.Capacity.TryGetValue(spec.Shape, out var capacity) || !cloud.Prices.ContainsKey(spec.Shape))
        {
            return $"offers no shape '{spec.Shape}'";
        }

        if (spec.AllowedClouds.Count > 0 && !spec.AllowedClouds.Contains(cloud.Name))
        {
            return "not in allowedClouds";
        }

        if (spec.ForbiddenClouds.Contains(cloud.Name))
        {
            return "in forbiddenClouds";
        }

        if (spec.AllowedRegions.Count > 0 && !spec.AllowedRegions.Contains(cloud.Region))
        {
            return $"region {cloud.Region} is not in allowedRegions";
        }

        if (spec.ForbiddenRegions.Contains(cloud.Region))
        {
            return $"region {cloud.Region} is in forbiddenRegions";
        }

        if (spec.Jurisdictions.Count > 0 && !spec.Jurisdictions.Contains(cloud.Jurisdiction))
        {
            return $"jurisdiction {cloud.Jurisdiction} is not in [{string.Join(", ", spec.Jurisdictions)}] (residency)";
        }

        if (Blocked(input, cloud) is { } block && input.Current.GetValueOrDefault(cloud.Name) == 0)
        {
            // A blocked cloud takes no new replica; one with replicas running stays a candidate for those (see Candidate.Of).
            return $"{block.Describe()} blocked until {block.Until.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}: {block.Reason}";
        }

        if (spec.Users.Count > 0 && Coverage(spec, cloud) == 0)
        {
            var nearest = spec.Users.Select(u => (User: u, Ms: LatencyEstimate.RoundTripMs(u.Location, cloud.Location))).MinBy(x => x.Ms - x.User.LatencyBudgetMs);
            return string.Create(CultureInfo.InvariantCulture, $"too far from every user location: est. {nearest.Ms:0} ms from {nearest.User.Name}, budget {nearest.User.LatencyBudgetMs:0} ms");
        }

        var used = input.UsedByOthers.GetValueOrDefault(cloud.Name);
        if (capacity - used <= 0)
        {
            return $"no '{spec.Shape}' capacity left ({used} of {capacity} held by other deployments)";
        }

        return null;
    }

    private static Block? Blocked(PlacementInput input, CloudSpec cloud) => input.Blocks.FirstOrDefault(b => b.Covers(cloud, input.Spec.Shape));

    private static int Coverage(PlacementSpec spec, CloudSpec cloud)
    {
        var mask = 0;
        for (var u = 0; u < spec.Users.Count; u++)
        {
            if (LatencyEstimate.RoundTripMs(spec.Users[u].Location, cloud.Location) <= spec.Users[u].LatencyBudgetMs)
            {
                mask |= 1 << u;
            }
        }

        return mask;
    }

    /// <summary>Infeasibility visible without search, said as the constraint and the shortfall.</summary>
    private static string? StaticallyInfeasible(PlacementInput input, List<Candidate> candidates, List<RejectedCandidate> rejected)
    {
        var spec = input.Spec;
        if (spec.SpotAllowed && spec.MinOnDemand > spec.Replicas)
        {
            return $"minOnDemand {spec.MinOnDemand} is more than replicas {spec.Replicas}";
        }

        if (spec.Replicas == 0)
        {
            return null;
        }

        for (var u = 0; u < spec.Users.Count; u++)
        {
            if (candidates.All(c => (c.Mask & (1 << u)) == 0))
            {
                var user = spec.Users[u];
                var pool = input.Clouds.Where(c => candidates.Any(k => k.Cloud == c) || rejected.Any(r => r.Cloud == c.Name && r.Reason.StartsWith("too far", StringComparison.Ordinal)));
                var nearest = pool.Select(c => (Cloud: c, Ms: LatencyEstimate.RoundTripMs(user.Location, c.Location))).OrderBy(x => x.Ms).FirstOrDefault();
                return nearest.Cloud is null
                    ? $"users {user.Name}: no candidate cloud within {user.LatencyBudgetMs:0} ms"
                    : string.Create(CultureInfo.InvariantCulture, $"users {user.Name}: no candidate cloud within {user.LatencyBudgetMs:0} ms; the nearest allowed, {nearest.Cloud.Name}, is est. {nearest.Ms:0} ms ({nearest.Ms - user.LatencyBudgetMs:0} ms over)");
            }
        }

        var room = candidates.Sum(c => c.Capacity);
        if (room < spec.Replicas)
        {
            var limit = spec.MaxPerCloud is { } max ? $" (at most {max} per cloud)" : string.Empty;
            return $"replicas: {spec.Replicas} wanted, but the {candidates.Count} candidate clouds can hold {room}{limit}: {spec.Replicas - room} short";
        }

        if (spec.MinClouds > spec.Replicas)
        {
            return $"minClouds: spreading over {spec.MinClouds} clouds needs at least {spec.MinClouds} replicas, replicas is {spec.Replicas}";
        }

        if (spec.MinClouds > candidates.Count)
        {
            return $"minClouds: {spec.MinClouds} clouds wanted, {candidates.Count} candidates: {spec.MinClouds - candidates.Count} short";
        }

        var regions = candidates.Select(c => c.Cloud.Region).Distinct().Count();
        if (spec.MinRegions > spec.Replicas)
        {
            return $"minRegions: spreading over {spec.MinRegions} regions needs at least {spec.MinRegions} replicas, replicas is {spec.Replicas}";
        }

        if (spec.MinRegions > regions)
        {
            return $"minRegions: {spec.MinRegions} regions wanted, the candidates span {regions}: {spec.MinRegions - regions} short";
        }

        return null;
    }

    private static string Describe(PlacementSpec spec)
    {
        var parts = new List<string>();
        if (spec.MinClouds > 1)
        {
            parts.Add($"minClouds {spec.MinClouds}");
        }

        if (spec.MinRegions > 1)
        {
            parts.Add($"minRegions {spec.MinRegions}");
        }

        if (spec.MaxPerCloud is { } max)
        {
            parts.Add($"maxPerCloud {max}");
        }

        if (spec.Users.Count > 0)
        {
            parts.Add($"the latency budgets of {string.Join(", ", spec.Users.Select(u => u.Name))}");
        }

        if (spec.SpotAllowed && spec.MinOnDemand > 0)
        {
            parts.Add($"minOnDemand {spec.MinOnDemand}");
        }

        return parts.Count == 0 ? "the capacity limits" : string.Join(", ", parts);
    }

    /// <summary>Replicas and on-demand replicas per candidate for the best placement, or null when none is feasible.</summary>
    private static (int Replicas, int OnDemand)[]? Solve(PlacementSpec spec, List<Candidate> candidates, int[] preference)
    {
        if (spec.Replicas == 0)
        {
            // Scaled to zero: spread, coverage and on-demand minimums have nothing to apply to.
            return new (int, int)[candidates.Count];
        }

        var low = new int[candidates.Count];
        var high = candidates.Select(c => c.Capacity).ToArray();
        if (spec.Strategy == PlacementStrategy.Ordered)
        {
            // Lexicographic: the most replicas the constraints allow in the first preference, then the next, ...
            foreach (var target in preference)
            {
                var best = Search(spec, candidates, low, high, (i, n, _) => i == target ? -n : 0);
                if (best is null)
                {
                    return null;
                }

                low[target] = high[target] = best[target].Replicas;
            }
        }

        return Search(spec, candidates, low, high, (i, n, onDemand) => candidates[i].Cost(n, onDemand, spec.SpotAllowed));
    }

    /// <summary>The dynamic programme: the cheapest choice of (replicas, on-demand) per candidate within [low, high] that meets every spread, coverage and on-demand constraint.</summary>
    private static (int Replicas, int OnDemand)[]? Search(PlacementSpec spec, List<Candidate> candidates, int[] low, int[] high, Func<int, int, int, long> cost)
    {
        var replicas = spec.Replicas;
        var clouds = Math.Max(0, spec.MinClouds);
        var regions = Math.Max(0, spec.MinRegions);
        var masks = 1 << spec.Users.Count;
        var onDemand = spec.SpotAllowed ? Math.Max(0, spec.MinOnDemand) : 0;
        var states = (replicas + 1) * (clouds + 1) * (regions + 1) * masks * (onDemand + 1) * 2;
        int Index(int r, int kc, int kr, int mask, int d, int flag) => (((((((r * (clouds + 1)) + kc) * (regions + 1)) + kr) * masks) + mask) * (onDemand + 1) + d) * 2 + flag;

        var dp = new long[states];
        Array.Fill(dp, Unreachable);
        dp[Index(0, 0, 0, 0, 0, 0)] = 0;

        // choice[i][state after candidate i] = (previous state, replicas, on-demand), for reconstruction.
        var from = new int[candidates.Count][];
        var picked = new int[candidates.Count][];
        for (var i = 0; i < candidates.Count; i++)
        {
            var c = candidates[i];
            var next = new long[states];
            Array.Fill(next, Unreachable);
            var previous = new int[states];
            var choice = new int[states];
            var newRegion = i == 0 || candidates[i - 1].Cloud.Region != c.Cloud.Region;
            for (var r = 0; r <= replicas; r++)
            {
                for (var kc = 0; kc <= clouds; kc++)
                {
                    for (var kr = 0; kr <= regions; kr++)
                    {
                        for (var mask = 0; mask < masks; mask++)
                        {
                            for (var d = 0; d <= onDemand; d++)
                            {
                                for (var flag = 0; flag < 2; flag++)
                                {
                                    var at = Index(r, kc, kr, mask, d, flag);
                                    var here = dp[at];
                                    if (here == Unreachable)
                                    {
                                        continue;
                                    }

                                    var regionUsed = newRegion ? 0 : flag;
                                    for (var n = low[i]; n <= Math.Min(high[i], replicas - r); n++)
                                    {
                                        var maxForced = spec.SpotAllowed ? Math.Min(n, onDemand - d) : 0;
                                        for (var forced = 0; forced <= maxForced; forced++)
                                        {
                                            var step = cost(i, n, forced);
                                            var to = n == 0
                                                ? Index(r, kc, kr, mask, d, regionUsed)
                                                : Index(r + n, Math.Min(clouds, kc + 1), regionUsed == 1 ? kr : Math.Min(regions, kr + 1), mask | c.Mask, Math.Min(onDemand, d + forced), 1);
                                            var total = here + step;
                                            if (total < next[to])
                                            {
                                                next[to] = total;
                                                previous[to] = at;
                                                choice[to] = (n << 16) | forced;
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }

            dp = next;
            from[i] = previous;
            picked[i] = choice;
        }

        var best = Unreachable;
        var end = -1;
        for (var flag = 0; flag < 2; flag++)
        {
            var at = Index(replicas, clouds, regions, masks - 1, onDemand, flag);
            if (dp[at] < best)
            {
                best = dp[at];
                end = at;
            }
        }

        if (end < 0)
        {
            return null;
        }

        var result = new (int, int)[candidates.Count];
        for (var i = candidates.Count - 1; i >= 0; i--)
        {
            var n = picked[i][end] >> 16;
            var forced = picked[i][end] & 0xFFFF;
            result[i] = (n, candidates[i].OnDemandCount(n, forced, spec.SpotAllowed));
            end = from[i][end];
        }

        return result;
    }

    /// <summary>A cloud that passed every filter, with what the programme needs of it.</summary>
    private sealed record Candidate(CloudSpec Cloud, int Capacity, int Mask, long OnDemandPrice, long SpotPrice, int Current, long MovePenalty)
    {
        public static Candidate Of(PlacementInput input, CloudSpec cloud)
        {
            var spec = input.Spec;
            var price = cloud.Prices[spec.Shape];
            var free = cloud.Capacity[spec.Shape] - input.UsedByOthers.GetValueOrDefault(cloud.Name);
            var capacity = Math.Min(Math.Min(free, spec.MaxPerCloud ?? int.MaxValue), spec.Replicas);
            if (Blocked(input, cloud) is not null)
            {
                // Blocked: it may keep the replicas that run there, and take no more.
                capacity = Math.Min(capacity, input.Current.GetValueOrDefault(cloud.Name));
            }

            return new Candidate(
                cloud,
                Math.Max(0, capacity),
                Coverage(spec, cloud),
                (long)(price.OnDemandPerHour * Scale),
                (long)(price.SpotPerHour * Scale),
                input.Current.GetValueOrDefault(cloud.Name),
                (long)(price.OnDemandPerHour * MovePenaltyFraction * Scale));
        }

        /// <summary>
        /// Hourly cost of <paramref name="n"/> replicas of which <paramref name="forced"/> must be on-demand; the rest
        /// take the cheaper of spot and on-demand when spot is allowed. Plus the penalty for current replicas removed.
        /// </summary>
        public long Cost(int n, int forced, bool spotAllowed)
        {
            var free = spotAllowed ? Math.Min(OnDemandPrice, SpotPrice) : OnDemandPrice;
            return (forced * OnDemandPrice) + ((n - forced) * free) + (Math.Max(0, Current - n) * MovePenalty);
        }

        public int OnDemandCount(int n, int forced, bool spotAllowed) => !spotAllowed || OnDemandPrice <= SpotPrice ? n : forced;
    }
}
