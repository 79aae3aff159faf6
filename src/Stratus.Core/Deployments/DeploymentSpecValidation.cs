using Stratus.Core.Api;
using Stratus.Core.Clouds;
using Stratus.Core.Models;
using Stratus.Core.Placement;

namespace Stratus.Core.Deployments;

/// <summary>A spec checked: the deployment it asks for, or every problem with it (then <see cref="Deployment"/> is null).</summary>
public sealed record DeploymentSpecCheck(Deployment? Deployment, IReadOnlyList<string> Problems);

/// <summary>
/// The checks a deployment spec must pass before it is stored or planned: its name, replicas, shape, model version,
/// placement, traffic split, autoscaling bounds and probes, and (when asked) that its placement is feasible on empty
/// clouds. Pure: what the registry holds comes in as the model's version numbers, so a test needs no server.
/// </summary>
public static class DeploymentSpecValidation
{
    public const int MaxReplicas = 1000;

    /// <summary>Most live requests a deployment may have recorded per version as samples (within the registry's limit).</summary>
    public const int MaxRecordedProbes = 32;

    public const string DefaultShape = "cpu-small";

    public const string StrategyProblem = "'strategy' must be rolling, canary, blue-green or shadow";

    /// <summary>
    /// Checks <paramref name="spec"/>, applied as deployment <paramref name="name"/>, against the clouds (none: shapes
    /// and cloud names are not checked) and <paramref name="modelVersions"/>, the versions the registry holds of the
    /// model the spec names. Problems are said as what to change, in the order a reader of the spec meets them.
    /// </summary>
    public static DeploymentSpecCheck Check(string name, DeploymentSpec? spec, IReadOnlyList<CloudSpec> clouds, IReadOnlyCollection<int> modelVersions, bool requireFeasible)
    {
        var problems = new List<string>();
        if (ResourceNames.Problem(name, "deployment name") is { } badName)
        {
            problems.Add(badName);
        }

        if (spec is null)
        {
            problems.Add("the body must be a JSON object");
            return Refused(problems);
        }

        if (spec.Name is not null && spec.Name != name)
        {
            problems.Add($"'name' is '{spec.Name}' but the URL names '{name}'");
        }

        if (spec.Replicas is not (>= 0 and <= MaxReplicas))
        {
            problems.Add($"'replicas' must be between 0 and {MaxReplicas}");
        }

        var shape = spec.Shape ?? DefaultShape;
        if (clouds.Count > 0 && !clouds.Any(c => c.Capacity.ContainsKey(shape)))
        {
            problems.Add($"no cloud offers shape '{shape}' (offered: {string.Join(", ", clouds.SelectMany(c => c.Capacity.Keys).Distinct().Order())})");
        }

        int? version = null;
        if (string.IsNullOrEmpty(spec.Model))
        {
            problems.Add("'model' is required");
        }
        else if (spec.Version is { } asked)
        {
            version = modelVersions.Contains(asked) ? asked : null;
            if (version is null)
            {
                problems.Add($"model {spec.Model} version {asked} is not in the registry");
            }
        }
        else
        {
            version = modelVersions.Count == 0 ? null : modelVersions.Max();
            if (version is null)
            {
                problems.Add($"model {spec.Model} is not in the registry; push it first");
            }
        }

        var placement = spec.Placement ?? new PlacementConstraints();
        problems.AddRange(placement.Problems());
        var known = clouds.Select(c => c.Name).ToHashSet();
        var unknown = placement.AllowedClouds.Concat(placement.ForbiddenClouds).Where(c => known.Count > 0 && !known.Contains(c)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            problems.Add($"no such cloud: {string.Join(", ", unknown)} (clouds: {string.Join(", ", known.Order())})");
        }

        if (problems.Count > 0)
        {
            return Refused(problems);
        }

        var traffic = spec.Traffic ?? [];
        if (TrafficProblems(spec.Model!, traffic, modelVersions) is { Count: > 0 } trafficProblems)
        {
            return Refused(trafficProblems);
        }

        if (spec.Autoscaling?.Problems() is { Count: > 0 } scalingProblems)
        {
            return Refused(scalingProblems);
        }

        if (spec.Probes?.Record is < 0 or > MaxRecordedProbes)
        {
            return Refused([$"'probes.record' must be between 0 and {MaxRecordedProbes}"]);
        }

        var replicas = spec.Autoscaling is { } bounds ? Math.Clamp(spec.Replicas!.Value, bounds.MinReplicas, bounds.MaxReplicas) : spec.Replicas!.Value;
        var deployment = new Deployment(name, spec.Model!, version!.Value, replicas, shape)
        {
            Placement = placement,
            Public = spec.Public ?? false,
            Traffic = traffic,
            Autoscaling = spec.Autoscaling,
            RecordProbes = spec.Probes?.Record ?? 0,
        };
        if (requireFeasible && clouds.Count > 0)
        {
            // Feasible on empty clouds, or it never will be: refused now with the constraint and the shortfall.
            var plan = Planner.Plan(new PlacementInput(deployment.PlacementSpec, clouds));
            if (!plan.Feasible)
            {
                return Refused([$"placement is infeasible: {plan.Infeasible}"]);
            }
        }

        return new DeploymentSpecCheck(deployment, []);
    }

    /// <summary>
    /// What is wrong with a traffic split of <paramref name="model"/>: weights must be 0..100 and sum to 100, versions
    /// distinct and among <paramref name="modelVersions"/>, at most one mirrored to. An empty split is sound.
    /// </summary>
    public static IReadOnlyList<string> TrafficProblems(string model, IReadOnlyList<TrafficSplit> traffic, IReadOnlyCollection<int> modelVersions)
    {
        var problems = new List<string>();
        if (traffic.Count == 0)
        {
            return problems;
        }

        if (traffic.Any(t => t is null || t.Weight is < 0 or > 100 || t.Replicas is < 0 or > MaxReplicas ||
            t.Mirror is { Percent: < 0 or > 100 } or { AbsoluteTolerance: < 0 } or { RelativeTolerance: < 0 }))
        {
            problems.Add($"each traffic entry needs a 'version', a 'weight' from 0 to 100 and, optionally, 'replicas' from 0 to {MaxReplicas} and a 'mirror' with 'percent' from 0 to 100 and tolerances not negative");
            return problems;
        }

        if (traffic.Count(t => t.Mirror is { Percent: > 0 }) > 1)
        {
            problems.Add("at most one version may be mirrored to");
        }

        if (traffic.Sum(t => t.Weight) != 100)
        {
            problems.Add($"traffic weights must sum to 100, not {traffic.Sum(t => t.Weight)}");
        }

        if (traffic.Select(t => t.Version).Distinct().Count() != traffic.Count)
        {
            problems.Add("each version may appear once in 'traffic'");
        }

        foreach (var split in traffic)
        {
            if (!modelVersions.Contains(split.Version))
            {
                problems.Add($"traffic names model {model} version {split.Version}, which is not in the registry");
            }
        }

        return problems;
    }

    /// <summary>A spec's or rollout's <c>strategy</c>: rolling, canary, blue-green (or blueGreen) or shadow.</summary>
    public static bool TryParseStrategy(string name, out RolloutStrategy strategy) =>
        Enum.TryParse(name.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out strategy);

    private static DeploymentSpecCheck Refused(IReadOnlyList<string> problems) => new(null, problems);
}
