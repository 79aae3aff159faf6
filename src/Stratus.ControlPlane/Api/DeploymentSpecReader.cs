using Microsoft.AspNetCore.Http;
using Stratus.ControlPlane.Registry;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;
using static Stratus.ControlPlane.Api.ApiHttp;

namespace Stratus.ControlPlane.Api;

/// <summary>Reads a deployment spec from a request body and turns it into the deployment it asks for, or the 400 to answer.</summary>
internal static class DeploymentSpecReader
{
    /// <summary>The body as a deployment spec and the deployment it asks for, or the 400 to answer (malformed or invalid).</summary>
    public static async Task<(DeploymentSpec? Spec, Deployment Deployment, IResult? Refused)> ReadAsync(HttpContext context, string name, ControlPlaneServices services, bool requireFeasible)
    {
        var (spec, malformed) = await ReadJsonAsync<DeploymentSpec>(context);
        if (malformed is not null)
        {
            return (null, null!, malformed);
        }

        var (deployment, problems) = await ValidateAsync(name, spec, services, requireFeasible, context.RequestAborted);
        return deployment is null
            ? (spec, null!, Problem(StatusCodes.Status400BadRequest, "invalid deployment", string.Join("; ", problems)))
            : (spec, deployment, null);
    }

    /// <summary>What is wrong with a traffic split: weights must be 0..100 and sum to 100, versions distinct and in the registry.</summary>
    public static async Task<List<string>> TrafficProblemsAsync(ControlPlaneServices services, string model, IReadOnlyList<TrafficSplit> traffic, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        if (traffic.Count == 0)
        {
            return problems;
        }

        if (traffic.Any(t => t is null || t.Weight is < 0 or > 100 || t.Replicas is < 0 or > ControlPlaneApi.MaxReplicas ||
            t.Mirror is { Percent: < 0 or > 100 } or { AbsoluteTolerance: < 0 } or { RelativeTolerance: < 0 }))
        {
            problems.Add($"each traffic entry needs a 'version', a 'weight' from 0 to 100 and, optionally, 'replicas' from 0 to {ControlPlaneApi.MaxReplicas} and a 'mirror' with 'percent' from 0 to 100 and tolerances not negative");
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
            if (await services.Models.GetAsync(model, split.Version, cancellationToken) is null)
            {
                problems.Add($"traffic names model {model} version {split.Version}, which is not in the registry");
            }
        }

        return problems;
    }

    /// <summary>The deployment a spec asks for, or every problem with it.</summary>
    private static async Task<(Deployment? Deployment, List<string> Problems)> ValidateAsync(string name, DeploymentSpec? spec, ControlPlaneServices services, bool requireFeasible, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        try
        {
            ModelNames.Validate(name);
        }
        catch (ModelRejectedException e)
        {
            problems.Add(e.Message.Replace("model name", "deployment name", StringComparison.Ordinal));
        }

        if (spec is null)
        {
            problems.Add("the body must be a JSON object");
            return (null, problems);
        }

        if (spec.Name is not null && spec.Name != name)
        {
            problems.Add($"'name' is '{spec.Name}' but the URL names '{name}'");
        }

        if (spec.Replicas is not (>= 0 and <= ControlPlaneApi.MaxReplicas))
        {
            problems.Add($"'replicas' must be between 0 and {ControlPlaneApi.MaxReplicas}");
        }

        var shape = spec.Shape ?? "cpu-small";
        if (services.Clouds is { Count: > 0 } clouds && !clouds.Any(c => c.Capacity.ContainsKey(shape)))
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
            version = await services.Models.GetAsync(spec.Model, asked, cancellationToken) is null ? null : asked;
            if (version is null)
            {
                problems.Add($"model {spec.Model} version {asked} is not in the registry");
            }
        }
        else
        {
            var versions = await services.Models.ListAsync(spec.Model, cancellationToken);
            version = versions.Count == 0 ? null : versions.Max(v => v.Version);
            if (version is null)
            {
                problems.Add($"model {spec.Model} is not in the registry; push it first");
            }
        }

        var placement = spec.Placement ?? new PlacementConstraints();
        problems.AddRange(placement.Problems());
        var known = services.Clouds?.Select(c => c.Name).ToHashSet() ?? [];
        var unknown = placement.AllowedClouds.Concat(placement.ForbiddenClouds).Where(c => known.Count > 0 && !known.Contains(c)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            problems.Add($"no such cloud: {string.Join(", ", unknown)} (clouds: {string.Join(", ", known.Order())})");
        }

        if (problems.Count > 0)
        {
            return (null, problems);
        }

        var traffic = spec.Traffic ?? [];
        problems.AddRange(await TrafficProblemsAsync(services, spec.Model!, traffic, cancellationToken));
        if (problems.Count > 0)
        {
            return (null, problems);
        }

        if (spec.Autoscaling is { } autoscaling)
        {
            problems.AddRange(autoscaling.Problems());
            if (problems.Count > 0)
            {
                return (null, problems);
            }
        }

        if (spec.Probes?.Record is < 0 or > ControlPlaneApi.MaxRecordedProbes)
        {
            return (null, [$"'probes.record' must be between 0 and {ControlPlaneApi.MaxRecordedProbes}"]);
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
        if (requireFeasible && services.Clouds is { Count: > 0 } all)
        {
            // Feasible on empty clouds, or it never will be: refused now with the constraint and the shortfall.
            var plan = Planner.Plan(new PlacementInput(deployment.PlacementSpec, all));
            if (!plan.Feasible)
            {
                return (null, [$"placement is infeasible: {plan.Infeasible}"]);
            }
        }

        return (deployment, problems);
    }
}
