using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Stratus.ControlPlane.Auth;
using Stratus.ControlPlane.Deployments.Reconciliation;
using Stratus.ControlPlane.Deployments.Rollouts;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Routing;
using Stratus.ControlPlane.Store;
using Stratus.Core.Api;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Api;

/// <summary>The parts the API works on.</summary>
public sealed record ControlPlaneServices(
    ITokenStore Tokens,
    IAuditLog Audit,
    ModelRegistry Models,
    IDeploymentStateStore Deployments,
    RouteTablePublisher Routes,
    Action TriggerReconcile,
    IReadOnlyList<CloudSpec>? Clouds = null,
    IReadOnlyDictionary<string, ICloudProvider>? Providers = null,
    PlacementStatuses? Placement = null,
    BlockList? Blocks = null,
    Func<CancellationToken, Task>? PublishRoutes = null,
    IReadOnlyDictionary<string, Stratus.Core.Scaling.AutoscaleDecision>? Autoscaler = null,
    RolloutController? Rollouts = null,
    Stratus.ControlPlane.Load.GatewayLoads? GatewayLoads = null,
    Stratus.Core.Routing.IRequestSampleSink? RecordedSamples = null);

/// <summary>
/// The control plane's REST API under <c>/api/v1</c>, one file of endpoints per resource (<see cref="ModelEndpoints"/>,
/// <see cref="DeploymentEndpoints"/>, …). Every call carries a bearer token whose role must allow it: the bearer
/// scheme authenticates it and a role policy on each endpoint authorizes it (401 without a valid token, 403 with too
/// weak a role, and nothing changes either way). Every change is appended to the audit log with who made it and the
/// state before and after; errors are <c>application/problem+json</c>. The OpenAPI document is served at
/// <c>/api/v1/openapi.json</c>.
/// </summary>
public static class ControlPlaneApi
{
    /// <summary>The JSON the API speaks (<see cref="ApiJson.Strict"/>): camelCase names, enums as camelCase strings, unknown fields refused.</summary>
    public static JsonSerializerOptions Json => ApiJson.Strict;

    /// <summary>
    /// Registers what the API needs on the builder's services: the bearer scheme over <paramref name="tokens"/>, the
    /// role policies, and the OpenAPI document.
    /// </summary>
    public static void AddServices(IServiceCollection services, ITokenStore tokens)
    {
        services.AddStratusAuthorization(tokens);
        AddOpenApiDocument(services);
    }

    private static void AddOpenApiDocument(IServiceCollection services) => services.AddOpenApi("v1", options =>
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new() { Title = "Stratus control plane", Version = "v1", Description = "Every call needs 'Authorization: Bearer stratus_...'; errors are application/problem+json." };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
            {
                ["bearer"] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "A Stratus API token (admin, deployer or viewer)." },
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] }];
            return Task.CompletedTask;
        });
    });

    /// <summary>Maps every endpoint under <c>/api/v1</c>, each needing at least the viewer role, and the OpenAPI document.</summary>
    public static RouteGroupBuilder Map(IEndpointRouteBuilder app, ControlPlaneServices services)
    {
        var api = app.MapGroup("/api/v1");
        api
            .RequireAuthorization(RolePolicies.Viewer)
            .AddEndpointFilter(ApiHttp.RefuseEncodedBodies)
            .MapModels(services)
            .MapDeployments(services)
            .MapRollouts(services)
            .MapPlans(services)
            .MapKeys(services)
            .MapRoutes(services)
            .MapClouds(services)
            .MapAudit(services)
            .MapTokens(services)
            .MapGatewayLoad(services)
            .MapRecordedSamples(services);
        app.MapOpenApi("/api/{documentName}/openapi.json");
        return api;
    }

    /// <summary>Largest JSON request body (specs, scale, token requests); larger ones get 413 and change nothing.</summary>
    public const long MaxJsonBodyBytes = 1024 * 1024;
}
