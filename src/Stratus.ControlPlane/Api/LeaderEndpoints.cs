using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Leadership;
using Stratus.ControlPlane.Store;
using Stratus.Core.Api;

namespace Stratus.ControlPlane.Api;

/// <summary><c>GET /api/v1/leader</c>: whether the server asked leads, and the lease as the store holds it.</summary>
public static class LeaderEndpoints
{
    public static RouteGroupBuilder MapLeader(this RouteGroupBuilder api, LeaderElection election, ILeaseStore leases, LeadershipOptions options)
    {
        api.MapGet("/leader", async (CancellationToken aborted) =>
        {
            var lease = await leases.GetAsync(options.LeaseName, aborted);
            return Results.Json(
                new LeaderStatus(election.Holder, election.Leading is not null, lease?.Holder, lease?.Epoch ?? 0, lease?.ExpiresAt),
                ControlPlaneApi.Json);
        })
            .Describe("Which server leads", "Whether this server holds the control-plane lease (and so runs the reconciler, autoscaler and rollout controller), and the lease as stored: its holder, epoch and expiry.")
            .Produces<LeaderStatus>();
        return api;
    }
}
