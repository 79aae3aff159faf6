using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Deployments.Consistency;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Models;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Deployments.Reconciliation;

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
/// <item>a replica its cloud lists as ended (<see cref="ReplicaHandle.Exited"/>: a container that exited) is stopped
/// there and recorded failed with why until the next pass, its deployment backs off in that cloud, and it is replaced;</item>
/// <item>a cloud whose API does not answer fails no pass: it is blocked for every deployment with its backoff and its
/// replicas count as gone (their records go, routes drop them, replacements are placed elsewhere); once it answers,
/// what it still runs belongs to no record and is stopped;</item>
/// <item>where replicas go is the <see cref="Planner"/>'s answer for the deployment's spec, given the capacity other
/// deployments hold, this deployment's current replicas (kept where they are unless moving saves enough), and the
/// locations blocked after failed launches; a failed launch blocks its location with backoff and the deployment is
/// planned again at once. New replicas launch in parallel; the ones the plan drops drain only after every launch
/// succeeded.</item>
/// <item>a failure is blocked where its cause lies: the cloud's own faults (a refusal, no capacity, an outage) block the
/// cloud for everyone; the deployment's own (its model failed to load, crashed, was not ready in time, or failed the
/// consistency check) back off that deployment in that cloud only. Deleting a deployment clears its blocks.</item>
/// <item>no replica is marked ready before it has passed the consistency check (<see cref="ConsistencyChecker"/>),
/// including one adopted after a control-plane crash that had not been checked yet.</item>
/// </list>
/// </summary>
// Its one semaphore never allocates a wait handle (only WaitAsync is used), so there is nothing to dispose.
#pragma warning disable CA1001
public sealed partial class Reconciler(
    IDeploymentStateStore store,
    ModelRegistry registry,
    IReadOnlyDictionary<string, ICloudProvider> providers,
    IReadOnlyList<CloudSpec> clouds,
    ILogger logger,
    TimeProvider? time = null,
    TimeSpan drainPeriod = default,
    BlockList? blocks = null,
    PlacementStatuses? statuses = null,
    ConsistencyChecker? consistency = null,
    IAuditLog? audit = null,
    ILeaseStore? leases = null)
{
    private const int PlacementAttempts = 4;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly BlockList _blocks = blocks ?? new BlockList(time ?? TimeProvider.System);
    private readonly SemaphoreSlim _planning = new(1, 1);

    /// <summary>Each deployment's last plan and blocks, for the API.</summary>
    public PlacementStatuses Statuses { get; } = statuses ?? new PlacementStatuses();

    public BlockList Blocks => _blocks;

    public async Task ReconcileOnceAsync(CancellationToken cancellationToken = default)
    {
        var deployments = (await store.ListAsync(cancellationToken)).ToDictionary(d => d.Name);
        var records = new ConcurrentDictionary<string, ReplicaRecord>((await store.ListReplicasAsync(cancellationToken)).ToDictionary(r => r.Id));
        var observed = await PlanningInputs.ListRunningAsync(providers.Values, cancellationToken);
        foreach (var block in PlanningInputs.BlockUnreachable(observed, clouds, _blocks))
        {
            // Its replicas count as gone for this pass: their records go, routes drop them, replacements go elsewhere.
            // Should it answer again, what it still runs belongs to no record and is stopped.
            LogUnreachable(logger, block.Cloud, block.Reason, block.Until);
        }

        var exited = PlanningInputs.TakeExited(observed, records, clouds, deployments.Keys, _blocks);
        var running = new ConcurrentDictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)>(observed.Running);

        var orphans = running.Where(r => !records.ContainsKey(r.Key)).ToList();
        if (orphans.Count > 0 && leases is not null)
        {
            // Stopping a process is no store write, so no fence stops it: a leader deposed since it read the records
            // (which would not see a replica the new leader has just recorded) must not stop it.
            await Fencing.EnsureHeldAsync(leases, _time, cancellationToken);
        }

        foreach (var (id, (provider, _)) in orphans)
        {
            LogStopping(logger, id, "it belongs to no deployment");
            await provider.StopAsync(id, cancellationToken);
            running.TryRemove(id, out _);
        }

        // Replicas that failed in this pass stay visible (failed, with why) until the next one.
        var failedNow = new HashSet<string>(StringComparer.Ordinal);
        var now = _time.GetUtcNow();
        foreach (var record in records.Values.ToList())
        {
            if (exited.TryGetValue(record.Id, out var ended))
            {
                if (await ExitedAsync(record, ended, cancellationToken) is { } failed)
                {
                    records[record.Id] = failed;
                    failedNow.Add(record.Id);
                }
                else
                {
                    records.TryRemove(record.Id, out _);
                }
            }
            else if (running.TryGetValue(record.Id, out var live))
            {
                var current = record;
                if (record.State != ReplicaState.Draining && !deployments.ContainsKey(record.Deployment))
                {
                    current = await DrainAsync(record, "its deployment was deleted", now, cancellationToken);
                }
                else if (record.State == ReplicaState.Ready && live.Handle.IsReady && record.Endpoint != live.Handle.Endpoint)
                {
                    current = record with { Endpoint = live.Handle.Endpoint };
                    await store.PutReplicaAsync(current, cancellationToken);
                }
                else if (record.State is not (ReplicaState.Draining or ReplicaState.Ready) && live.Handle.IsReady)
                {
                    // A launch that finished while no control plane watched: adopted once it passes the check it never had.
                    current = await AdoptAsync(deployments[record.Deployment], record, live.Provider, live.Handle, cancellationToken);
                    if (current.State == ReplicaState.Failed)
                    {
                        running.TryRemove(record.Id, out _);
                        records[record.Id] = current;
                        failedNow.Add(record.Id);
                        continue;
                    }
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
                    running.TryRemove(current.Id, out _);
                    current = null;
                }

                if (current is null)
                {
                    records.TryRemove(record.Id, out _);
                }
                else
                {
                    records[record.Id] = current;
                }
            }
            else if (record.State != ReplicaState.Failed || !deployments.ContainsKey(record.Deployment))
            {
                await store.DeleteReplicaAsync(record.Id, cancellationToken);
                records.TryRemove(record.Id, out _);
            }
        }

        foreach (var gone in _blocks.BackedOff().Where(d => !deployments.ContainsKey(d)))
        {
            _blocks.ClearDeployment(gone);
        }

        // Deployments are placed side by side, so one whose launches are slow or failing never holds up another:
        // planning is one deployment at a time (each sees the capacity the others hold or are launching into),
        // launching is not. Deployments backed off for their own faults plan last.
        await Task.WhenAll(deployments.Values
            .OrderBy(d => _blocks.BacksOff(d.Name))
            .ThenBy(d => d.Name, StringComparer.Ordinal)
            .Select(deployment => PlaceAsync(deployment, records, running, failedNow, now, cancellationToken)));

        foreach (var gone in records.Values.Select(r => r.Deployment).Distinct().Where(d => !deployments.ContainsKey(d)))
        {
            Statuses.Remove(gone);
        }
    }

    /// <summary>
    /// A replica its cloud lists as ended (a container that exited, not coming back by itself) is stopped there, and,
    /// unless it was on its way out anyway, recorded failed with why (its deployment was backed off in that cloud by
    /// <see cref="PlanningInputs.TakeExited"/>); the placement then replaces it. Returns the failed record, or null when
    /// the record is gone.
    /// </summary>
    private async Task<ReplicaRecord?> ExitedAsync(ReplicaRecord record, ExitedReplica ended, CancellationToken cancellationToken)
    {
        LogStopping(logger, record.Id, ended.Why);
        await ended.Provider.StopAsync(record.Id, cancellationToken);
        if (!ended.Replace)
        {
            await store.DeleteReplicaAsync(record.Id, cancellationToken);
            return null;
        }

        var failed = record with { State = ReplicaState.Failed, Reason = ended.Why, Endpoint = null };
        await store.PutReplicaAsync(failed, cancellationToken);
        return failed;
    }

    private async Task<ReplicaRecord> DrainAsync(ReplicaRecord record, string why, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var draining = record with { State = ReplicaState.Draining, Reason = why, DrainUntil = now + drainPeriod };
        await store.PutReplicaAsync(draining, cancellationToken);
        return draining;
    }

    /// <summary>
    /// Plans the deployment over the clouds (capacity others hold, this deployment's current replicas, blocked
    /// locations), launches what the plan adds, and after a refusal blocks the location and plans again, up to
    /// <see cref="PlacementAttempts"/> times in one pass. Only when every launch of the plan has succeeded are the
    /// replicas it no longer wants drained (make before break). An infeasible plan changes nothing that runs; the
    /// deployment's status says why.
    /// </summary>
    private async Task PlaceAsync(Deployment deployment, ConcurrentDictionary<string, ReplicaRecord> records, ConcurrentDictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)> running, IReadOnlySet<string> failedNow, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _planning.WaitAsync(cancellationToken);
        try
        {
            await PlaceVersionsAsync(deployment, records, running, failedNow, now, cancellationToken);
        }
        finally
        {
            _planning.Release();
        }
    }

    private async Task PlaceVersionsAsync(Deployment deployment, ConcurrentDictionary<string, ReplicaRecord> records, ConcurrentDictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)> running, IReadOnlySet<string> failedNow, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var failed in records.Values.Where(r => r.Deployment == deployment.Name && r.State == ReplicaState.Failed && !failedNow.Contains(r.Id)).ToList())
        {
            await store.DeleteReplicaAsync(failed.Id, cancellationToken);
            records.TryRemove(failed.Id, out _);
        }

        // Each model version the traffic split names is placed as its own group of replicas.
        var groups = deployment.VersionGroups;
        for (var g = 0; g < groups.Count; g++)
        {
            await PlaceGroupAsync(deployment, groups[g].Version, groups[g].Replicas, primary: g == 0, records, running, now, cancellationToken);
        }

        // Replicas of a version no longer in the split drain.
        var versions = groups.Select(group => group.Version).ToHashSet();
        foreach (var stale in running.Values
            .Where(r => records.TryGetValue(r.Handle.ReplicaId, out var rec) && rec.Deployment == deployment.Name && rec.State != ReplicaState.Draining && !versions.Contains(PlanningInputs.VersionOf(deployment, rec)))
            .ToList())
        {
            var drained = await DrainAsync(records[stale.Handle.ReplicaId], $"version {PlanningInputs.VersionOf(deployment, records[stale.Handle.ReplicaId])} is no longer in the traffic split", now, cancellationToken);
            records[drained.Id] = drained;
        }
    }

    private async Task PlaceGroupAsync(Deployment deployment, int modelVersion, int replicas, bool primary, ConcurrentDictionary<string, ReplicaRecord> records, ConcurrentDictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)> running, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var version = await registry.GetAsync(deployment.Model, modelVersion, cancellationToken);
        if (version is null)
        {
            await store.PutReplicaAsync(Failed(deployment, "-", $"model {deployment.Model} version {modelVersion} is not in the registry") with { ModelVersion = modelVersion }, cancellationToken);
            return;
        }

        var usable = PlanningInputs.Usable(clouds, providers);

        // A deployment already backed off for its own faults gets one try per pass, not a burst of them.
        var attempts = _blocks.BacksOff(deployment.Name) ? 1 : PlacementAttempts;
        for (var attempt = 0; attempt < attempts; attempt++)
        {
            var mine = PlanningInputs.Group(deployment, modelVersion, records, running);
            var plan = Planner.Plan(PlanningInputs.For(deployment, modelVersion, replicas, usable, records, running, _blocks.ActiveFor(deployment.Name)));
            if (primary)
            {
                Statuses.Set(deployment.Name, new PlacementStatus(plan, _blocks.ActiveFor(deployment.Name), now));
            }

            if (!plan.Feasible)
            {
                LogUnplaced(logger, deployment.Name, plan.Infeasible!);
                return;
            }

            var launches = new List<Task<bool>>();
            foreach (var item in plan.Placement)
            {
                foreach (var (spot, wanted) in new[] { (false, item.OnDemand), (true, item.Spot) })
                {
                    var missing = wanted - mine.Count(r => r.Handle.Cloud == item.Cloud && records[r.Handle.ReplicaId].Spot == spot);
                    for (var i = 0; i < missing; i++)
                    {
                        // Written before any launch begins, so every replica this pass will start is owned and visible as pending.
                        var record = new ReplicaRecord(NewId(deployment), deployment.Name, item.Cloud, deployment.Shape, ReplicaState.Pending, null, null) { Spot = spot, ModelVersion = modelVersion };
                        await store.PutReplicaAsync(record, cancellationToken);
                        records[record.Id] = record;
                        launches.Add(LaunchOneAsync(deployment, version, record, running, records, cancellationToken));
                    }
                }
            }

            // Other deployments plan while these launch.
            _planning.Release();
            bool[] launched;
            try
            {
                launched = await Task.WhenAll(launches);
            }
            finally
            {
                await _planning.WaitAsync(CancellationToken.None);
            }

            if (launched.All(ok => ok))
            {
                await DrainExtrasAsync(deployment, plan, [.. mine.Select(m => m.Handle.ReplicaId), .. running.Keys.Where(id => records.TryGetValue(id, out var rec) && rec.Deployment == deployment.Name && PlanningInputs.VersionOf(deployment, rec) == modelVersion)], records, running, now, cancellationToken);
                return;
            }
        }
    }

    /// <summary>Launches one replica; a refusal blocks its location (at the refusal's scope) and marks the record failed.</summary>
    private async Task<bool> LaunchOneAsync(
        Deployment deployment,
        ModelVersion version,
        ReplicaRecord record,
        ConcurrentDictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)> running,
        ConcurrentDictionary<string, ReplicaRecord> records,
        CancellationToken cancellationToken)
    {
        var cloud = clouds.First(c => c.Name == record.Cloud);
        record = record with { State = ReplicaState.Starting };
        await store.PutReplicaAsync(record, cancellationToken);
        try
        {
            var probes = await ProbeSets.ForAsync(registry, version, cancellationToken);
            var launch = new ReplicaLaunch(record.Id, deployment.Model, version.Version.ToString(CultureInfo.InvariantCulture), await registry.LocalPathAsync(version, cancellationToken), version.Sha256, deployment.Shape)
            {
                ServedName = deployment.Name,
                Spot = record.Spot,
                WarmUpRequests = [.. probes.Where(p => p.Kind == Probe.SampleKind).Select(p => p.Body)],
            };
            var handle = await providers[record.Cloud].LaunchAsync(launch, cancellationToken);
            if (await CheckAsync(deployment, version, probes, record, handle.Endpoint!, cancellationToken) is { } disagreement)
            {
                // Kept out of traffic: never marked ready, stopped, and this deployment backed off in this cloud.
                await providers[record.Cloud].StopAsync(record.Id, cancellationToken);
                throw new ProvisioningException(ProvisioningScope.Deployment, disagreement);
            }

            var ready = record with { State = ReplicaState.Ready, Endpoint = handle.Endpoint };
            await store.PutReplicaAsync(ready, cancellationToken);
            _blocks.Succeeded(cloud, deployment.Shape, deployment.Name);
            running[record.Id] = (providers[record.Cloud], handle);
            records[record.Id] = ready;

            LogLaunched(logger, record.Id, record.Cloud);
            return true;
        }
        catch (ProvisioningException e)
        {
            var block = _blocks.Add(e.Scope, cloud, deployment.Shape, e.Message, deployment.Name);
            LogRefused(logger, record.Cloud, e.Message, block.Describe(), block.Until);
            var failed = record with { State = ReplicaState.Failed, Reason = e.Message };
            await store.PutReplicaAsync(failed, cancellationToken);
            records[record.Id] = failed;

            return false;
        }
    }

    /// <summary>
    /// Runs the consistency check on a replica that answers at <paramref name="endpoint"/>: null when it may serve
    /// (and the deployment's note on its version is recorded, audited when it changes), otherwise why it may not.
    /// </summary>
    private async Task<string?> CheckAsync(Deployment deployment, ModelVersion version, IReadOnlyList<Probe> probes, ReplicaRecord record, Uri endpoint, CancellationToken cancellationToken)
    {
        if (consistency is null)
        {
            return null;
        }

        var result = await consistency.CheckAsync(version, probes, deployment.Name, endpoint, record.Id, cancellationToken);
        if (result.Failure is not null)
        {
            return $"replica {record.Id} in {record.Cloud} failed the consistency check: {result.Failure}";
        }

        var note = new ConsistencyNote(deployment.Name, version.Version, result.Checked, result.Note, _time.GetUtcNow());
        if (await store.PutConsistencyAsync(note, cancellationToken))
        {
            LogConsistency(logger, deployment.Name, version.Version, result.Note);
            if (audit is not null)
            {
                await audit.AppendAsync("reconciler", "deployment.consistency", $"{deployment.Name}/{version.Version}", null, JsonSerializer.Serialize(new { note.Checked, note.Note }), cancellationToken);
            }
        }

        return null;
    }

    /// <summary>
    /// A replica found ready that this control plane never marked ready (its launch outlived the control plane that
    /// started it): checked like a new one before it may serve. Returns its ready record, or its failed one (it was
    /// stopped, and its deployment backed off in that cloud).
    /// </summary>
    private async Task<ReplicaRecord> AdoptAsync(Deployment deployment, ReplicaRecord record, ICloudProvider provider, ReplicaHandle handle, CancellationToken cancellationToken)
    {
        var version = await registry.GetAsync(deployment.Model, PlanningInputs.VersionOf(deployment, record), cancellationToken);
        var failure = version is null
            ? $"model {deployment.Model} version {PlanningInputs.VersionOf(deployment, record)} is not in the registry"
            : await CheckAsync(deployment, version, await ProbeSets.ForAsync(registry, version, cancellationToken), record, handle.Endpoint!, cancellationToken);
        if (failure is null)
        {
            var adopted = record with { State = ReplicaState.Ready, Reason = null, Endpoint = handle.Endpoint };
            await store.PutReplicaAsync(adopted, cancellationToken);
            return adopted;
        }

        LogStopping(logger, record.Id, failure);
        await provider.StopAsync(record.Id, cancellationToken);
        var failed = record with { State = ReplicaState.Failed, Reason = failure, Endpoint = null };
        await store.PutReplicaAsync(failed, cancellationToken);
        if (clouds.FirstOrDefault(c => c.Name == record.Cloud) is { } cloud)
        {
            _blocks.Add(ProvisioningScope.Deployment, cloud, deployment.Shape, failure, deployment.Name);
        }

        return failed;
    }

    /// <summary>Drains, per cloud and kind (on-demand, spot), the replicas beyond what the plan keeps there: ones not ready yet first.</summary>
    private async Task DrainExtrasAsync(Deployment deployment, PlacementPlan plan, IReadOnlyCollection<string> groupIds, ConcurrentDictionary<string, ReplicaRecord> records, ConcurrentDictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)> running, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var mine = running.Values
            .Where(r => groupIds.Contains(r.Handle.ReplicaId) && records.TryGetValue(r.Handle.ReplicaId, out var rec) && rec.State != ReplicaState.Draining)
            .DistinctBy(r => r.Handle.ReplicaId)
            .ToList();
        foreach (var group in mine.GroupBy(r => (r.Handle.Cloud, records[r.Handle.ReplicaId].Spot)))
        {
            var item = plan.Placement.FirstOrDefault(p => p.Cloud == group.Key.Cloud);
            var extras = group.Count() - (item is null ? 0 : group.Key.Spot ? item.Spot : item.OnDemand);
            foreach (var extra in group.OrderBy(r => r.Handle.IsReady).ThenBy(r => r.Handle.ReplicaId, StringComparer.Ordinal).Take(Math.Max(0, extras)))
            {
                LogScalingDown(logger, extra.Handle.ReplicaId, deployment.Name, deployment.Replicas);
                var drained = await DrainAsync(records[extra.Handle.ReplicaId], $"the placement of {deployment.Name} no longer includes it", now, cancellationToken);
                records[drained.Id] = drained;
                if (drained.DrainUntil <= now)
                {
                    await extra.Provider.StopAsync(drained.Id, cancellationToken);
                    await store.DeleteReplicaAsync(drained.Id, cancellationToken);
                    records.TryRemove(drained.Id, out _);
                    running.TryRemove(drained.Id, out _);
                }
            }
        }
    }

    private static string NewId(Deployment deployment) => $"{deployment.Name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    private static ReplicaRecord Failed(Deployment deployment, string cloud, string reason) =>
        new($"{deployment.Name}-failed", deployment.Name, cloud, deployment.Shape, ReplicaState.Failed, reason, null);

    [LoggerMessage(Level = LogLevel.Information, Message = "Launched replica {Replica} in {Cloud}")]
    private static partial void LogLaunched(ILogger logger, string replica, string cloud);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {Deployment} version {Version}: {Note}")]
    private static partial void LogConsistency(ILogger logger, string deployment, int version, string note);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A launch in cloud {Cloud} failed: {Reason}; {Blocked} blocked until {Until}")]
    private static partial void LogRefused(ILogger logger, string cloud, string reason, string blocked, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {Deployment} cannot be placed: {Why}")]
    private static partial void LogUnplaced(ILogger logger, string deployment, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining replica {Replica}: deployment {Deployment} wants {Replicas} placed elsewhere or fewer")]
    private static partial void LogScalingDown(ILogger logger, string replica, string deployment, int replicas);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cloud {Cloud} did not answer: {Reason}; its replicas count as gone and it is blocked until {Until}")]
    private static partial void LogUnreachable(ILogger logger, string cloud, string reason, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping replica {Replica}: {Why}")]
    private static partial void LogStopping(ILogger logger, string replica, string why);
}
#pragma warning restore CA1001
