using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Auth;
using Stratus.Core.Scaling;

namespace Stratus.ControlPlane.Api;

/// <summary>
/// Gateways' load reports (<c>POST /api/v1/gateways/{id}/load</c>, a <see cref="GatewayLoadReport"/> with the
/// gateway's token; the deployer role is enough) and the gateways this server hears from (<c>GET /api/v1/gateways</c>).
/// A report that is not valid JSON of that shape, or names another gateway than the path, is refused whole with 400;
/// one whose sequence was applied already is answered 200 with <c>applied: false</c> and changes nothing.
/// </summary>
public static class GatewayLoadEndpoints
{
    public static RouteGroupBuilder MapGatewayLoad(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.GatewayLoads is not { } loads)
        {
            return api;
        }

        api.MapPost("/gateways/{id}/load", async (HttpContext context, string id) =>
        {
            var (report, malformed) = await ApiHttp.ReadJsonAsync<GatewayLoadReport>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            var problems = report is null ? ["the body must be a load report"] : report.Problems().ToList();
            if (report is not null && report.Gateway != id)
            {
                problems.Add($"the report is from gateway '{report.Gateway}', not '{id}'");
            }

            if (problems.Count > 0)
            {
                return Results.Problem(detail: string.Join("; ", problems), statusCode: StatusCodes.Status400BadRequest, title: "invalid load report");
            }

            return Results.Json(new LoadReportReceipt(report!.Sequence, loads.Apply(report)), ControlPlaneApi.Json);
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Report a gateway's load", "Sent by each gateway every 500 ms; a sequence already applied from that gateway is acknowledged and ignored.")
            .Accepts<GatewayLoadReport>("application/json")
            .Produces<LoadReportReceipt>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        api.MapGet("/gateways", () => Results.Json(loads.Gateways(), ControlPlaneApi.Json))
            .Describe("The gateways that report their load here", "'fresh' is false for a gateway silent for more than 5 s: its requests in flight no longer count.")
            .Produces<GatewayStatus[]>();
        return api;
    }
}
