using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.Core.Deployments;
using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Api;

/// <summary><c>/routes</c> and <c>/replicas</c>: what runs where, and the route table gateways follow (a long-poll).</summary>
internal static class RouteEndpoints
{
    public static RouteGroupBuilder MapRoutes(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        api.MapGet("/replicas", async (HttpContext context, CancellationToken aborted) =>
            Results.Json(await services.Deployments.ListReplicasAsync(context.RequestAborted), ControlPlaneApi.Json))
            .Describe("Every replica with its state")
            .Produces<ReplicaRecord[]>();

        api.MapGet("/routes", async (HttpContext context, long? after, int? timeoutSeconds) =>
            Results.Json(
                after is { } held
                    ? await services.Routes.WaitForNewerAsync(held, TimeSpan.FromSeconds(Math.Clamp(timeoutSeconds ?? 30, 0, 60)), context.RequestAborted)
                    : services.Routes.Current,
                ControlPlaneApi.Json))
            .Describe("The route table gateways follow", "With 'after', a long-poll: answers as soon as the version is newer, or with the current table at the timeout.")
            .Produces<RouteTable>();

        return api;
    }
}
