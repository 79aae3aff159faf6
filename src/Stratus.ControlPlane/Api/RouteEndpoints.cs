using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Api;
using Stratus.Core.Deployments;
using Stratus.Core.Routing;
using static Stratus.ControlPlane.Api.ApiHttp;

namespace Stratus.ControlPlane.Api;

/// <summary><c>/routes</c> and <c>/replicas</c>: what runs where, what a replica wrote, and the route table gateways follow (a long-poll).</summary>
internal static class RouteEndpoints
{
    /// <summary>Most log lines one call returns.</summary>
    public const int MaxLogLines = 10_000;

    public static RouteGroupBuilder MapRoutes(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        api.MapGet("/replicas", async (HttpContext context, CancellationToken aborted) =>
            Results.Json(await services.Deployments.ListReplicasAsync(context.RequestAborted), ControlPlaneApi.Json))
            .Describe("Every replica with its state")
            .Produces<ReplicaRecord[]>();

        api.MapGet("/replicas/{id}/logs", (HttpContext context, string id, int? lines) => LogsAsync(services, id, lines ?? 100, context.RequestAborted))
            .Describe("The last lines a replica wrote", $"Its stdout and stderr as its cloud keeps them (a local replica's output, a container's log), oldest first; 'lines' from 1 to {MaxLogLines}, 100 by default.")
            .Produces<ReplicaLogs>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

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

    /// <summary>
    /// Asks the cloud the replica's record names first, then every other (a replica may run with no record: an orphan
    /// about to be stopped, or one whose record a pass has just dropped).
    /// </summary>
    private static async Task<IResult> LogsAsync(ControlPlaneServices services, string id, int lines, CancellationToken cancellationToken)
    {
        if (lines is < 1 or > MaxLogLines)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid lines", $"'lines' must be from 1 to {MaxLogLines}, not {lines}");
        }

        var record = (await services.Deployments.ListReplicasAsync(cancellationToken)).FirstOrDefault(r => r.Id == id);
        string? unreachable = null;
        foreach (var provider in (services.Providers?.Values ?? []).OrderBy(p => p.CloudName == record?.Cloud ? 0 : 1))
        {
            try
            {
                if (await provider.LogsAsync(id, lines, cancellationToken) is { } text)
                {
                    return Results.Json(new ReplicaLogs(id, provider.CloudName, text.Length == 0 ? [] : text.Split('\n')), ControlPlaneApi.Json);
                }
            }
            catch (ProvisioningException e) when (e.Scope == ProvisioningScope.Cloud)
            {
                unreachable ??= e.Message;
            }
        }

        return unreachable is null
            ? Problem(StatusCodes.Status404NotFound, "no such replica", $"no cloud knows replica '{id}'")
            : Problem(StatusCodes.Status503ServiceUnavailable, "cloud unreachable", $"replica '{id}' is not in the clouds that answered, and {unreachable}");
    }
}
