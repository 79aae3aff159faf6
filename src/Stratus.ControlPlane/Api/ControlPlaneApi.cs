using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
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
using Stratus.Core.Audit;
using Stratus.Core.Auth;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;
using Stratus.Core.Routing;

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
    Stratus.ControlPlane.Load.GatewayLoads? GatewayLoads = null);

/// <summary>
/// The control plane's REST API under <c>/api/v1</c>. Every call carries a bearer token whose role must allow it
/// (401 without a valid token, 403 with too weak a role, and nothing changes either way); every change is appended
/// to the audit log with who made it and the state before and after; errors are <c>application/problem+json</c>.
/// The OpenAPI document is served at <c>/api/v1/openapi.json</c>.
/// </summary>
public static class ControlPlaneApi
{
    /// <summary>The JSON the API speaks: camelCase names, enums as camelCase strings, unknown fields refused.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new TensorDataTypeJsonConverter(), new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Registers what the OpenAPI document needs (call on the builder's services).</summary>
    public static void AddOpenApiDocument(IServiceCollection services) => services.AddOpenApi("v1", options =>
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

    public static void Map(IEndpointRouteBuilder app, ControlPlaneServices services)
    {
        var api = app.MapGroup("/api/v1");
        var clouds = services.Clouds ?? [];
        var providers = services.Providers ?? new Dictionary<string, ICloudProvider>();

        api.MapPost("/models/{name}", (HttpContext context, string name) => Authorized(context, services, Role.Deployer, async actor =>
        {
            // Models may be far larger than any JSON body: the registry's own limit applies, checked as the upload streams.
            SetBodyLimit(context, ModelRegistry.DefaultMaxModelBytes + (ModelRegistry.MaxSamples * (long)ModelRegistry.MaxSampleBytes));
            try
            {
                var version = await ModelUploads.PushAsync(context, services.Models, name, actor);
                await services.Audit.AppendAsync(actor, "model.push", $"{name}/{version.Version}", null, JsonSerializer.Serialize(new { version.Sha256, version.SizeBytes, version.Samples }, Json), context.RequestAborted);
                return Results.Json(version, Json, statusCode: StatusCodes.Status201Created);
            }
            catch (ModelRejectedException e)
            {
                return Problem(StatusCodes.Status400BadRequest, "model refused", e.Message);
            }
        }))
            .Describe("Push a model", "The body is the .onnx file (application/octet-stream), or multipart/form-data with a 'model' part (the file) and any number of 'sample' parts: real v2 inference requests (JSON) that become the version's probe set. The model is validated in ONNX Runtime and every sample against its signature before anything is stored; the version is stored by SHA-256 with the next number.")
            .Accepts<Stream>("application/octet-stream", "multipart/form-data")
            .Produces<ModelVersion>(StatusCodes.Status201Created);

        api.MapPost("/models/{name}/versions/{version:int}/samples", (HttpContext context, string name, int version) => Authorized(context, services, Role.Deployer, async actor =>
        {
            var (samples, malformed) = await ReadSamplesAsync(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (await services.Models.GetAsync(name, version, context.RequestAborted) is not { } found)
            {
                return Problem(StatusCodes.Status404NotFound, "no such model version", $"model '{name}' has no version {version}");
            }

            try
            {
                await StoreSamplesAsync(services, found, samples, "api", actor, deployment: null, context.RequestAborted);
                return Results.Json(await services.Models.GetAsync(name, version, context.RequestAborted), Json);
            }
            catch (ModelRejectedException e)
            {
                return Problem(StatusCodes.Status400BadRequest, "sample refused", e.Message);
            }
        }))
            .Describe("Add sample requests to a model version", "The body is one v2 inference request or a JSON array of them. Each is checked against the version's signature; samples it already has are skipped. Samples are the probe set of the consistency check and what replicas warm up with.")
            .Accepts<JsonElement>("application/json")
            .Produces<ModelVersion>();

        api.MapGet("/models/{name}/versions/{version:int}/samples", (HttpContext context, string name, int version) => Authorized(context, services, Role.Viewer, async _ =>
            await services.Models.GetAsync(name, version, context.RequestAborted) is { } found
                ? Results.Json((await services.Models.ListSamplesAsync(found, context.RequestAborted)).Select(SampleView.Of), Json)
                : Problem(StatusCodes.Status404NotFound, "no such model version", $"model '{name}' has no version {version}")))
            .Describe("A model version's sample requests")
            .Produces<SampleView[]>();

        api.MapGet("/models", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json(await services.Models.ListAsync(cancellationToken: context.RequestAborted), Json)))
            .Describe("List every model version")
            .Produces<ModelVersion[]>();

        api.MapGet("/models/{name}", (HttpContext context, string name) => Authorized(context, services, Role.Viewer, async _ =>
        {
            var versions = await services.Models.ListAsync(name, context.RequestAborted);
            return versions.Count == 0
                ? Problem(StatusCodes.Status404NotFound, "no such model", $"model '{name}' has no versions")
                : Results.Json(versions, Json);
        }))
            .Describe("List one model's versions")
            .Produces<ModelVersion[]>();

        api.MapGet("/models/{name}/versions/{version:int}", (HttpContext context, string name, int version) => Authorized(context, services, Role.Viewer, async _ =>
            await services.Models.GetAsync(name, version, context.RequestAborted) is { } found
                ? Results.Json(found, Json)
                : Problem(StatusCodes.Status404NotFound, "no such model version", $"model '{name}' has no version {version}")))
            .Describe("One model version with its signature")
            .Produces<ModelVersion>();

        api.MapPut("/deployments/{name}", (HttpContext context, string name) => Authorized(context, services, Role.Deployer, async actor =>
        {
            var (spec, deployment, refused) = await ReadDeploymentAsync(context, name, services, requireFeasible: true);
            if (refused is not null)
            {
                return refused;
            }

            // Samples in the spec belong to the version it names; checked before anything is written.
            var sampled = await services.Models.GetAsync(deployment.Model, deployment.ModelVersion, context.RequestAborted);
            IReadOnlyList<string> samples = [.. spec!.Probes?.Samples?.Select(e => e.GetRawText()) ?? []];
            try
            {
                Samples.Check(sampled!.Signature, sampled.Name, samples, "spec", existing: 0);
            }
            catch (ModelRejectedException e)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid deployment", $"probes: {e.Message}");
            }

            var before = await FindAsync(services, name, context.RequestAborted);
            if (deployment == before)
            {
                // Applying the same spec again changes nothing, so nothing is written or audited (samples it has are skipped).
                return await AddSpecSamplesAsync(services, sampled, samples, actor, name, context.RequestAborted) ?? Results.Json(deployment, Json);
            }

            Rollout? rollout = null;
            if (spec.Strategy is { } strategyName && before is not null && before.ModelVersion != deployment.ModelVersion)
            {
                // A new version with a strategy: the rest of the spec applies now; the version goes through a rollout.
                if (!Enum.TryParse<RolloutStrategy>(strategyName.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var strategy))
                {
                    return Problem(StatusCodes.Status400BadRequest, "invalid deployment", "'strategy' must be rolling, canary, blue-green or shadow");
                }

                if ((await services.Deployments.ListRolloutsAsync(context.RequestAborted)).FirstOrDefault(r => r.Deployment == name) is { State: RolloutState.Progressing or RolloutState.Paused } current)
                {
                    return Problem(StatusCodes.Status409Conflict, "rollout in progress", $"deployment {name} is already rolling out version {current.ToVersion}; promote or roll it back first");
                }

                rollout = new Rollout(name, strategy, before.ModelVersion, deployment.ModelVersion, deployment.Replicas, 0, DateTimeOffset.UtcNow, RolloutState.Progressing, "started from a spec");
                deployment = deployment with { ModelVersion = before.ModelVersion, Traffic = before.Traffic };
            }

            if (await AddSpecSamplesAsync(services, sampled, samples, actor, name, context.RequestAborted) is { } refusedSamples)
            {
                return refusedSamples;
            }

            await services.Deployments.PutAsync(deployment, context.RequestAborted);
            await services.Audit.AppendAsync(actor, before is null ? "deployment.create" : "deployment.update", name, Serialize(before), Serialize(deployment), context.RequestAborted);
            if (rollout is not null)
            {
                await services.Deployments.PutRolloutAsync(rollout, context.RequestAborted);
                await services.Audit.AppendAsync(actor, "rollout.start", name, null, Serialize(rollout), context.RequestAborted);
            }

            services.TriggerReconcile();
            return Results.Json(deployment, Json, statusCode: before is null ? StatusCodes.Status201Created : StatusCodes.Status200OK);
        }))
            .Describe("Create or update a deployment", "Idempotent: the spec is the whole desired state. The reconciler acts on it at once.")
            .Accepts<DeploymentSpec>("application/json")
            .Produces<Deployment>(StatusCodes.Status201Created)
            .Produces<Deployment>();

        api.MapPost("/deployments/{name}/scale", (HttpContext context, string name) => Authorized(context, services, Role.Deployer, async actor =>
        {
            var (request, malformed) = await ReadJsonAsync<ScaleRequest>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (request?.Replicas is not (>= 0 and <= MaxReplicas) || request.Replicas is not { } replicas)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid scale", $"'replicas' must be between 0 and {MaxReplicas}");
            }

            if (await FindAsync(services, name, context.RequestAborted) is not { } before)
            {
                return NoSuchDeployment(name);
            }

            var after = before with { Replicas = replicas };
            if (services.Clouds is { Count: > 0 } all && Planner.Plan(new PlacementInput(after.PlacementSpec, all)) is { Feasible: false } plan)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid scale", $"placement is infeasible: {plan.Infeasible}");
            }

            await services.Deployments.PutAsync(after, context.RequestAborted);
            await services.Audit.AppendAsync(actor, "deployment.scale", name, Serialize(before), Serialize(after), context.RequestAborted);
            services.TriggerReconcile();
            return Results.Json(after, Json);
        }))
            .Describe("Set a deployment's replica count")
            .Accepts<ScaleRequest>("application/json")
            .Produces<Deployment>();

        api.MapPost("/deployments/{name}/traffic", (HttpContext context, string name) => Authorized(context, services, Role.Deployer, async actor =>
        {
            var (splits, malformed) = await ReadJsonAsync<List<TrafficSplit>>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (await FindAsync(services, name, context.RequestAborted) is not { } before)
            {
                return NoSuchDeployment(name);
            }

            var problems = await TrafficProblemsAsync(services, before.Model, splits ?? [], context.RequestAborted);
            if (problems.Count > 0)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid traffic split", string.Join("; ", problems));
            }

            var after = before with { Traffic = splits ?? [] };
            await services.Deployments.PutAsync(after, context.RequestAborted);
            await services.Audit.AppendAsync(actor, "deployment.traffic", name, Serialize(before), Serialize(after), context.RequestAborted);
            services.TriggerReconcile();
            return Results.Json(after, Json);
        }))
            .Describe("Split a deployment's traffic between model versions", "A list of {version, weight (percent, summing to 100), replicas?}; an empty list sends all traffic to the deployment's version. Each version runs its own replicas; gateways pick a version by weight.")
            .Accepts<TrafficSplit[]>("application/json")
            .Produces<Deployment>();

        api.MapPost("/deployments/{name}/rollout", (HttpContext context, string name) => Authorized(context, services, Role.Deployer, async actor =>
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

            var problems = new List<string>();
            if (request?.Version is not { } version || await services.Models.GetAsync(deployment.Model, version, context.RequestAborted) is null)
            {
                problems.Add($"'version' must be a version of model {deployment.Model} in the registry");
            }
            else if (version == deployment.ModelVersion)
            {
                problems.Add($"deployment {name} already runs version {version}");
            }

            if (!Enum.TryParse<RolloutStrategy>((request?.Strategy ?? "canary").Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var strategy))
            {
                problems.Add("'strategy' must be rolling, canary, blue-green or shadow");
            }

            var steps = request?.Steps ?? [10, 25, 50, 100];
            if (steps.Count == 0 || steps.Any(w => w is < 1 or > 100) || steps[^1] != 100 || !steps.Zip(steps.Skip(1)).All(p => p.First < p.Second))
            {
                problems.Add("'steps' must rise from 1 to 100 and end at 100");
            }

            if (request?.Replicas is < 1 or > MaxReplicas || request?.StepSeconds is < 1 || request?.MinRequests is < 1 || request?.MaxP99Ratio is < 1 || request?.P99SlackMs is < 0)
            {
                problems.Add($"'replicas' must be 1 to {MaxReplicas}, 'stepSeconds' and 'minRequests' positive, 'maxP99Ratio' at least 1, 'p99SlackMs' not negative");
            }

            if (request?.MaxErrorRateIncrease is < 0 or > 1 || request?.MirrorPercent is < 1 or > 100 || request?.AbsoluteTolerance is < 0 || request?.RelativeTolerance is < 0 || request?.MinArgmaxAgreement is < 0 or > 1)
            {
                problems.Add("'maxErrorRateIncrease' and 'minArgmaxAgreement' must be 0 to 1, 'mirrorPercent' 1 to 100, the tolerances not negative");
            }

            var current = (await services.Deployments.ListRolloutsAsync(context.RequestAborted)).FirstOrDefault(r => r.Deployment == name);
            if (current is { State: RolloutState.Progressing or RolloutState.Paused })
            {
                return Problem(StatusCodes.Status409Conflict, "rollout in progress", $"deployment {name} is already rolling out version {current.ToVersion}; promote or roll it back first");
            }

            if (problems.Count > 0)
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid rollout", string.Join("; ", problems));
            }

            var rollout = new Rollout(name, strategy, deployment.ModelVersion, request!.Version!.Value, request.Replicas ?? deployment.Replicas, 0, DateTimeOffset.UtcNow, RolloutState.Progressing, "started")
            {
                Steps = steps,
                StepDuration = TimeSpan.FromSeconds(request.StepSeconds ?? 60),
                MinRequests = request.MinRequests ?? 50,
                MaxLatencyRatio = request.MaxP99Ratio ?? 2.0,
                LatencySlack = TimeSpan.FromMilliseconds(request.P99SlackMs ?? 25),
                MaxErrorRateIncrease = request.MaxErrorRateIncrease ?? 0.01,
                Mirror = new MirrorSpec(request.MirrorPercent ?? 100, request.AbsoluteTolerance ?? 1e-4, request.RelativeTolerance ?? 1e-4),
                MinArgmaxAgreement = request.MinArgmaxAgreement ?? 0.99,
            };
            await services.Deployments.PutRolloutAsync(rollout, context.RequestAborted);
            await services.Audit.AppendAsync(actor, "rollout.start", name, null, Serialize(rollout), context.RequestAborted);
            return Results.Json(rollout, Json, statusCode: StatusCodes.Status201Created);
        }))
            .Describe("Start a rollout to a model version", "Strategies: rolling, canary (weights step up while canary analysis compares the new version's error rate, overall and per cloud, and p99 with the stable one's; it promotes or rolls back on its own; a failed canary attempt is retried on the stable version), blue-green, and shadow (live requests are mirrored to the new version and its answers compared with the stable ones, never returned; it promotes or rolls back on its own).")
            .Accepts<RolloutRequest>("application/json")
            .Produces<Rollout>(StatusCodes.Status201Created);

        api.MapGet("/deployments/{name}/rollout", (HttpContext context, string name) => Authorized(context, services, Role.Viewer, async _ =>
            (await services.Deployments.ListRolloutsAsync(context.RequestAborted)).FirstOrDefault(r => r.Deployment == name) is { } rollout
                ? Results.Json(rollout, Json)
                : Problem(StatusCodes.Status404NotFound, "no rollout", $"deployment '{name}' has no rollout")))
            .Describe("A deployment's rollout: strategy, versions, step, state and the reason for it")
            .Produces<Rollout>();

        api.MapPost("/deployments/{name}/rollout/{action}", (HttpContext context, string name, string action) => Authorized(context, services, Role.Deployer, async actor =>
        {
            if (action is not ("promote" or "pause" or "resume" or "rollback"))
            {
                return Problem(StatusCodes.Status400BadRequest, "unknown action", "the action must be promote, pause, resume or rollback");
            }

            if (services.Rollouts is null || await services.Rollouts.ActAsync(name, action, context.RequestAborted) is not { } rollout)
            {
                return Problem(StatusCodes.Status404NotFound, "no rollout in progress", $"deployment '{name}' has no rollout in progress");
            }

            await services.Audit.AppendAsync(actor, $"rollout.{action}", name, null, Serialize(rollout), context.RequestAborted);
            return Results.Json(rollout, Json);
        }))
            .Describe("Promote, pause, resume or roll back a rollout by hand")
            .Produces<Rollout>();

        api.MapPost("/deployments/{name}/plan", (HttpContext context, string name) => Authorized(context, services, Role.Viewer, async _ =>
        {
            var (_, deployment, refused) = await ReadDeploymentAsync(context, name, services, requireFeasible: false);
            if (refused is not null)
            {
                return refused;
            }

            // What the reconciler would do now: with the capacity others hold, this deployment's replicas and the blocks.
            var replicas = (await services.Deployments.ListReplicasAsync(context.RequestAborted)).Where(r => r.State is not (ReplicaState.Failed or ReplicaState.Draining)).ToList();
            var plan = Planner.Plan(new PlacementInput(deployment.PlacementSpec, clouds.Where(c => providers.Count == 0 || providers.ContainsKey(c.Name)).ToList())
            {
                Current = replicas.Where(r => r.Deployment == name).GroupBy(r => r.Cloud).ToDictionary(g => g.Key, g => g.Count()),
                UsedByOthers = replicas.Where(r => r.Deployment != name && r.Shape == deployment.Shape).GroupBy(r => r.Cloud).ToDictionary(g => g.Key, g => g.Count()),
                Blocks = services.Blocks?.ActiveFor(name) ?? [],
            });
            return Results.Json(plan, Json);
        }))
            .Describe("Plan a deployment without changing anything (a dry run)", "The placement the planner would choose now, its hourly cost and moves, and every rejected candidate with its reason; or why none is feasible.")
            .Accepts<DeploymentSpec>("application/json")
            .Produces<PlacementPlan>();

        api.MapGet("/deployments", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Viewer, async _ =>
        {
            var replicas = await services.Deployments.ListReplicasAsync(context.RequestAborted);
            var notes = await services.Deployments.ListConsistencyAsync(context.RequestAborted);
            return Results.Json((await services.Deployments.ListAsync(context.RequestAborted)).Select(d => Status(services, d, replicas, notes)), Json);
        }))
            .Describe("List deployments with their replicas")
            .Produces<DeploymentStatus[]>();

        api.MapGet("/deployments/{name}", (HttpContext context, string name) => Authorized(context, services, Role.Viewer, async _ =>
            await FindAsync(services, name, context.RequestAborted) is { } deployment
                ? Results.Json(Status(services, deployment, await services.Deployments.ListReplicasAsync(context.RequestAborted), await services.Deployments.ListConsistencyAsync(context.RequestAborted)), Json)
                : NoSuchDeployment(name)))
            .Describe("One deployment with its replicas: pending, starting, ready, draining or failed with a reason")
            .Produces<DeploymentStatus>();

        api.MapDelete("/deployments/{name}", (HttpContext context, string name) => Authorized(context, services, Role.Deployer, async actor =>
        {
            var before = await FindAsync(services, name, context.RequestAborted);
            if (before is null || !await services.Deployments.DeleteAsync(name, context.RequestAborted))
            {
                return NoSuchDeployment(name);
            }

            await services.Audit.AppendAsync(actor, "deployment.delete", name, Serialize(before), null, context.RequestAborted);
            services.TriggerReconcile();
            return Results.NoContent();
        }))
            .Describe("Delete a deployment", "Its replicas leave the route table, drain, then stop.")
            .Produces(StatusCodes.Status204NoContent);

        api.MapPost("/deployments/{name}/keys", (HttpContext context, string name) => Authorized(context, services, Role.Deployer, async actor =>
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
            await services.Audit.AppendAsync(actor, "key.create", $"{name}/{id}", null, Serialize(new { id, stored.Description }), context.RequestAborted);
            await PublishAsync(services, context.RequestAborted);
            return Results.Json(new NewKey(id, name, stored.Description, key), Json, statusCode: StatusCodes.Status201Created);
        }))
            .Describe("Create an inference key for a deployment", "Callers of a private deployment send it as 'Authorization: Bearer sk_...' to the gateway. The key is in this answer only; the store and the route table keep its SHA-256.")
            .Accepts<KeyRequest>("application/json")
            .Produces<NewKey>(StatusCodes.Status201Created);

        api.MapGet("/deployments/{name}/keys", (HttpContext context, string name) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json((await services.Deployments.ListKeysAsync(context.RequestAborted)).Where(k => k.Deployment == name).Select(k => new KeyView(k.Id, k.Deployment, k.Description, k.CreatedAt, k.RevokedAt)), Json)))
            .Describe("List a deployment's inference keys (never the keys)")
            .Produces<KeyView[]>();

        api.MapDelete("/deployments/{name}/keys/{id}", (HttpContext context, string name, string id) => Authorized(context, services, Role.Deployer, async actor =>
        {
            if (!await services.Deployments.RevokeKeyAsync(name, id, context.RequestAborted))
            {
                return Problem(StatusCodes.Status404NotFound, "no such key", $"deployment '{name}' has no live key '{id}'");
            }

            await services.Audit.AppendAsync(actor, "key.revoke", $"{name}/{id}", null, null, context.RequestAborted);
            await PublishAsync(services, context.RequestAborted);
            return Results.NoContent();
        }))
            .Describe("Revoke an inference key", "Gateways refuse it as soon as they have the new route table (within a second).")
            .Produces(StatusCodes.Status204NoContent);

        api.MapGet("/replicas", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json(await services.Deployments.ListReplicasAsync(context.RequestAborted), Json)))
            .Describe("Every replica with its state")
            .Produces<ReplicaRecord[]>();

        api.MapGet("/clouds", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Viewer, async _ =>
        {
            var replicas = await services.Deployments.ListReplicasAsync(context.RequestAborted);
            return Results.Json(clouds.Select(c => CloudStatus(c, providers.GetValueOrDefault(c.Name), replicas, services.Blocks)), Json);
        }))
            .Describe("List clouds: region, jurisdiction, capacity, prices, replicas and state")
            .Produces<CloudStatus[]>();

        api.MapPost("/clouds/{name}/outage", (HttpContext context, string name) => Authorized(context, services, Role.Admin, actor =>
            SetOutageAsync(context, services, clouds, providers, name, actor, outage: true)))
            .Describe("Emulate an outage of a local cloud", "Its replicas are killed at once and launches refused until restored.")
            .Produces<CloudStatus>();

        api.MapPost("/clouds/{name}/restore", (HttpContext context, string name) => Authorized(context, services, Role.Admin, actor =>
            SetOutageAsync(context, services, clouds, providers, name, actor, outage: false)))
            .Describe("End an emulated outage")
            .Produces<CloudStatus>();

        api.MapPost("/clouds/{name}/refuse", (HttpContext context, string name) => Authorized(context, services, Role.Admin, async actor =>
        {
            var (request, malformed) = await ReadJsonAsync<RefuseRequest>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (!Enum.TryParse<ProvisioningScope>(request?.Scope ?? "shape", ignoreCase: true, out var scope))
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid refusal", "'scope' must be shape, region or cloud");
            }

            return await SetRefusalAsync(context, services, clouds, providers, name, actor, e => e.Refuse(scope, request?.Shape), "cloud.refuse", Serialize(new { scope, request?.Shape }));
        }))
            .Describe("Make a local cloud refuse launches", "As a cloud out of capacity or quota would: running replicas stay, new launches get a refusal of the given scope.")
            .Accepts<RefuseRequest>("application/json")
            .Produces<CloudStatus>();

        api.MapPost("/clouds/{name}/accept", (HttpContext context, string name) => Authorized(context, services, Role.Admin, actor =>
            SetRefusalAsync(context, services, clouds, providers, name, actor, e => e.Accept(), "cloud.accept", null)))
            .Describe("Let a local cloud accept launches again")
            .Produces<CloudStatus>();

        api.MapPost("/clouds/{name}/faults", (HttpContext context, string name) => Authorized(context, services, Role.Admin, async actor =>
        {
            var (request, malformed) = await ReadJsonAsync<FaultRequest>(context);
            if (malformed is not null)
            {
                return malformed;
            }

            if (request is not { Deployment: { Length: > 0 } deployment, Version: { } version } || request.ErrorRate is not (>= 0 and <= 1))
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid fault", "give 'deployment', 'version' and an 'errorRate' from 0 to 1 (0 ends the fault)");
            }

            return await EmulateAsync(context, services, clouds, providers, name, actor, "cloud.fault", emulation =>
            {
                var before = Serialize(emulation.Faults);
                emulation.Fault(deployment, version, request.ErrorRate ?? 1);
                return Task.FromResult((before, Serialize(emulation.Faults)));
            });
        }))
            .Describe("Emulate a fault of a local cloud that one deployment's version meets", "Its replicas of that version in this cloud, running or launched later, fail the given share of inference requests with 500, until the rate is set to 0 or the faults are cleared.")
            .Accepts<FaultRequest>("application/json")
            .Produces<CloudStatus>();

        api.MapDelete("/clouds/{name}/faults", (HttpContext context, string name) => Authorized(context, services, Role.Admin, actor =>
            EmulateAsync(context, services, clouds, providers, name, actor, "cloud.faults.clear", emulation =>
            {
                var before = Serialize(emulation.Faults);
                emulation.ClearFaults();
                return Task.FromResult<(string?, string?)>((before, null));
            })))
            .Describe("End every emulated fault of a local cloud")
            .Produces<CloudStatus>();

        api.MapGet("/routes", (HttpContext context, long? after, int? timeoutSeconds) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json(
                after is { } held
                    ? await services.Routes.WaitForNewerAsync(held, TimeSpan.FromSeconds(Math.Clamp(timeoutSeconds ?? 30, 0, 60)), context.RequestAborted)
                    : services.Routes.Current,
                Json)))
            .Describe("The route table gateways follow", "With 'after', a long-poll: answers as soon as the version is newer, or with the current table at the timeout.")
            .Produces<RouteTable>();

        api.MapGatewayLoad(services);

        api.MapGet("/audit", (HttpContext context, long? after) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json(await services.Audit.ListAsync(after ?? 0, 1000, context.RequestAborted), Json)))
            .Describe("Audit entries after a sequence number, up to 1000")
            .Produces<AuditEntry[]>();

        api.MapGet("/audit/verify", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Viewer, async _ =>
            Results.Json(await services.Audit.VerifyAsync(context.RequestAborted), Json)))
            .Describe("Check the audit log's hash chain")
            .Produces<AuditVerification>();

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
            await services.Audit.AppendAsync(actor, "token.create", created.Info.Id, null, Serialize(View(created.Info)), context.RequestAborted);
            return Results.Json(new NewToken(created.Info.Id, role.ToWireName(), created.Info.Description, created.Secret), Json, statusCode: StatusCodes.Status201Created);
        }))
            .Describe("Create a token", "The secret is in this answer only; the store keeps its hash.")
            .Accepts<TokenRequest>("application/json")
            .Produces<NewToken>(StatusCodes.Status201Created);

        api.MapGet("/tokens", (HttpContext context, CancellationToken aborted) => Authorized(context, services, Role.Admin, async _ =>
            Results.Json((await services.Tokens.ListAsync(context.RequestAborted)).Select(View), Json)))
            .Describe("List tokens (never their secrets)")
            .Produces<TokenView[]>();

        api.MapDelete("/tokens/{id}", (HttpContext context, string id) => Authorized(context, services, Role.Admin, async actor =>
        {
            if (!await services.Tokens.RevokeAsync(id, context.RequestAborted))
            {
                return Problem(StatusCodes.Status404NotFound, "no such token", $"no live token '{id}'");
            }

            await services.Audit.AppendAsync(actor, "token.revoke", id, null, null, context.RequestAborted);
            return Results.NoContent();
        }))
            .Describe("Revoke a token")
            .Produces(StatusCodes.Status204NoContent);

        app.MapOpenApi("/api/{documentName}/openapi.json");
    }

    public const int MaxReplicas = 1000;

    /// <summary>Most live requests a deployment may have recorded per version as samples (within the registry's limit).</summary>
    public const int MaxRecordedProbes = 32;

    /// <summary>Publishes the route table now (a key change must reach gateways without waiting for a reconciler pass).</summary>
    private static Task PublishAsync(ControlPlaneServices services, CancellationToken cancellationToken)
    {
        services.TriggerReconcile();
        return services.PublishRoutes?.Invoke(cancellationToken) ?? Task.CompletedTask;
    }

    internal static RouteHandlerBuilder Describe(this RouteHandlerBuilder endpoint, string summary, string? description = null)
    {
        endpoint.WithSummary(summary).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        if (description is not null)
        {
            endpoint.WithDescription(description);
        }

        return endpoint;
    }

    /// <summary>Runs the action only for a valid token whose role allows it; the action gets the caller's identity.</summary>
    internal static async Task<IResult> Authorized(HttpContext context, ControlPlaneServices services, Role required, Func<string, Task<IResult>> action)
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

    private static Task<IResult> SetOutageAsync(
        HttpContext context,
        ControlPlaneServices services,
        IReadOnlyList<CloudSpec> clouds,
        IReadOnlyDictionary<string, ICloudProvider> providers,
        string name,
        string actor,
        bool outage) => EmulateAsync(context, services, clouds, providers, name, actor, outage ? "cloud.outage" : "cloud.restore", async emulation =>
        {
            var before = Serialize(new { State = emulation.IsOut ? "outage" : "up" });
            if (outage)
            {
                await emulation.OutageAsync(context.RequestAborted);
            }
            else
            {
                emulation.Restore();
            }

            return (before, Serialize(new { State = outage ? "outage" : "up" }));
        });

    private static Task<IResult> SetRefusalAsync(
        HttpContext context,
        ControlPlaneServices services,
        IReadOnlyList<CloudSpec> clouds,
        IReadOnlyDictionary<string, ICloudProvider> providers,
        string name,
        string actor,
        Action<IOutageEmulation> change,
        string action,
        string? after) => EmulateAsync(context, services, clouds, providers, name, actor, action, emulation =>
        {
            var before = Serialize(new { Refusing = emulation.Refusing });
            change(emulation);
            return Task.FromResult((before, after));
        });

    /// <summary>
    /// Applies an emulated fault (or its end) to a local cloud, audits it with the state before and after, clears the
    /// cloud's blocks once it is healthy again, and answers with the cloud's status.
    /// </summary>
    private static async Task<IResult> EmulateAsync(
        HttpContext context,
        ControlPlaneServices services,
        IReadOnlyList<CloudSpec> clouds,
        IReadOnlyDictionary<string, ICloudProvider> providers,
        string name,
        string actor,
        string action,
        Func<IOutageEmulation, Task<(string? Before, string? After)>> change)
    {
        if (clouds.FirstOrDefault(c => c.Name == name) is not { } cloud)
        {
            return Problem(StatusCodes.Status404NotFound, "no such cloud", $"cloud '{name}' is not in clouds.yaml");
        }

        if (providers.GetValueOrDefault(name) is not IOutageEmulation emulation)
        {
            return Problem(StatusCodes.Status400BadRequest, "not a local cloud", $"cloud '{name}' uses the {cloud.Provider} provider; outages and refusals can be emulated on local clouds only");
        }

        var (before, after) = await change(emulation);
        if (!emulation.IsOut && emulation.Refusing is null)
        {
            services.Blocks?.Clear(name);
        }

        await services.Audit.AppendAsync(actor, action, name, before, after, context.RequestAborted);
        services.TriggerReconcile();
        return Results.Json(CloudStatus(cloud, emulation as ICloudProvider, await services.Deployments.ListReplicasAsync(context.RequestAborted), services.Blocks), Json);
    }

    private static CloudStatus CloudStatus(CloudSpec cloud, ICloudProvider? provider, IReadOnlyList<ReplicaRecord> replicas, BlockList? blocks)
    {
        var here = replicas.Where(r => r.Cloud == cloud.Name && r.State != ReplicaState.Failed).ToList();
        return new CloudStatus(
            cloud.Name,
            cloud.Provider,
            cloud.Region,
            cloud.Jurisdiction,
            cloud.Location,
            (int)cloud.EmulatedLatency.TotalMilliseconds,
            cloud.Capacity,
            cloud.Prices,
            provider is IOutageEmulation { IsOut: true } ? "outage" : "up",
            here.Count,
            here.Count(r => r.State == ReplicaState.Ready))
        {
            Refusing = (provider as IOutageEmulation)?.Refusing,
            Blocked = [.. (blocks?.CloudBlocks() ?? []).Where(b => b.Covers(cloud, b.Shape)).Select(b => $"{b.Describe()} blocked until {b.Until.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)}: {b.Reason}")],
            Faults = [.. ((provider as IOutageEmulation)?.Faults ?? []).Select(f => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{f.Deployment} version {f.Version} fails {f.ErrorRate:P0} of requests"))],
        };
    }

    private static DeploymentStatus Status(ControlPlaneServices services, Deployment deployment, IReadOnlyList<ReplicaRecord> replicas, IReadOnlyList<ConsistencyNote> notes)
    {
        var mine = replicas.Where(r => r.Deployment == deployment.Name).ToList();
        return new DeploymentStatus(deployment, mine.Count(r => r.State == ReplicaState.Ready), mine)
        {
            Placement = services.Placement?.Get(deployment.Name),
            Autoscaler = services.Autoscaler?.GetValueOrDefault(deployment.Name)?.Reason,
            Consistency = [.. notes.Where(n => n.Deployment == deployment.Name)],
        };
    }

    private static TokenView View(TokenInfo token) => new(token.Id, token.Role.ToWireName(), token.Description, token.CreatedAt, token.RevokedAt);

    private static async Task<Deployment?> FindAsync(ControlPlaneServices services, string name, CancellationToken cancellationToken) =>
        (await services.Deployments.ListAsync(cancellationToken)).FirstOrDefault(d => d.Name == name);

    private static IResult NoSuchDeployment(string name) => Problem(StatusCodes.Status404NotFound, "no such deployment", $"deployment '{name}' does not exist");

    /// <summary>The body as a deployment spec and the deployment it asks for, or the 400 to answer (malformed or invalid).</summary>
    private static async Task<(DeploymentSpec? Spec, Deployment Deployment, IResult? Refused)> ReadDeploymentAsync(HttpContext context, string name, ControlPlaneServices services, bool requireFeasible)
    {
        var (spec, malformed) = await ReadJsonAsync<DeploymentSpec>(context);
        if (malformed is not null)
        {
            return (null, null!, malformed);
        }

        var (deployment, problems) = await ValidateAsync(name, spec, services, requireFeasible, context.RequestAborted);
        return deployment is null
            ? (spec, null!, Problem(StatusCodes.Status400BadRequest, "invalid deployment", string.Join("; ", problems)))
            : (spec, deployment, null);
    }

    /// <summary>What is wrong with a traffic split: weights must be 0..100 and sum to 100, versions distinct and in the registry.</summary>
    private static async Task<List<string>> TrafficProblemsAsync(ControlPlaneServices services, string model, IReadOnlyList<TrafficSplit> traffic, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        if (traffic.Count == 0)
        {
            return problems;
        }

        if (traffic.Any(t => t is null || t.Weight is < 0 or > 100 || t.Replicas is < 0 or > MaxReplicas ||
            t.Mirror is { Percent: < 0 or > 100 } or { AbsoluteTolerance: < 0 } or { RelativeTolerance: < 0 }))
        {
            problems.Add($"each traffic entry needs a 'version', a 'weight' from 0 to 100 and, optionally, 'replicas' from 0 to {MaxReplicas} and a 'mirror' with 'percent' from 0 to 100 and tolerances not negative");
            return problems;
        }

        if (traffic.Count(t => t.Mirror is { Percent: > 0 }) > 1)
        {
            problems.Add("at most one version may be mirrored to");
        }

        if (traffic.Sum(t => t.Weight) != 100)
        {
            problems.Add($"traffic weights must sum to 100, not {traffic.Sum(t => t.Weight)}");
        }

        if (traffic.Select(t => t.Version).Distinct().Count() != traffic.Count)
        {
            problems.Add("each version may appear once in 'traffic'");
        }

        foreach (var split in traffic)
        {
            if (await services.Models.GetAsync(model, split.Version, cancellationToken) is null)
            {
                problems.Add($"traffic names model {model} version {split.Version}, which is not in the registry");
            }
        }

        return problems;
    }

    /// <summary>The deployment a spec asks for, or every problem with it.</summary>
    private static async Task<(Deployment? Deployment, List<string> Problems)> ValidateAsync(string name, DeploymentSpec? spec, ControlPlaneServices services, bool requireFeasible, CancellationToken cancellationToken)
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

        if (spec is null)
        {
            problems.Add("the body must be a JSON object");
            return (null, problems);
        }

        if (spec.Name is not null && spec.Name != name)
        {
            problems.Add($"'name' is '{spec.Name}' but the URL names '{name}'");
        }

        if (spec.Replicas is not (>= 0 and <= MaxReplicas))
        {
            problems.Add($"'replicas' must be between 0 and {MaxReplicas}");
        }

        var shape = spec.Shape ?? "cpu-small";
        if (services.Clouds is { Count: > 0 } clouds && !clouds.Any(c => c.Capacity.ContainsKey(shape)))
        {
            problems.Add($"no cloud offers shape '{shape}' (offered: {string.Join(", ", clouds.SelectMany(c => c.Capacity.Keys).Distinct().Order())})");
        }

        int? version = null;
        if (string.IsNullOrEmpty(spec.Model))
        {
            problems.Add("'model' is required");
        }
        else if (spec.Version is { } asked)
        {
            version = await services.Models.GetAsync(spec.Model, asked, cancellationToken) is null ? null : asked;
            if (version is null)
            {
                problems.Add($"model {spec.Model} version {asked} is not in the registry");
            }
        }
        else
        {
            var versions = await services.Models.ListAsync(spec.Model, cancellationToken);
            version = versions.Count == 0 ? null : versions.Max(v => v.Version);
            if (version is null)
            {
                problems.Add($"model {spec.Model} is not in the registry; push it first");
            }
        }

        var placement = spec.Placement ?? new PlacementConstraints();
        problems.AddRange(placement.Problems());
        var known = services.Clouds?.Select(c => c.Name).ToHashSet() ?? [];
        var unknown = placement.AllowedClouds.Concat(placement.ForbiddenClouds).Where(c => known.Count > 0 && !known.Contains(c)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            problems.Add($"no such cloud: {string.Join(", ", unknown)} (clouds: {string.Join(", ", known.Order())})");
        }

        if (problems.Count > 0)
        {
            return (null, problems);
        }

        var traffic = spec.Traffic ?? [];
        problems.AddRange(await TrafficProblemsAsync(services, spec.Model!, traffic, cancellationToken));
        if (problems.Count > 0)
        {
            return (null, problems);
        }

        if (spec.Autoscaling is { } autoscaling)
        {
            problems.AddRange(autoscaling.Problems());
            if (problems.Count > 0)
            {
                return (null, problems);
            }
        }

        if (spec.Probes?.Record is < 0 or > MaxRecordedProbes)
        {
            return (null, [$"'probes.record' must be between 0 and {MaxRecordedProbes}"]);
        }

        var replicas = spec.Autoscaling is { } bounds ? Math.Clamp(spec.Replicas!.Value, bounds.MinReplicas, bounds.MaxReplicas) : spec.Replicas!.Value;
        var deployment = new Deployment(name, spec.Model!, version!.Value, replicas, shape)
        {
            Placement = placement,
            Public = spec.Public ?? false,
            Traffic = traffic,
            Autoscaling = spec.Autoscaling,
            RecordProbes = spec.Probes?.Record ?? 0,
        };
        if (requireFeasible && services.Clouds is { Count: > 0 } all)
        {
            // Feasible on empty clouds, or it never will be: refused now with the constraint and the shortfall.
            var plan = Planner.Plan(new PlacementInput(deployment.PlacementSpec, all));
            if (!plan.Feasible)
            {
                return (null, [$"placement is infeasible: {plan.Infeasible}"]);
            }
        }

        return (deployment, problems);
    }

    /// <summary>
    /// Stores a spec's samples with the version it names (those it has are skipped) and audits them; the 400 to answer
    /// when the version has no room left for them, null otherwise.
    /// </summary>
    private static async Task<IResult?> AddSpecSamplesAsync(ControlPlaneServices services, ModelVersion version, IReadOnlyList<string> samples, string actor, string deployment, CancellationToken cancellationToken)
    {
        if (samples.Count == 0)
        {
            return null;
        }

        try
        {
            await StoreSamplesAsync(services, version, samples, "spec", actor, deployment, cancellationToken);
            return null;
        }
        catch (ModelRejectedException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid deployment", $"probes: {e.Message}");
        }
    }

    /// <summary>
    /// Stores samples with a version (those it has are skipped) and audits the new ones as <c>model.samples</c>;
    /// <see cref="ModelRejectedException"/> when one does not fit or there is no room for them.
    /// </summary>
    private static async Task StoreSamplesAsync(ControlPlaneServices services, ModelVersion version, IReadOnlyList<string> samples, string source, string actor, string? deployment, CancellationToken cancellationToken)
    {
        if (await services.Models.AddSamplesAsync(version, samples, source, cancellationToken) is var added and > 0)
        {
            var after = deployment is null ? JsonSerializer.Serialize(new { added, source }, Json) : JsonSerializer.Serialize(new { added, source, deployment }, Json);
            await services.Audit.AppendAsync(actor, "model.samples", $"{version.Name}/{version.Version}", null, after, cancellationToken);
        }
    }

    /// <summary>The body as sample requests (one v2 request, or an array of them), or the 400 or 413 to answer.</summary>
    private static async Task<(IReadOnlyList<string> Samples, IResult? Problem)> ReadSamplesAsync(HttpContext context)
    {
        SetBodyLimit(context, ModelRegistry.MaxSampleBytes);
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            return document.RootElement.ValueKind switch
            {
                JsonValueKind.Array => ([.. document.RootElement.EnumerateArray().Select(e => e.GetRawText())], null),
                JsonValueKind.Object => ([document.RootElement.GetRawText()], null),
                _ => ([], Problem(StatusCodes.Status400BadRequest, "malformed samples", "the body must be a v2 inference request or an array of them")),
            };
        }
        catch (JsonException e)
        {
            return ([], Problem(StatusCodes.Status400BadRequest, "malformed JSON", e.Message));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ([], Problem(StatusCodes.Status413PayloadTooLarge, "request too large", $"samples may be at most {ModelRegistry.MaxSampleBytes} bytes at once"));
        }
    }

    /// <summary>The body as <typeparamref name="T"/>, or the 400 (not JSON of that shape) or 413 (too large) to answer.</summary>
    internal static async Task<(T? Value, IResult? Problem)> ReadJsonAsync<T>(HttpContext context)
    {
        SetBodyLimit(context, MaxJsonBodyBytes);
        if (context.Request.ContentLength > MaxJsonBodyBytes)
        {
            // Refused before a byte is read (a client that sent Expect: 100-continue never sends the body).
            return (default, Problem(StatusCodes.Status413PayloadTooLarge, "request too large", $"a JSON body may be at most {MaxJsonBodyBytes} bytes"));
        }

        try
        {
            return (await JsonSerializer.DeserializeAsync<T>(context.Request.Body, Json, context.RequestAborted), null);
        }
        catch (JsonException e)
        {
            return (default, Problem(StatusCodes.Status400BadRequest, "malformed JSON", e.Message));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, Problem(StatusCodes.Status413PayloadTooLarge, "request too large", $"a JSON body may be at most {MaxJsonBodyBytes} bytes"));
        }
    }

    /// <summary>Largest JSON request body (specs, scale, token requests); larger ones get 413 and change nothing.</summary>
    public const long MaxJsonBodyBytes = 1024 * 1024;

    private static void SetBodyLimit(HttpContext context, long bytes)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = bytes;
        }
    }

    private static string? Serialize<T>(T? value) => value is null ? null : JsonSerializer.Serialize(value, Json);

    private static IResult Problem(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);
}
