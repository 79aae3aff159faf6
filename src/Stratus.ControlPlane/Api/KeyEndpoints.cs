using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Auth;
using Stratus.Core.Api;
using Stratus.Core.Deployments;
using Stratus.Core.Routing;
using static Stratus.ControlPlane.Api.ApiHttp;

namespace Stratus.ControlPlane.Api;

/// <summary><c>/deployments/{name}/keys</c>: a private deployment's inference keys, which gateways check.</summary>
internal static class KeyEndpoints
{
    public static RouteGroupBuilder MapKeys(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        api.MapPost("/deployments/{name}/keys", async (HttpContext context, string name) =>
        {
            var (request, malformed) = await ReadJsonAsync<KeyRequest>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (await FindAsync(services, name, context.RequestAborted) is null)
            {
                return NoSuchDeployment(name);
            }

            var (id, key) = InferenceKeys.New();
            var stored = new DeploymentKey(id, name, request?.Description ?? string.Empty, InferenceKeys.Hash(key), DateTimeOffset.UtcNow, null);
            await services.Deployments.AddKeyAsync(stored, context.RequestAborted);
            await services.Audit.AppendAsync(context.Actor(), "key.create", $"{name}/{id}", null, Serialize(new { id, stored.Description }), context.RequestAborted);
            await PublishAsync(services, context.RequestAborted);
            return Results.Json(new NewKey(id, name, stored.Description, key), ControlPlaneApi.Json, statusCode: StatusCodes.Status201Created);
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Create an inference key for a deployment", "Callers of a private deployment send it as 'Authorization: Bearer sk_...' to the gateway. The key is in this answer only; the store and the route table keep its SHA-256.")
            .Accepts<KeyRequest>("application/json")
            .Produces<NewKey>(StatusCodes.Status201Created);

        api.MapGet("/deployments/{name}/keys", async (HttpContext context, string name) =>
            Results.Json((await services.Deployments.ListKeysAsync(context.RequestAborted)).Where(k => k.Deployment == name).Select(k => new KeyView(k.Id, k.Deployment, k.Description, k.CreatedAt, k.RevokedAt)), ControlPlaneApi.Json))
            .Describe("List a deployment's inference keys (never the keys)")
            .Produces<KeyView[]>();

        api.MapDelete("/deployments/{name}/keys/{id}", async (HttpContext context, string name, string id) =>
        {
            if (!await services.Deployments.RevokeKeyAsync(name, id, context.RequestAborted))
            {
                return Problem(StatusCodes.Status404NotFound, "no such key", $"deployment '{name}' has no live key '{id}'");
            }

            await services.Audit.AppendAsync(context.Actor(), "key.revoke", $"{name}/{id}", null, null, context.RequestAborted);
            await PublishAsync(services, context.RequestAborted);
            return Results.NoContent();
        })
            .RequireAuthorization(RolePolicies.Deployer)
            .Describe("Revoke an inference key", "Gateways refuse it as soon as they have the new route table (within a second).")
            .Produces(StatusCodes.Status204NoContent);

        return api;
    }
}
