using System.Globalization;
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
/// <item>a replica record is written (pending) before its launch begins, so a launch interrupted by a crash is never
/// unowned;</item>
/// <item>running replicas with no record are stopped at once (no orphans);</item>
/// <item>replicas no longer wanted (scale-down, deleted deployment) drain first: they leave the route table, keep
/// answering what reaches them for the drain period, and only then are stopped, gracefully;</item>
/// <item>records whose replica no longer runs are dropped and the replica replaced; a replica still starting
/// (launched by a control plane that then died) counts as there, so it is not launched twice;</item>
/// <item>missing replicas are placed one at a time in the cloud holding the fewest of the deployment's replicas,
/// the cheapest among equals, within each cloud's capacity, and launched in parallel; a cloud that refuses is
/// skipped for the rest of the pass. Extras drain the most expensive first.</item>
/// </list>
/// Placement here is this simple spread rule; the planner replaces it.
/// </summary>
public sealed partial class Reconciler(
    IDeploymentStore store,
    ModelRegistry registry,
    IReadOnlyDictionary<string, ICloudProvider> providers,
    IReadOnlyList<CloudSpec> clouds,
    ILogger logger,
    TimeProvider? time = null,
    TimeSpan drainPeriod = default)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

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
            if (!records.ContainsKey(id))
            {
                LogStopping(logger, id, "it belongs to no deployment");
                await provider.StopAsync(id, cancellationToken);
                running.Remove(id);
            }
        }

        var now = _time.GetUtcNow();
        foreach (var record in records.Values.ToList())
        {
            if (running.TryGetValue(record.Id, out var live))
            {
                var current = record;
                if (record.State != ReplicaState.Draining && !deployments.ContainsKey(record.Deployment))
                {
                    current = await DrainAsync(record, "its deployment was deleted", now, cancellationToken);
                }
                else if (record.State != ReplicaState.Draining && live.Handle.IsReady && (record.State != ReplicaState.Ready || record.Endpoint != live.Handle.Endpoint))
                {
                    // A launch that finished while no control plane watched: adopt it.
                    current = record with { State = ReplicaState.Ready, Reason = null, Endpoint = live.Handle.Endpoint };
                    await store.PutReplicaAsync(current, cancellationToken);
                }
                else if (record.State is ReplicaState.Pending or ReplicaState.Failed && !live.Handle.IsReady)
                {
                    // Launched by a control plane that died before it was ready: still starting, counted, not replaced.
                    current = record with { State = ReplicaState.Starting, Reason = null };
                    await store.PutReplicaAsync(current, cancellationToken);
                }

                if (current.State == ReplicaState.Draining && current.DrainUntil <= now)
                {
                    LogStopping(logger, current.Id, "it has drained");
                    await live.Provider.StopAsync(current.Id, cancellationToken);
                    await store.DeleteReplicaAsync(current.Id, cancellationToken);
                    running.Remove(current.Id);
                    current = null;
                }

                if (current is null)
                {
                    records.Remove(record.Id);
                }
                else
                {
                    records[record.Id] = current;
                }
            }
            else if (record.State != ReplicaState.Failed || !deployments.ContainsKey(record.Deployment))
            {
                await store.DeleteReplicaAsync(record.Id, cancellationToken);
                records.Remove(record.Id);
            }
        }

        foreach (var deployment in deployments.Values)
        {
            var mine = running.Values
                .Where(r => records.TryGetValue(r.Handle.ReplicaId, out var rec) && rec.Deployment == deployment.Name && rec.State != ReplicaState.Draining)
                .ToList();
            if (mine.Count < deployment.Replicas)
            {
                await LaunchAsync(deployment, deployment.Replicas - mine.Count, records.Values, running.Values.Select(r => r.Handle).ToList(), cancellationToken);
            }
            else
            {
                foreach (var extra in mine.OrderByDescending(r => Price(r.Handle.Cloud, deployment.Shape)).ThenBy(r => r.Handle.ReplicaId).Take(mine.Count - deployment.Replicas))
                {
                    LogScalingDown(logger, extra.Handle.ReplicaId, deployment.Name, deployment.Replicas);
                    var drained = await DrainAsync(records[extra.Handle.ReplicaId], $"deployment {deployment.Name} was scaled to {deployment.Replicas}", now, cancellationToken);
                    if (drained.DrainUntil <= now)
                    {
                        await extra.Provider.StopAsync(drained.Id, cancellationToken);
                        await store.DeleteReplicaAsync(drained.Id, cancellationToken);
                    }
                }
            }
        }
    }

    private async Task<ReplicaRecord> DrainAsync(ReplicaRecord record, string why, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var draining = record with { State = ReplicaState.Draining, Reason = why, DrainUntil = now + drainPeriod };
        await store.PutReplicaAsync(draining, cancellationToken);
        return draining;
    }

    private async Task LaunchAsync(Deployment deployment, int count, IEnumerable<ReplicaRecord> records, IReadOnlyList<ReplicaHandle> running, CancellationToken cancellationToken)
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

        var candidates = clouds.Where(c => c.Capacity.ContainsKey(deployment.Shape) && providers.ContainsKey(c.Name)).ToList();
        if (candidates.Count == 0)
        {
            await store.PutReplicaAsync(Failed(deployment, "-", $"no cloud offers shape '{deployment.Shape}'"), cancellationToken);
            return;
        }

        var placement = new Placement(deployment, candidates, running, records);
        var launches = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            if (placement.Next() is not { } cloud)
            {
                await store.PutReplicaAsync(Failed(deployment, "-", $"no cloud has capacity left for shape '{deployment.Shape}'"), cancellationToken);
                break;
            }

            // Written before any launch begins, so every replica this pass will start is owned and visible as pending.
            var record = new ReplicaRecord(NewId(deployment), deployment.Name, cloud.Name, deployment.Shape, ReplicaState.Pending, null, null);
            await store.PutReplicaAsync(record, cancellationToken);
            launches.Add(LaunchOneAsync(deployment, version, record, placement, cancellationToken));
        }

        await Task.WhenAll(launches);
    }

    /// <summary>Launches one replica, moving to the next cloud of the placement when one refuses.</summary>
    private async Task LaunchOneAsync(Deployment deployment, ModelVersion version, ReplicaRecord record, Placement placement, CancellationToken cancellationToken)
    {
        while (true)
        {
            record = record with { State = ReplicaState.Starting };
            await store.PutReplicaAsync(record, cancellationToken);
            try
            {
                var launch = new ReplicaLaunch(record.Id, deployment.Model, version.Version.ToString(CultureInfo.InvariantCulture), registry.PathOf(version), version.Sha256, deployment.Shape)
                {
                    ServedName = deployment.Name,
                };
                var handle = await providers[record.Cloud].LaunchAsync(launch, cancellationToken);
                await store.PutReplicaAsync(record with { State = ReplicaState.Ready, Endpoint = handle.Endpoint }, cancellationToken);
                LogLaunched(logger, record.Id, record.Cloud);
                return;
            }
            catch (ProvisioningException e)
            {
                LogRefused(logger, record.Cloud, e.Message);
                await store.PutReplicaAsync(record with { State = ReplicaState.Failed, Reason = e.Message }, cancellationToken);
                if (placement.Refuse(record.Cloud) is not { } next)
                {
                    return;
                }

                record = new ReplicaRecord(NewId(deployment), deployment.Name, next.Name, deployment.Shape, ReplicaState.Pending, null, null);
            }
        }
    }

    private static string NewId(Deployment deployment) => $"{deployment.Name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    private static ReplicaRecord Failed(Deployment deployment, string cloud, string reason) =>
        new($"{deployment.Name}-failed", deployment.Name, cloud, deployment.Shape, ReplicaState.Failed, reason, null);

    private decimal Price(string cloud, string shape) =>
        clouds.FirstOrDefault(c => c.Name == cloud)?.Prices.GetValueOrDefault(shape)?.OnDemandPerHour ?? decimal.MaxValue;

    [LoggerMessage(Level = LogLevel.Information, Message = "Launched replica {Replica} in {Cloud}")]
    private static partial void LogLaunched(ILogger logger, string replica, string cloud);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cloud {Cloud} refused a launch: {Reason}")]
    private static partial void LogRefused(ILogger logger, string cloud, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining replica {Replica}: deployment {Deployment} wants {Replicas}")]
    private static partial void LogScalingDown(ILogger logger, string replica, string deployment, int replicas);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping replica {Replica}: {Why}")]
    private static partial void LogStopping(ILogger logger, string replica, string why);

    /// <summary>
    /// The spread rule for one pass, shared by its parallel launches: the cloud with the fewest of the deployment's
    /// replicas and room for one more, the cheapest among equals; refused clouds drop out.
    /// </summary>
    private sealed class Placement
    {
        private readonly Lock _lock = new();
        private readonly Deployment _deployment;
        private readonly List<CloudSpec> _candidates;
        private readonly Dictionary<string, int> _used;
        private readonly Dictionary<string, int> _mine;
        private readonly HashSet<string> _refused = [];

        public Placement(Deployment deployment, List<CloudSpec> candidates, IReadOnlyList<ReplicaHandle> running, IEnumerable<ReplicaRecord> records)
        {
            _deployment = deployment;
            _candidates = candidates;
            var owners = records.ToDictionary(r => r.Id, r => r.Deployment);
            _used = candidates.ToDictionary(c => c.Name, c => running.Count(r => r.Cloud == c.Name && r.Shape == deployment.Shape));
            _mine = candidates.ToDictionary(c => c.Name, c => running.Count(r => r.Cloud == c.Name && owners.GetValueOrDefault(r.ReplicaId) == deployment.Name));
        }

        public CloudSpec? Next()
        {
            lock (_lock)
            {
                var cloud = _candidates
                    .Where(c => !_refused.Contains(c.Name) && _used[c.Name] < c.Capacity[_deployment.Shape])
                    .OrderBy(c => _mine[c.Name])
                    .ThenBy(c => c.Prices[_deployment.Shape].OnDemandPerHour)
                    .ThenBy(c => c.Name, StringComparer.Ordinal)
                    .FirstOrDefault();
                if (cloud is not null)
                {
                    _used[cloud.Name]++;
                    _mine[cloud.Name]++;
                }

                return cloud;
            }
        }

        /// <summary>Marks a cloud as refusing for the rest of the pass and places the launch it refused elsewhere.</summary>
        public CloudSpec? Refuse(string cloud)
        {
            lock (_lock)
            {
                _refused.Add(cloud);
                _used[cloud]--;
                _mine[cloud]--;
            }

            return Next();
        }
    }
}
