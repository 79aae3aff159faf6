using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.Core.Api;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Api;

/// <summary><c>/deployments/{name}/plan</c>: a dry run of a spec, the placement the planner would choose now.</summary>
internal static class PlanEndpoints
{
    public static RouteGroupBuilder MapPlans(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        var clouds = services.Clouds ?? [];
        var providers = services.Providers ?? new Dictionary<string, ICloudProvider>();
        api.MapPost("/deployments/{name}/plan", async (HttpContext context, string name) =>
        {
            var (_, deployment, refused) = await DeploymentSpecReader.ReadAsync(context, name, services, requireFeasible: false);
            if (refused is not null)
            {
                return refused;
            }

            // What the reconciler would do now: with the capacity others hold, this deployment's replicas and the blocks.
            var replicas = (await services.Deployments.ListReplicasAsync(context.RequestAborted)).Where(r => r.State is not (ReplicaState.Failed or ReplicaState.Draining)).ToList();
            var plan = Planner.Plan(new PlacementInput(deployment.PlacementSpec, clouds.Where(c => providers.Count == 0 || providers.ContainsKey(c.Name)).ToList())
            {
                Current = replicas.Where(r => r.Deployment == name).GroupBy(r => r.Cloud).ToDictionary(g => g.Key, g => g.Count()),
                UsedByOthers = replicas.Where(r => r.Deployment != name && r.Shape == deployment.Shape).GroupBy(r => r.Cloud).ToDictionary(g => g.Key, g => g.Count()),
                Blocks = services.Blocks?.ActiveFor(name) ?? [],
            });
            return Results.Json(plan, ControlPlaneApi.Json);
        })
            .Describe("Plan a deployment without changing anything (a dry run)", "The placement the planner would choose now, its hourly cost and moves, and every rejected candidate with its reason; or why none is feasible.")
            .Accepts<DeploymentSpec>("application/json")
            .Produces<PlacementPlan>();

        return api;
    }
}
