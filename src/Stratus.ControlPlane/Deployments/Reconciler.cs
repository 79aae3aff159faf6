using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Registry;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Deployments;

/// <summary>
/// Makes the running replicas match the deployments, level-triggered: each pass looks at what the providers say runs
/// and what the store says is wanted, and acts on the difference. A pass is idempotent, so running it again, or
/// after a crash at any point, converges on the same state:
/// <list type="bullet">
/// <item>a replica record is written before its launch, so a launch interrupted by a crash is never unowned;</item>
/// <item>running replicas with no record, or of a deleted deployment, are stopped (no orphans);</item>
/// <item>records whose replica no longer runs are dropped and the replica replaced;</item>
/// <item>missing replicas start in the cheapest cloud that has the shape and accepts the launch; extras stop,
/// the most expensive first.</item>
/// </list>
/// Placement here is the simple cheapest-first rule; the planner replaces it.
/// </summary>
public sealed partial class Reconciler(
    DeploymentStore store,
    ModelRegistry registry,
    IReadOnlyDictionary<string, ICloudProvider> providers,
    IReadOnlyList<CloudSpec> clouds,
    ILogger logger)
{
    public async Task ReconcileOnceAsync(CancellationToken cancellationToken = default)
    {
        var deployments = (await store.ListAsync(cancellationToken)).ToDictionary(d => d.Name);
        var records = (await store.ListReplicasAsync(cancellationToken)).ToDictionary(r => r.Id);
        var running = new Dictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)>();
        foreach (var provider in providers.Values)
        {
            foreach (var handle in await provider.ListAsync(cancellationToken))
            {
                running[handle.ReplicaId] = (provider, handle);
            }
        }

        foreach (var (id, (provider, _)) in running.ToList())
        {
            if (!records.TryGetValue(id, out var record) || !deployments.ContainsKey(record.Deployment))
            {
                LogStopping(logger, id, "it belongs to no deployment");
                await provider.StopAsync(id, cancellationToken);
                running.Remove(id);
            }
        }

        foreach (var record in records.Values)
        {
            if (running.TryGetValue(record.Id, out var live))
            {
                if (record.State != ReplicaState.Ready || record.Endpoint != live.Handle.Endpoint)
                {
                    // A launch that finished while no control plane watched: adopt it.
                    await store.PutReplicaAsync(record with { State = ReplicaState.Ready, Reason = null, Endpoint = live.Handle.Endpoint }, cancellationToken);
                }
            }
            else if (record.State != ReplicaState.Failed || !deployments.ContainsKey(record.Deployment))
            {
                await store.DeleteReplicaAsync(record.Id, cancellationToken);
            }
        }

        foreach (var deployment in deployments.Values)
        {
            var mine = running.Values.Where(r => records.TryGetValue(r.Handle.ReplicaId, out var rec) && rec.Deployment == deployment.Name).ToList();
            if (mine.Count < deployment.Replicas)
            {
                await LaunchAsync(deployment, deployment.Replicas - mine.Count, records.Values, cancellationToken);
            }
            else
            {
                foreach (var extra in mine.OrderByDescending(r => Price(r.Handle.Cloud, deployment.Shape)).ThenBy(r => r.Handle.ReplicaId).Take(mine.Count - deployment.Replicas))
                {
                    LogScalingDown(logger, extra.Handle.ReplicaId, deployment.Name, deployment.Replicas);
                    await store.DeleteReplicaAsync(extra.Handle.ReplicaId, cancellationToken);
                    await extra.Provider.StopAsync(extra.Handle.ReplicaId, cancellationToken);
                }
            }
        }
    }

    private async Task LaunchAsync(Deployment deployment, int count, IEnumerable<ReplicaRecord> records, CancellationToken cancellationToken)
    {
        var version = await registry.GetAsync(deployment.Model, deployment.ModelVersion, cancellationToken);
        foreach (var failed in records.Where(r => r.Deployment == deployment.Name && r.State == ReplicaState.Failed))
        {
            await store.DeleteReplicaAsync(failed.Id, cancellationToken);
        }

        if (version is null)
        {
            await store.PutReplicaAsync(Failed(deployment, "-", $"model {deployment.Model} version {deployment.ModelVersion} is not in the registry"), cancellationToken);
            return;
        }

        var candidates = clouds
            .Where(c => c.Capacity.ContainsKey(deployment.Shape) && providers.ContainsKey(c.Name))
            .OrderBy(c => c.Prices[deployment.Shape].OnDemandPerHour)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
        if (candidates.Count == 0)
        {
            await store.PutReplicaAsync(Failed(deployment, "-", $"no cloud offers shape '{deployment.Shape}'"), cancellationToken);
            return;
        }

        var refused = new HashSet<string>();
        for (var i = 0; i < count; i++)
        {
            var launched = false;
            foreach (var cloud in candidates.Where(c => !refused.Contains(c.Name)))
            {
                var id = $"{deployment.Name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
                var record = new ReplicaRecord(id, deployment.Name, cloud.Name, deployment.Shape, ReplicaState.Pending, null, null);
                await store.PutReplicaAsync(record, cancellationToken);
                try
                {
                    var handle = await providers[cloud.Name].LaunchAsync(
                        new ReplicaLaunch(id, deployment.Model, version.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), registry.PathOf(version), version.Sha256, deployment.Shape),
                        cancellationToken);
                    await store.PutReplicaAsync(record with { State = ReplicaState.Ready, Endpoint = handle.Endpoint }, cancellationToken);
                    LogLaunched(logger, id, cloud.Name);
                    launched = true;
                    break;
                }
                catch (ProvisioningException e)
                {
                    LogRefused(logger, cloud.Name, e.Message);
                    refused.Add(cloud.Name);
                    await store.PutReplicaAsync(record with { State = ReplicaState.Failed, Reason = e.Message }, cancellationToken);
                }
            }

            if (!launched)
            {
                return;
            }
        }
    }

    private static ReplicaRecord Failed(Deployment deployment, string cloud, string reason) =>
        new($"{deployment.Name}-failed", deployment.Name, cloud, deployment.Shape, ReplicaState.Failed, reason, null);

    private decimal Price(string cloud, string shape) =>
        clouds.FirstOrDefault(c => c.Name == cloud)?.Prices.GetValueOrDefault(shape)?.OnDemandPerHour ?? decimal.MaxValue;

    [LoggerMessage(Level = LogLevel.Information, Message = "Launched replica {Replica} in {Cloud}")]
    private static partial void LogLaunched(ILogger logger, string replica, string cloud);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cloud {Cloud} refused a launch: {Reason}")]
    private static partial void LogRefused(ILogger logger, string cloud, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping replica {Replica}: deployment {Deployment} wants {Replicas}")]
    private static partial void LogScalingDown(ILogger logger, string replica, string deployment, int replicas);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping replica {Replica}: {Why}")]
    private static partial void LogStopping(ILogger logger, string replica, string why);
}
