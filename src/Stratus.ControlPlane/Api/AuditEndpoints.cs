using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.Core.Audit;

namespace Stratus.ControlPlane.Api;

/// <summary><c>/audit</c>: the hash-chained log of every change, and its check.</summary>
internal static class AuditEndpoints
{
    public static RouteGroupBuilder MapAudit(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        api.MapGet("/audit", async (HttpContext context, long? after) =>
            Results.Json(await services.Audit.ListAsync(after ?? 0, 1000, context.RequestAborted), ControlPlaneApi.Json))
            .Describe("Audit entries after a sequence number, up to 1000")
            .Produces<AuditEntry[]>();

        api.MapGet("/audit/verify", async (HttpContext context, CancellationToken aborted) =>
            Results.Json(await services.Audit.VerifyAsync(context.RequestAborted), ControlPlaneApi.Json))
            .Describe("Check the audit log's hash chain")
            .Produces<AuditVerification>();

        return api;
    }
}
