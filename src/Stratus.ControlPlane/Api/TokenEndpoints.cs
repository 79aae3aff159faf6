using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Auth;
using Stratus.Core.Api;
using Stratus.Core.Auth;
using static Stratus.ControlPlane.Api.ApiHttp;

namespace Stratus.ControlPlane.Api;

/// <summary><c>/tokens</c>: the control plane's API tokens, admin only; a secret is shown once, then only its hash is kept.</summary>
internal static class TokenEndpoints
{
    public static RouteGroupBuilder MapTokens(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        api.MapPost("/tokens", async (HttpContext context, CancellationToken aborted) =>
        {
            var (request, malformed) = await ReadJsonAsync<TokenRequest>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (request?.Role is not { } roleName || !Roles.TryParse(roleName, out var role))
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid token request", "'role' must be admin, deployer or viewer");
            }

            var created = await services.Tokens.CreateAsync(role, request.Description ?? string.Empty, context.RequestAborted);
            await services.Audit.AppendAsync(context.Actor(), "token.create", created.Info.Id, null, Serialize(View(created.Info)), context.RequestAborted);
            return Results.Json(new NewToken(created.Info.Id, role.ToWireName(), created.Info.Description, created.Secret), ControlPlaneApi.Json, statusCode: StatusCodes.Status201Created);
        })
            .RequireAuthorization(RolePolicies.Admin)
            .Describe("Create a token", "The secret is in this answer only; the store keeps its hash.")
            .Accepts<TokenRequest>("application/json")
            .Produces<NewToken>(StatusCodes.Status201Created);

        api.MapGet("/tokens", async (HttpContext context, CancellationToken aborted) =>
            Results.Json((await services.Tokens.ListAsync(context.RequestAborted)).Select(View), ControlPlaneApi.Json))
            .RequireAuthorization(RolePolicies.Admin)
            .Describe("List tokens (never their secrets)")
            .Produces<TokenView[]>();

        api.MapDelete("/tokens/{id}", async (HttpContext context, string id) =>
        {
            if (!await services.Tokens.RevokeAsync(id, context.RequestAborted))
            {
                return Problem(StatusCodes.Status404NotFound, "no such token", $"no live token '{id}'");
            }

            await services.Audit.AppendAsync(context.Actor(), "token.revoke", id, null, null, context.RequestAborted);
            return Results.NoContent();
        })
            .RequireAuthorization(RolePolicies.Admin)
            .Describe("Revoke a token")
            .Produces(StatusCodes.Status204NoContent);

        return api;
    }

    private static TokenView View(TokenInfo token) => new(token.Id, token.Role.ToWireName(), token.Description, token.CreatedAt, token.RevokedAt);
}
