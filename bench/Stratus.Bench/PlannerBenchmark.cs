using System.Diagnostics;
using System.Globalization;
using Stratus.Core.Clouds;
using Stratus.Core.Placement;

namespace Stratus.Bench;

/// <summary>
/// Planning time for many deployments over many clouds (issue target: 1,000 deployments over 50 clouds, under 50 ms
/// each). The reference, timed in the same run over the same inputs, is the cheapest-first fill the reconciler used
/// before the planner (no constraints but capacity), so the ratio says what the constraints and the exact search cost.
/// </summary>
internal static class PlannerBenchmark
{
    private static readonly string[] Jurisdictions = ["us", "eu", "cn", "sg", "jp"];

    public static int Run(Dictionary<string, string> options)
    {
        var deployments = int.Parse(options.GetValueOrDefault("deployments", "1000"), CultureInfo.InvariantCulture);
        var cloudCount = int.Parse(options.GetValueOrDefault("clouds", "50"), CultureInfo.InvariantCulture);
        var seed = int.Parse(options.GetValueOrDefault("seed", "1"), CultureInfo.InvariantCulture);
        var random = new Random(seed);
        var clouds = Enumerable.Range(0, cloudCount).Select(i => RandomCloud(random, i)).ToList();
        var inputs = Enumerable.Range(0, deployments).Select(_ => RandomInput(random, clouds)).ToList();

        // Warm-up (JIT, tiering) on a separate slice of inputs.
        foreach (var input in inputs.Take(100))
        {
            Planner.Plan(input);
            Greedy(input);
        }

        var plannerMs = new double[deployments];
        var greedyMs = new double[deployments];
        var infeasible = 0;
        for (var i = 0; i < deployments; i++)
        {
            var watch = Stopwatch.StartNew();
            var plan = Planner.Plan(inputs[i]);
            plannerMs[i] = watch.Elapsed.TotalMilliseconds;
            infeasible += plan.Feasible ? 0 : 1;
            watch.Restart();
            Greedy(inputs[i]);
            greedyMs[i] = watch.Elapsed.TotalMilliseconds;
        }

        Report("planner", plannerMs);
        Report("greedy reference", greedyMs);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"deployments {deployments}, clouds {cloudCount}, seed {seed}, infeasible {infeasible}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio planner/greedy: mean {plannerMs.Average() / greedyMs.Average():0.0}x"));
        return 0;
    }

    private static void Report(string name, double[] ms)
    {
        var sorted = ms.Order().ToArray();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{name,-17} mean {ms.Average():0.000} ms  p50 {sorted[sorted.Length / 2]:0.000} ms  p99 {sorted[(int)(sorted.Length * 0.99)]:0.000} ms  max {sorted[^1]:0.000} ms  total {ms.Sum():0} ms"));
    }

    private static CloudSpec RandomCloud(Random random, int i)
    {
        var onDemand = random.Next(60, 500) / 1000m;
        return new CloudSpec(
            $"cloud-{i:00}",
            "local",
            $"region-{i / 2:00}",
            Jurisdictions[i % Jurisdictions.Length],
            new GeoLocation(random.Next(-60, 70), random.Next(-180, 180)),
            new Dictionary<string, int> { ["cpu-small"] = random.Next(4, 41) },
            new Dictionary<string, ShapePrice> { ["cpu-small"] = new(onDemand, Math.Round(onDemand * random.Next(25, 60) / 100m, 3)) },
            TimeSpan.Zero);
    }

    private static PlacementInput RandomInput(Random random, List<CloudSpec> clouds)
    {
        var ordered = random.Next(5) == 0;
        var spec = new PlacementSpec
        {
            Replicas = random.Next(1, 21),
            Jurisdictions = random.Next(10) < 3 ? [Jurisdictions[random.Next(5)], Jurisdictions[random.Next(5)]] : [],
            MinClouds = random.Next(0, 4),
            MinRegions = random.Next(0, 4),
            MaxPerCloud = random.Next(10) < 3 ? random.Next(2, 8) : null,
            Users = random.Next(10) < 3
                ? [.. Enumerable.Range(0, random.Next(1, 3)).Select(u => new UserLocation($"u{u}", new GeoLocation(random.Next(-60, 70), random.Next(-180, 180)), random.Next(60, 250)))]
                : [],
            SpotAllowed = random.Next(2) == 0,
            MinOnDemand = random.Next(0, 3),
            Strategy = ordered ? PlacementStrategy.Ordered : PlacementStrategy.Cheapest,
            AllowedClouds = ordered ? [.. clouds.OrderBy(_ => random.Next()).Take(random.Next(3, 6)).Select(c => c.Name)] : [],
        };
        var current = clouds.Where(_ => random.Next(25) == 0).ToDictionary(c => c.Name, _ => random.Next(1, 4));
        var others = clouds.ToDictionary(c => c.Name, c => random.Next(0, c.Capacity["cpu-small"] / 2));
        return new PlacementInput(spec, clouds) { Current = current, UsedByOthers = others };
    }

    /// <summary>The reference: cheapest cloud first, as many as fit, no other constraint.</summary>
    private static int Greedy(PlacementInput input)
    {
        var left = input.Spec.Replicas;
        foreach (var cloud in input.Clouds.OrderBy(c => c.Prices["cpu-small"].OnDemandPerHour))
        {
            left -= Math.Min(left, cloud.Capacity["cpu-small"] - input.UsedByOthers.GetValueOrDefault(cloud.Name));
            if (left == 0)
            {
                break;
            }
        }

        return left;
    }
}
