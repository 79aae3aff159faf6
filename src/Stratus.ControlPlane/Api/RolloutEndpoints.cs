using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Auth;
using Stratus.Core.Api;
using Stratus.Core.Deployments;
using static Stratus.ControlPlane.Api.ApiHttp;

namespace Stratus.ControlPlane.Api;

/// <summary><c>/deployments/{name}/rollout</c>: start a rollout to a model version, show it, and act on it by hand.</summary>
internal static class RolloutEndpoints
{
    public static RouteGroupBuilder MapRollouts(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        api.MapPost("/deployments/{name}/rollout", async (HttpContext context, string name) =>
        {
            var (request, malformed) = await ReadJsonAsync<RolloutRequest>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (await FindAsync(services, name, context.RequestAborted) is not { } deployment)
            {
                return NoSuchDeployment(name);
            }

            var versions = (await services.Models.ListAsync(deployment.Model, context.RequestAborted)).Select(v => v.Version).ToList();
            var check = RolloutRequestValidation.Check(request, deployment, versions, DateTimeOffset.UtcNow);
            if (await InProgressAsync(services, name, context.RequestAborted) is { } inProgress)
            {
                return inProgress;
            }

            if (check.Rollout is not { } rollout)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid rollout", string.Join("; ", check.Problems));
            }

            await services.Deployments.PutRolloutAsync(rollout, context.RequestAborted);
            await services.Audit.AppendAsync(context.Actor(), "rollout.start", name, null, Serialize(rollout), context.RequestAborted);
            return Results.Json(rollout, ControlPlaneApi.Json, statusCode: StatusCodes.Status201Created);
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Start a rollout to a model version", "Strategies: rolling, canary (weights step up while canary analysis compares the new version's error rate, overall and per cloud, and p99 with the stable one's; it promotes or rolls back on its own; a failed canary attempt is retried on the stable version), blue-green, and shadow (live requests are mirrored to the new version and its answers compared with the stable ones, never returned; it promotes or rolls back on its own).")
            .Accepts<RolloutRequest>("application/json")
            .Produces<Rollout>(StatusCodes.Status201Created);

        api.MapGet("/deployments/{name}/rollout", async (HttpContext context, string name) =>
            (await services.Deployments.ListRolloutsAsync(context.RequestAborted)).FirstOrDefault(r => r.Deployment == name) is { } rollout
                ? Results.Json(rollout, ControlPlaneApi.Json)
                : Problem(StatusCodes.Status404NotFound, "no rollout", $"deployment '{name}' has no rollout"))
            .Describe("A deployment's rollout: strategy, versions, step, state and the reason for it")
            .Produces<Rollout>();

        api.MapPost("/deployments/{name}/rollout/{action}", async (HttpContext context, string name, string action) =>
        {
            if (action is not ("promote" or "pause" or "resume" or "rollback"))
            {
                return Problem(StatusCodes.Status400BadRequest, "unknown action", "the action must be promote, pause, resume or rollback");
            }

            if (services.Rollouts is null || await services.Rollouts.ActAsync(name, action, context.RequestAborted) is not { } rollout)
            {
                return Problem(StatusCodes.Status404NotFound, "no rollout in progress", $"deployment '{name}' has no rollout in progress");
            }

            await services.Audit.AppendAsync(context.Actor(), $"rollout.{action}", name, null, Serialize(rollout), context.RequestAborted);
            return Results.Json(rollout, ControlPlaneApi.Json);
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Promote, pause, resume or roll back a rollout by hand")
            .Produces<Rollout>();

        return api;
    }

    /// <summary>The 409 to answer when the deployment is rolling out already, null otherwise.</summary>
    public static async Task<IResult?> InProgressAsync(ControlPlaneServices services, string name, CancellationToken cancellationToken) =>
        (await services.Deployments.ListRolloutsAsync(cancellationToken)).FirstOrDefault(r => r.Deployment == name) is { State: RolloutState.Progressing or RolloutState.Paused } current
            ? Problem(StatusCodes.Status409Conflict, "rollout in progress", $"deployment {name} is already rolling out version {current.ToVersion}; promote or roll it back first")
            : null;
}
