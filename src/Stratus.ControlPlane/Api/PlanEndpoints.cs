using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Deployments.Reconciliation;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Api;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Api;

/// <summary><c>/deployments/{name}/plan</c>: a dry run of a spec, the placement the planner would choose now.</summary>
internal static class PlanEndpoints
{
    public static RouteGroupBuilder MapPlans(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        var providers = services.Providers ?? new Dictionary<string, ICloudProvider>();
        api.MapPost("/deployments/{name}/plan", async (HttpContext context, string name) =>
        {
            var (_, deployment, refused) = await DeploymentSpecReader.ReadAsync(context, name, services, requireFeasible: false);
            if (refused is not null)
            {
                return refused;
            }

            // What the reconciler's pass would plan now, from the same inputs: the capacity others hold, this deployment's replicas, the blocks.
            var plan = Planner.Plan(await PlanningInputs.ReadAsync(deployment, services.Deployments, providers, services.Clouds ?? [], services.Blocks, context.RequestAborted));
            return Results.Json(plan, ControlPlaneApi.Json);
        })
            .Describe("Plan a deployment without changing anything (a dry run)", "The placement the planner would choose now, its hourly cost and moves, and every rejected candidate with its reason; or why none is feasible.")
            .Accepts<DeploymentSpec>("application/json")
            .Produces<PlacementPlan>();

        return api;
    }
}
