using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Audit;
using Stratus.ControlPlane.Auth;
using Stratus.ControlPlane.Deployments;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Routing;
using Stratus.Core.Auth;

namespace Stratus.ControlPlane.Api;

/// <summary>The parts the API works on.</summary>
public sealed record ControlPlaneServices(
    ITokenStore Tokens,
    IAuditLog Audit,
    ModelRegistry Models,
    DeploymentStore Deployments,
    RouteTablePublisher Routes,
    Action TriggerReconcile);

/// <summary>
/// The control plane's REST API under <c>/api/v1</c>. Every call carries a bearer token whose role must allow it
/// (401 without a valid token, 403 with too weak a role, and nothing changes either way); every change is appended
/// to the audit log with who made it and the state before and after; errors are <c>application/problem+json</c>.
/// </summary>
public static class ControlPlaneApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    public static void Map(IEndpointRouteBuilder app, ControlPlaneServices services)
    {
        var api = app.MapGroup("/api/v1");

        api.MapPost("/models/{name}", (HttpContext context, string name) => Authorized(context, services, Role.Deployer, async actor =>
        {
            try
            {
                var version = await services.Models.PushAsync(name, context.Request.Body, actor, cancellationToken: context.RequestAborted);
                await services.Audit.AppendAsync(actor, "model.push", $"{name}/{version.Version}", null, JsonSerializer.Serialize(new { version.Sha256, version.SizeBytes }, Json), context.RequestAborted);
                return Results.Json(version, Json, statusCode: StatusCodes.Status201Created);
            }
            catch (ModelRejectedException e)
            {
                return Problem(StatusCodes.Status400BadRequest, "model refused", e.Message);
            }
        }));

        api.MapGet("/models", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json(await services.Models.ListAsync(cancellationToken: context.RequestAborted), Json)));

        api.MapPut("/deployments/{name}", (HttpContext context, string name) => Authorized(context, services, Role.Deployer, async actor =>
        {
            var (request, malformed) = await ReadJsonAsync<DeploymentRequest>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            var problems = await ValidateAsync(name, request, services, context.RequestAborted);
            if (problems.Count > 0)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid deployment", string.Join("; ", problems));
            }

            var before = (await services.Deployments.ListAsync(context.RequestAborted)).FirstOrDefault(d => d.Name == name);
            var deployment = new Deployment(name, request!.Model!, request.Version!.Value, request.Replicas!.Value, request.Shape ?? "cpu-small");
            await services.Deployments.PutAsync(deployment, context.RequestAborted);
            await services.Audit.AppendAsync(actor, before is null ? "deployment.create" : "deployment.update", name, Serialize(before), Serialize(deployment), context.RequestAborted);
            services.TriggerReconcile();
            return Results.Json(deployment, Json, statusCode: before is null ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        }));

        api.MapGet("/deployments", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json(await services.Deployments.ListAsync(context.RequestAborted), Json)));

        api.MapGet("/deployments/{name}", (HttpContext context, string name) => Authorized(context, services, Role.Viewer, async _ =>
        {
            var deployment = (await services.Deployments.ListAsync(context.RequestAborted)).FirstOrDefault(d => d.Name == name);
            if (deployment is null)
            {
                return Problem(StatusCodes.Status404NotFound, "no such deployment", $"deployment '{name}' does not exist");
            }

            var replicas = (await services.Deployments.ListReplicasAsync(context.RequestAborted)).Where(r => r.Deployment == name);
            return Results.Json(new { deployment, replicas }, Json);
        }));

        api.MapDelete("/deployments/{name}", (HttpContext context, string name) => Authorized(context, services, Role.Deployer, async actor =>
        {
            var before = (await services.Deployments.ListAsync(context.RequestAborted)).FirstOrDefault(d => d.Name == name);
            if (before is null || !await services.Deployments.DeleteAsync(name, context.RequestAborted))
            {
                return Problem(StatusCodes.Status404NotFound, "no such deployment", $"deployment '{name}' does not exist");
            }

            await services.Audit.AppendAsync(actor, "deployment.delete", name, Serialize(before), null, context.RequestAborted);
            services.TriggerReconcile();
            return Results.NoContent();
        }));

        api.MapGet("/routes", (HttpContext context, long? after, int? timeoutSeconds) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json(
                after is { } held
                    ? await services.Routes.WaitForNewerAsync(held, TimeSpan.FromSeconds(Math.Clamp(timeoutSeconds ?? 30, 0, 60)), context.RequestAborted)
                    : services.Routes.Current,
                Json)));

        api.MapGet("/audit", (HttpContext context, long? after) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json(await services.Audit.ListAsync(after ?? 0, 1000, context.RequestAborted), Json)));

        api.MapGet("/audit/verify", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json(await services.Audit.VerifyAsync(context.RequestAborted), Json)));

        api.MapPost("/tokens", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Admin, async actor =>
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
            await services.Audit.AppendAsync(actor, "token.create", created.Info.Id, null, Serialize(created.Info), context.RequestAborted);
            return Results.Json(new { created.Info.Id, Role = role.ToWireName(), created.Info.Description, Token = created.Secret }, Json, statusCode: StatusCodes.Status201Created);
        }));

        api.MapGet("/tokens", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Admin, async _ =>
            Results.Json((await services.Tokens.ListAsync(context.RequestAborted)).Select(t => new { t.Id, Role = t.Role.ToWireName(), t.Description, t.CreatedAt, t.RevokedAt }), Json)));

        api.MapDelete("/tokens/{id}", (HttpContext context, string id) => Authorized(context, services, Role.Admin, async actor =>
        {
            if (!await services.Tokens.RevokeAsync(id, context.RequestAborted))
            {
                return Problem(StatusCodes.Status404NotFound, "no such token", $"no live token '{id}'");
            }

            await services.Audit.AppendAsync(actor, "token.revoke", id, null, null, context.RequestAborted);
            return Results.NoContent();
        }));
    }

    /// <summary>Runs the action only for a valid token whose role allows it; the action gets the caller's identity.</summary>
    private static async Task<IResult> Authorized(HttpContext context, ControlPlaneServices services, Role required, Func<string, Task<IResult>> action)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return Problem(StatusCodes.Status401Unauthorized, "unauthorized", "send a token as 'Authorization: Bearer stratus_...'");
        }

        var token = await services.Tokens.AuthenticateAsync(header["Bearer ".Length..].Trim(), context.RequestAborted);
        if (token is null)
        {
            return Problem(StatusCodes.Status401Unauthorized, "unauthorized", "the token is unknown or revoked");
        }

        if (!token.Role.Allows(required))
        {
            return Problem(StatusCodes.Status403Forbidden, "forbidden", $"this needs the {required.ToWireName()} role; the token has {token.Role.ToWireName()}");
        }

        return await action($"token:{token.Id}");
    }

    private static async Task<List<string>> ValidateAsync(string name, DeploymentRequest? request, ControlPlaneServices services, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        try
        {
            ModelNames.Validate(name);
        }
        catch (ModelRejectedException e)
        {
            problems.Add(e.Message.Replace("model name", "deployment name", StringComparison.Ordinal));
        }

        if (request is null)
        {
            problems.Add("the body must be a JSON object");
            return problems;
        }

        if (request.Replicas is not (>= 0 and <= 1000))
        {
            problems.Add("'replicas' must be between 0 and 1000");
        }

        if (string.IsNullOrEmpty(request.Model) || request.Version is not { } version)
        {
            problems.Add("'model' and 'version' are required");
        }
        else if (await services.Models.GetAsync(request.Model, version, cancellationToken) is null)
        {
            problems.Add($"model {request.Model} version {version} is not in the registry");
        }

        return problems;
    }

    /// <summary>The body as <typeparamref name="T"/>, or the 400 to answer when it is not JSON of that shape.</summary>
    private static async Task<(T? Value, IResult? Problem)> ReadJsonAsync<T>(HttpContext context)
    {
        try
        {
            return (await JsonSerializer.DeserializeAsync<T>(context.Request.Body, Json, context.RequestAborted), null);
        }
        catch (JsonException e)
        {
            return (default, Problem(StatusCodes.Status400BadRequest, "malformed JSON", e.Message));
        }
    }

    private static string? Serialize<T>(T? value) => value is null ? null : JsonSerializer.Serialize(value, Json);

    private static IResult Problem(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);

    private sealed record DeploymentRequest(string? Model, int? Version, int? Replicas, string? Shape);

    private sealed record TokenRequest(string? Role, string? Description);
}
