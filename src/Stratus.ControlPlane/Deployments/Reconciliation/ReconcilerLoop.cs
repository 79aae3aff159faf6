using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Routing;
using Stratus.ControlPlane.Store;
using Stratus.Core.Deployments;
using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Deployments.Reconciliation;

/// <summary>
/// Runs reconciler passes one at a time: on every trigger (a change was written) and on a period (the world
/// changed by itself: a replica died), publishing the route table from the store after each pass. With a route
/// store (several servers), the table is published there first, so every server serves it with the same version.
/// </summary>
public sealed partial class ReconcilerLoop(
    Reconciler reconciler,
    IDeploymentStateStore store,
    RouteTablePublisher routes,
    TimeSpan period,
    ILogger logger,
    IReadOnlyDictionary<string, string>? regions = null,
    IRouteStore? routeStore = null,
    TimeProvider? time = null) : IDisposable
{
    private readonly SemaphoreSlim _trigger = new(0, 1);

    /// <summary>Asks for a pass soon; triggers while one is pending collapse into one.</summary>
    public void Trigger()
    {
        try
        {
            _trigger.Release();
        }
        catch (SemaphoreFullException)
        {
            // A pass is already due.
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await PassAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogPassFailed(logger, e);
            }

            try
            {
                await _trigger.WaitAsync(period, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One pass and a route-table publication.</summary>
    public async Task<RouteTable> PassAsync(CancellationToken cancellationToken)
    {
        await reconciler.ReconcileOnceAsync(cancellationToken);
        return await PublishAsync(cancellationToken);
    }

    /// <summary>Publishes the route table from the store: each deployment's ready replicas, whether it is public, its live key hashes.</summary>
    public async Task<RouteTable> PublishAsync(CancellationToken cancellationToken)
    {
        var deployments = await store.ListAsync(cancellationToken);
        var replicas = await store.ListReplicasAsync(cancellationToken);
        var keys = await store.ListKeysAsync(cancellationToken);
        IReadOnlyList<Route> table = [.. deployments.Select(d => new Route(
            d.Name,
            d.Model,
            d.ModelVersion,
            [.. replicas.Where(r => r.Deployment == d.Name && r.State == ReplicaState.Ready && r.Endpoint is not null)
                .Select(r => new RouteEndpoint(r.Id, r.Cloud, r.Endpoint!) { Region = regions?.GetValueOrDefault(r.Cloud) ?? string.Empty, ModelVersion = r.ModelVersion == 0 ? d.ModelVersion : r.ModelVersion })])
        {
            Public = d.Public,
            Weights = [.. d.Traffic.Select(t => new VersionWeight(t.Version, t.Weight))],
            ScalesFromZero = d.Autoscaling is { MinReplicas: 0 },
            Shadow = d.Traffic.FirstOrDefault(t => t.Mirror is { Percent: > 0 }) is { Mirror: { } mirror } shadow
                ? new ShadowRoute(shadow.Version, mirror.Percent, mirror.AbsoluteTolerance, mirror.RelativeTolerance)
                : null,
            RecordProbes = d.RecordProbes,
            KeyHashes = [.. keys.Where(k => k.Deployment == d.Name && k.RevokedAt is null).Select(k => k.Hash)],
        })];
        if (routeStore is null)
        {
            return routes.Publish(table);
        }

        // At least the clock's milliseconds: a gateway holding a version from a table of before the store kept one
        // still sees the stored table as newer.
        var stored = await routeStore.PublishAsync(table, (time ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
        routes.Adopt(stored);
        return routes.Current;
    }

    public void Dispose() => _trigger.Dispose();

    [LoggerMessage(Level = LogLevel.Error, Message = "A reconciler pass failed; the next one retries")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
