using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stratus.ControlPlane.Auth;
using Stratus.ControlPlane.Deployments.Reconciliation;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Api;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using static Stratus.ControlPlane.Api.ApiHttp;

namespace Stratus.ControlPlane.Api;

/// <summary>
/// <c>/clouds</c>: the clouds with what runs there, and, on local and docker clouds, emulated outages, refusals and faults
/// (admin only), each audited with the state before and after.
/// </summary>
internal static class CloudEndpoints
{
    public static RouteGroupBuilder MapClouds(this RouteGroupBuilder api, ControlPlaneServices services)
    {
        var clouds = services.Clouds ?? [];
        var providers = services.Providers ?? new Dictionary<string, ICloudProvider>();

        api.MapGet("/clouds", async (HttpContext context, CancellationToken aborted) =>
        {
            var replicas = await services.Deployments.ListReplicasAsync(context.RequestAborted);
            return Results.Json(clouds.Select(c => CloudStatus(c, providers.GetValueOrDefault(c.Name), replicas, services.Blocks)), ControlPlaneApi.Json);
        })
            .Describe("List clouds: region, jurisdiction, capacity, prices, replicas and state")
            .Produces<CloudStatus[]>();

        api.MapPost("/clouds/{name}/outage", (HttpContext context, string name) =>
            SetOutageAsync(context, services, clouds, providers, name, outage: true))
            .RequireAuthorization(RolePolicies.Admin)
            .Describe("Emulate an outage of a local or docker cloud", "Its replicas (processes or containers) are killed at once and launches refused until restored.")
            .Produces<CloudStatus>();

        api.MapPost("/clouds/{name}/restore", (HttpContext context, string name) =>
            SetOutageAsync(context, services, clouds, providers, name, outage: false))
            .RequireAuthorization(RolePolicies.Admin)
            .Describe("End an emulated outage")
            .Produces<CloudStatus>();

        api.MapPost("/clouds/{name}/refuse", async (HttpContext context, string name) =>
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

            return await SetRefusalAsync(context, services, clouds, providers, name, e => e.Refuse(scope, request?.Shape), "cloud.refuse", Serialize(new { scope, request?.Shape }));
        })
            .RequireAuthorization(RolePolicies.Admin)
            .Describe("Make a local or docker cloud refuse launches", "As a cloud out of capacity or quota would: running replicas stay, new launches get a refusal of the given scope.")
            .Accepts<RefuseRequest>("application/json")
            .Produces<CloudStatus>();

        api.MapPost("/clouds/{name}/accept", (HttpContext context, string name) =>
            SetRefusalAsync(context, services, clouds, providers, name, e => e.Accept(), "cloud.accept", null))
            .RequireAuthorization(RolePolicies.Admin)
            .Describe("Let a local or docker cloud accept launches again")
            .Produces<CloudStatus>();

        api.MapPost("/clouds/{name}/faults", async (HttpContext context, string name) =>
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

            return await EmulateAsync(context, services, clouds, providers, name, "cloud.fault", emulation =>
            {
                var before = Serialize(emulation.Faults);
                emulation.Fault(deployment, version, request.ErrorRate ?? 1);
                return Task.FromResult((before, Serialize(emulation.Faults)));
            });
        })
            .RequireAuthorization(RolePolicies.Admin)
            .Describe("Emulate a fault of a local or docker cloud that one deployment's version meets", "Its replicas of that version in this cloud, running or launched later, fail the given share of inference requests with 500, until the rate is set to 0 or the faults are cleared.")
            .Accepts<FaultRequest>("application/json")
            .Produces<CloudStatus>();

        api.MapDelete("/clouds/{name}/faults", (HttpContext context, string name) =>
            EmulateAsync(context, services, clouds, providers, name, "cloud.faults.clear", emulation =>
            {
                var before = Serialize(emulation.Faults);
                emulation.ClearFaults();
                return Task.FromResult<(string?, string?)>((before, null));
            }))
            .RequireAuthorization(RolePolicies.Admin)
            .Describe("End every emulated fault of a local or docker cloud")
            .Produces<CloudStatus>();

        return api;
    }

    private static Task<IResult> SetOutageAsync(
        HttpContext context,
        ControlPlaneServices services,
        IReadOnlyList<CloudSpec> clouds,
        IReadOnlyDictionary<string, ICloudProvider> providers,
        string name,
        bool outage) => EmulateAsync(context, services, clouds, providers, name, outage ? "cloud.outage" : "cloud.restore", async emulation =>
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
        Action<IOutageEmulation> change,
        string action,
        string? after) => EmulateAsync(context, services, clouds, providers, name, action, emulation =>
        {
            var before = Serialize(new { Refusing = emulation.Refusing });
            change(emulation);
            return Task.FromResult((before, after));
        });

    /// <summary>
    /// Applies an emulated fault (or its end) to a local or docker cloud, audits it with the state before and after, clears the
    /// cloud's blocks once it is healthy again, and answers with the cloud's status.
    /// </summary>
    private static async Task<IResult> EmulateAsync(
        HttpContext context,
        ControlPlaneServices services,
        IReadOnlyList<CloudSpec> clouds,
        IReadOnlyDictionary<string, ICloudProvider> providers,
        string name,
        string action,
        Func<IOutageEmulation, Task<(string? Before, string? After)>> change)
    {
        if (clouds.FirstOrDefault(c => c.Name == name) is not { } cloud)
        {
            return Problem(StatusCodes.Status404NotFound, "no such cloud", $"cloud '{name}' is not in clouds.yaml");
        }

        if (providers.GetValueOrDefault(name) is not IOutageEmulation emulation)
        {
            return Problem(StatusCodes.Status400BadRequest, "faults cannot be emulated here", $"cloud '{name}' uses the {cloud.Provider} provider; outages, refusals and faults can be emulated on local and docker clouds only");
        }

        string? before, after;
        try
        {
            (before, after) = await change(emulation);
        }
        catch (NotSupportedException e)
        {
            // A docker cloud on a remote engine takes outages and refusals, but its replicas cannot see fault files.
            return Problem(StatusCodes.Status400BadRequest, "faults cannot be emulated here", e.Message);
        }

        if (!emulation.IsOut && emulation.Refusing is null)
        {
            services.Blocks?.Clear(name);
        }

        await services.Audit.AppendAsync(context.Actor(), action, name, before, after, context.RequestAborted);
        services.TriggerReconcile();
        return Results.Json(CloudStatus(cloud, emulation as ICloudProvider, await services.Deployments.ListReplicasAsync(context.RequestAborted), services.Blocks), ControlPlaneApi.Json);
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
            Blocked = [.. (blocks?.CloudBlocks() ?? []).Where(b => b.Covers(cloud, b.Shape)).Select(b => $"{b.Describe()} blocked until {b.Until.ToString("HH:mm:ss", CultureInfo.InvariantCulture)}: {b.Reason}")],
            Faults = [.. ((provider as IOutageEmulation)?.Faults ?? []).Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Deployment} version {f.Version} fails {f.ErrorRate:P0} of requests"))],
        };
    }
}
