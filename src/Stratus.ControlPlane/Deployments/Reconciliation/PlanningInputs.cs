using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Store;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Deployments.Reconciliation;

/// <summary>
/// The one place the <see cref="Planner"/>'s input is made from the observed world, for the reconciler's pass and the
/// API's dry run (<c>POST /deployments/{name}/plan</c>) alike, so a dry run cannot disagree with the pass: the clouds
/// that have a provider; this version group's replicas that run and are not draining, kept where they are; the
/// capacity the others hold (replicas that run, draining ones included, and launches in flight); and the locations
/// blocked for the deployment.
/// </summary>
public static class PlanningInputs
{
    /// <summary>
    /// What every provider runs now, by replica id, asking them all at once. A cloud whose API does not answer (its
    /// listing throws a <see cref="ProvisioningException"/> of scope <see cref="ProvisioningScope.Cloud"/>) fails
    /// nothing: it is named in <see cref="RunningReplicas.Unreachable"/> and its replicas count as gone, as in an outage.
    /// </summary>
    public static async Task<RunningReplicas> ListRunningAsync(IEnumerable<ICloudProvider> providers, CancellationToken cancellationToken)
    {
        var listings = await Task.WhenAll(providers.Select(async provider =>
        {
            try
            {
                return (Provider: provider, Handles: await provider.ListAsync(cancellationToken), Unreachable: (string?)null);
            }
            catch (ProvisioningException e) when (e.Scope == ProvisioningScope.Cloud)
            {
                return (Provider: provider, Handles: (IReadOnlyList<ReplicaHandle>)[], Unreachable: e.Message);
            }
        }));

        var running = new Dictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)>(StringComparer.Ordinal);
        var unreachable = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (provider, handles, why) in listings)
        {
            if (why is not null)
            {
                unreachable[provider.CloudName] = why;
            }

            foreach (var handle in handles)
            {
                running[handle.ReplicaId] = (provider, handle);
            }
        }

        return new RunningReplicas(running, unreachable);
    }

    /// <summary>
    /// Blocks every cloud that could not be asked, for every deployment and with the cloud's backoff, so the planner
    /// places replacements elsewhere rather than into a cloud it cannot see; returns the blocks.
    /// </summary>
    public static IReadOnlyList<Block> BlockUnreachable(RunningReplicas observed, IReadOnlyList<CloudSpec> clouds, BlockList blocks) =>
        [.. observed.Unreachable
            .Select(u => (Cloud: clouds.FirstOrDefault(c => c.Name == u.Key), Reason: u.Value))
            .Where(u => u.Cloud is not null)
            .Select(u => blocks.Add(ProvisioningScope.Cloud, u.Cloud!, "*", u.Reason))];

    /// <summary>
    /// Takes the recorded replicas their cloud lists as ended (<see cref="ReplicaHandle.Exited"/>) out of the running
    /// ones, and backs off in that cloud each deployment that wants them (a fault of what was launched, like a failed
    /// start), as the pass does before it stops and replaces them. Replicas with no record are left to the orphans.
    /// </summary>
    public static IReadOnlyDictionary<string, ExitedReplica> TakeExited(
        RunningReplicas observed,
        IReadOnlyDictionary<string, ReplicaRecord> records,
        IReadOnlyList<CloudSpec> clouds,
        ICollection<string> deployments,
        BlockList blocks)
    {
        var exited = new Dictionary<string, ExitedReplica>(StringComparer.Ordinal);
        foreach (var (id, (provider, handle)) in observed.Running.Where(r => r.Value.Handle.Exited is not null && records.ContainsKey(r.Key)).ToList())
        {
            var record = records[id];
            var why = $"replica {id} in {record.Cloud}: {handle.Exited}";
            var replace = record.State != ReplicaState.Draining && deployments.Contains(record.Deployment);
            if (replace && clouds.FirstOrDefault(c => c.Name == record.Cloud) is { } cloud)
            {
                blocks.Add(ProvisioningScope.Deployment, cloud, record.Shape, why, record.Deployment);
            }

            observed.Running.Remove(id);
            exited[id] = new ExitedReplica(provider, why, replace);
        }

        return exited;
    }

    /// <summary>The clouds replicas can be placed in: those with a provider.</summary>
    public static IReadOnlyList<CloudSpec> Usable(IReadOnlyList<CloudSpec> clouds, IReadOnlyDictionary<string, ICloudProvider> providers) =>
        [.. clouds.Where(c => providers.ContainsKey(c.Name))];

    /// <summary>The model version a replica serves (records from before traffic splits serve the deployment's).</summary>
    public static int VersionOf(Deployment deployment, ReplicaRecord record) => record.ModelVersion == 0 ? deployment.ModelVersion : record.ModelVersion;

    /// <summary>The replicas of one version group of the deployment that run and are not draining.</summary>
    public static List<(ICloudProvider Provider, ReplicaHandle Handle)> Group(
        Deployment deployment,
        int modelVersion,
        IReadOnlyDictionary<string, ReplicaRecord> records,
        IReadOnlyDictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)> running) =>
        [.. running.Values.Where(r => records.TryGetValue(r.Handle.ReplicaId, out var rec) && rec.Deployment == deployment.Name && rec.State != ReplicaState.Draining && VersionOf(deployment, rec) == modelVersion)];

    /// <summary>The planner's input for <paramref name="replicas"/> replicas of one version group of the deployment.</summary>
    public static PlacementInput For(
        Deployment deployment,
        int modelVersion,
        int replicas,
        IReadOnlyList<CloudSpec> usable,
        IReadOnlyDictionary<string, ReplicaRecord> records,
        IReadOnlyDictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)> running,
        IReadOnlyList<Block> blocks)
    {
        var mine = Group(deployment, modelVersion, records, running);
        // What others hold: replicas that run and launches in flight (other deployments launch meanwhile).
        var mineIds = mine.Select(m => m.Handle.ReplicaId).ToHashSet(StringComparer.Ordinal);
        var others = records.Values
            .Where(r => r.Shape == deployment.Shape && r.State != ReplicaState.Failed && !mineIds.Contains(r.Id) && (running.ContainsKey(r.Id) || r.State is ReplicaState.Pending or ReplicaState.Starting))
            .GroupBy(r => r.Cloud)
            .ToDictionary(g => g.Key, g => g.Count());
        return new PlacementInput(new PlacementSpec(deployment.Placement, replicas, deployment.Shape), usable)
        {
            Current = mine.GroupBy(r => r.Handle.Cloud).ToDictionary(g => g.Key, g => g.Count()),
            UsedByOthers = others,
            Blocks = blocks,
        };
    }

    /// <summary>
    /// The input a reconciler pass would plan the deployment's primary version group with now (the plan it shows as
    /// the deployment's placement), read from the store and the providers as a pass reads them.
    /// </summary>
    public static async Task<PlacementInput> ReadAsync(
        Deployment deployment,
        IDeploymentStateStore store,
        IReadOnlyDictionary<string, ICloudProvider> providers,
        IReadOnlyList<CloudSpec> clouds,
        BlockList? blocks,
        CancellationToken cancellationToken)
    {
        var records = (await store.ListReplicasAsync(cancellationToken)).ToDictionary(r => r.Id, StringComparer.Ordinal);
        var observed = await ListRunningAsync(providers.Values, cancellationToken);

        // As the pass does: a cloud that does not answer is blocked, and replicas that ended count as gone, before the plan is made.
        blocks ??= new BlockList(TimeProvider.System);
        BlockUnreachable(observed, clouds, blocks);
        TakeExited(observed, records, clouds, (await store.ListAsync(cancellationToken)).Select(d => d.Name).ToHashSet(StringComparer.Ordinal), blocks);
        var (version, replicas) = deployment.VersionGroups[0];
        return For(deployment, version, replicas, Usable(clouds, providers), records, observed.Running, blocks.ActiveFor(deployment.Name));
    }
}

/// <summary>What the providers run, by replica id, and the clouds whose API did not answer, each with why.</summary>
public sealed record RunningReplicas(
    Dictionary<string, (ICloudProvider Provider, ReplicaHandle Handle)> Running,
    IReadOnlyDictionary<string, string> Unreachable);

/// <summary>A recorded replica its cloud lists as ended: why, and whether its deployment still wants it (it is replaced) or not.</summary>
public sealed record ExitedReplica(ICloudProvider Provider, string Why, bool Replace);
