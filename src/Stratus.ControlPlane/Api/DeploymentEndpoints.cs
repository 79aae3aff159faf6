using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Auth;
using Stratus.ControlPlane.Registry;
using Stratus.Core.Api;
using Stratus.Core.Deployments;
using Stratus.Core.Models;
using Stratus.Core.Placement;
using static Stratus.ControlPlane.Api.ApiHttp;

namespace Stratus.ControlPlane.Api;

/// <summary><c>/deployments</c>: apply a spec (create or update), scale, split traffic, list, show and delete.</summary>
internal static class DeploymentEndpoints
{
    public static RouteGroupBuilder MapDeployments(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        api.MapPut("/deployments/{name}", async (HttpContext context, string name) =>
        {
            var (spec, deployment, refused) = await DeploymentSpecReader.ReadAsync(context, name, services, requireFeasible: true);
            if (refused is not null)
            {
                return refused;
            }

            // Samples in the spec belong to the version it names; checked before anything is written.
            var actor = context.Actor();
            var sampled = await services.Models.GetAsync(deployment.Model, deployment.ModelVersion, context.RequestAborted);
            IReadOnlyList<string> samples = [.. spec!.Probes?.Samples?.Select(e => e.GetRawText()) ?? []];
            try
            {
                Samples.Check(sampled!.Signature, sampled.Name, samples, "spec", existing: 0);
            }
            catch (ModelRejectedException e)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid deployment", $"probes: {e.Message}");
            }

            var before = await FindAsync(services, name, context.RequestAborted);
            if (deployment == before)
            {
                // Applying the same spec again changes nothing, so nothing is written or audited (samples it has are skipped).
                return await AddSpecSamplesAsync(services, sampled, samples, actor, name, context.RequestAborted) ?? Results.Json(deployment, ControlPlaneApi.Json);
            }

            Rollout? rollout = null;
            if (spec.Strategy is { } strategyName && before is not null && before.ModelVersion != deployment.ModelVersion)
            {
                // A new version with a strategy: the rest of the spec applies now; the version goes through a rollout.
                if (!DeploymentSpecValidation.TryParseStrategy(strategyName, out var strategy))
                {
                    return Problem(StatusCodes.Status400BadRequest, "invalid deployment", DeploymentSpecValidation.StrategyProblem);
                }

                if (await RolloutEndpoints.InProgressAsync(services, name, context.RequestAborted) is { } inProgress)
                {
                    return inProgress;
                }

                rollout = new Rollout(name, strategy, before.ModelVersion, deployment.ModelVersion, deployment.Replicas, 0, DateTimeOffset.UtcNow, RolloutState.Progressing, "started from a spec");
                deployment = deployment with { ModelVersion = before.ModelVersion, Traffic = before.Traffic };
            }

            if (await AddSpecSamplesAsync(services, sampled, samples, actor, name, context.RequestAborted) is { } refusedSamples)
            {
                return refusedSamples;
            }

            await services.Deployments.PutAsync(deployment, context.RequestAborted);
            await services.Audit.AppendAsync(actor, before is null ? "deployment.create" : "deployment.update", name, Serialize(before), Serialize(deployment), context.RequestAborted);
            if (rollout is not null)
            {
                await services.Deployments.PutRolloutAsync(rollout, context.RequestAborted);
                await services.Audit.AppendAsync(actor, "rollout.start", name, null, Serialize(rollout), context.RequestAborted);
            }

            services.TriggerReconcile();
            return Results.Json(deployment, ControlPlaneApi.Json, statusCode: before is null ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Create or update a deployment", "Idempotent: the spec is the whole desired state. The reconciler acts on it at once.")
            .Accepts<DeploymentSpec>("application/json")
            .Produces<Deployment>(StatusCodes.Status201Created)
            .Produces<Deployment>();

        api.MapPost("/deployments/{name}/scale", async (HttpContext context, string name) =>
        {
            var (request, malformed) = await ReadJsonAsync<ScaleRequest>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (request?.Replicas is not (>= 0 and <= DeploymentSpecValidation.MaxReplicas) || request.Replicas is not { } replicas)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid scale", $"'replicas' must be between 0 and {DeploymentSpecValidation.MaxReplicas}");
            }

            if (await FindAsync(services, name, context.RequestAborted) is not { } before)
            {
                return NoSuchDeployment(name);
            }

            var after = before with { Replicas = replicas };
            if (services.Clouds is { Count: > 0 } all && Planner.Plan(new PlacementInput(after.PlacementSpec, all)) is { Feasible: false } plan)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid scale", $"placement is infeasible: {plan.Infeasible}");
            }

            await services.Deployments.PutAsync(after, context.RequestAborted);
            await services.Audit.AppendAsync(context.Actor(), "deployment.scale", name, Serialize(before), Serialize(after), context.RequestAborted);
            services.TriggerReconcile();
            return Results.Json(after, ControlPlaneApi.Json);
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Set a deployment's replica count")
            .Accepts<ScaleRequest>("application/json")
            .Produces<Deployment>();

        api.MapPost("/deployments/{name}/traffic", async (HttpContext context, string name) =>
        {
            var (splits, malformed) = await ReadJsonAsync<List<TrafficSplit>>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (await FindAsync(services, name, context.RequestAborted) is not { } before)
            {
                return NoSuchDeployment(name);
            }

            var problems = DeploymentSpecValidation.TrafficProblems(before.Model, splits ?? [], await DeploymentSpecReader.VersionsAsync(services, before.Model, context.RequestAborted));
            if (problems.Count > 0)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid traffic split", string.Join("; ", problems));
            }

            var after = before with { Traffic = splits ?? [] };
            await services.Deployments.PutAsync(after, context.RequestAborted);
            await services.Audit.AppendAsync(context.Actor(), "deployment.traffic", name, Serialize(before), Serialize(after), context.RequestAborted);
            services.TriggerReconcile();
            return Results.Json(after, ControlPlaneApi.Json);
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Split a deployment's traffic between model versions", "A list of {version, weight (percent, summing to 100), replicas?}; an empty list sends all traffic to the deployment's version. Each version runs its own replicas; gateways pick a version by weight.")
            .Accepts<TrafficSplit[]>("application/json")
            .Produces<Deployment>();

        api.MapGet("/deployments", async (HttpContext context, CancellationToken aborted) =>
        {
            var replicas = await services.Deployments.ListReplicasAsync(context.RequestAborted);
            var notes = await services.Deployments.ListConsistencyAsync(context.RequestAborted);
            return Results.Json((await services.Deployments.ListAsync(context.RequestAborted)).Select(d => Status(services, d, replicas, notes)), ControlPlaneApi.Json);
        })
            .Describe("List deployments with their replicas")
            .Produces<DeploymentStatus[]>();

        api.MapGet("/deployments/{name}", async (HttpContext context, string name) =>
            await FindAsync(services, name, context.RequestAborted) is { } deployment
                ? Results.Json(Status(services, deployment, await services.Deployments.ListReplicasAsync(context.RequestAborted), await services.Deployments.ListConsistencyAsync(context.RequestAborted)), ControlPlaneApi.Json)
                : NoSuchDeployment(name))
            .Describe("One deployment with its replicas: pending, starting, ready, draining or failed with a reason")
            .Produces<DeploymentStatus>();

        api.MapDelete("/deployments/{name}", async (HttpContext context, string name) =>
        {
            var before = await FindAsync(services, name, context.RequestAborted);
            if (before is null || !await services.Deployments.DeleteAsync(name, context.RequestAborted))
            {
                return NoSuchDeployment(name);
            }

            await services.Audit.AppendAsync(context.Actor(), "deployment.delete", name, Serialize(before), null, context.RequestAborted);
            services.TriggerReconcile();
            return Results.NoContent();
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Delete a deployment", "Its replicas leave the route table, drain, then stop.")
            .Produces(StatusCodes.Status204NoContent);

        return api;
    }

    private static DeploymentStatus Status(ControlPlaneServices services, Deployment deployment, IReadOnlyList<ReplicaRecord> replicas, IReadOnlyList<ConsistencyNote> notes)
    {
        var mine = replicas.Where(r => r.Deployment == deployment.Name).ToList();
        return new DeploymentStatus(deployment, mine.Count(r => r.State == ReplicaState.Ready), mine)
        {
            Placement = services.Placement?.Get(deployment.Name),
            Autoscaler = services.Autoscaler?.GetValueOrDefault(deployment.Name)?.Reason,
            Consistency = [.. notes.Where(n => n.Deployment == deployment.Name)],
        };
    }

    /// <summary>
    /// Stores a spec's samples with the version it names (those it has are skipped) and audits them; the 400 to answer
    /// when the version has no room left for them, null otherwise.
    /// </summary>
    private static async Task<IResult?> AddSpecSamplesAsync(ControlPlaneServices services, ModelVersion version, IReadOnlyList<string> samples, string actor, string deployment, CancellationToken cancellationToken)
    {
        if (samples.Count == 0)
        {
            return null;
        }

        try
        {
            await ModelEndpoints.StoreSamplesAsync(services, version, samples, "spec", actor, deployment, cancellationToken);
            return null;
        }
        catch (ModelRejectedException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid deployment", $"probes: {e.Message}");
        }
    }
}
