using System.Collections.Concurrent;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Clouds;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Deployments.Reconciliation;

/// <summary>
/// Locations the planner adds no replicas to after a launch failed there, each at the scope of its cause: the cloud's
/// own faults (a refusal, no capacity, an outage) block the shape in that cloud, its region, or the whole cloud for
/// every deployment; a deployment's own faults (its model failed to load, crashed, was not ready in time or disagreed
/// with itself) block only that deployment in that cloud. Backoff is exponential: 5 s, then twice as long for each
/// failure after the block ran out, up to 2 minutes (failures while a block is in force leave it as it is). A launch
/// that succeeds clears what covered it; restoring a cloud clears the cloud's blocks; deleting a deployment clears
/// its own.
/// </summary>
public sealed class BlockList(TimeProvider time)
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<string, (Block Block, TimeSpan Backoff)> _blocks = new(StringComparer.Ordinal);

    /// <summary>Blocks a location after a failed launch; <paramref name="deployment"/> is required for <see cref="ProvisioningScope.Deployment"/>.</summary>
    public Block Add(ProvisioningScope scope, CloudSpec cloud, string shape, string reason, string? deployment = null)
    {
        var blockScope = scope switch
        {
            ProvisioningScope.Cloud => BlockScope.Cloud,
            ProvisioningScope.Region => BlockScope.Region,
            ProvisioningScope.Deployment => BlockScope.Deployment,
            _ => BlockScope.Shape,
        };
        if (blockScope == BlockScope.Deployment && deployment is null)
        {
            throw new ArgumentException("a deployment's block names the deployment", nameof(deployment));
        }

        var key = Key(blockScope, cloud, shape, deployment);
        Block New(TimeSpan backoff) => new(blockScope, cloud.Name, cloud.Region, shape, reason, time.GetUtcNow() + backoff)
        {
            Deployment = blockScope == BlockScope.Deployment ? deployment : null,
        };
        var entry = _blocks.AddOrUpdate(
            key,
            _ => (New(FirstBackoff), FirstBackoff),
            (_, old) =>
            {
                if (old.Block.Until > time.GetUtcNow())
                {
                    // Another failure from the same burst (parallel launches): the block in force stands.
                    return old;
                }

                var backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, old.Backoff.Ticks * 2));
                return (New(backoff), backoff);
            });
        return entry.Block;
    }

    /// <summary>Every block in force now, the clouds' own and the deployments'.</summary>
    public IReadOnlyList<Block> Active() => Where(_ => true);

    /// <summary>The blocks in force that the planner must honour for one deployment: the clouds' own and its own.</summary>
    public IReadOnlyList<Block> ActiveFor(string deployment) => Where(b => b.Deployment is null || b.Deployment == deployment);

    /// <summary>Whether the deployment is backed off somewhere for its own faults now.</summary>
    public bool BacksOff(string deployment) => Where(b => b.Deployment == deployment).Count > 0;

    /// <summary>The deployments backed off somewhere for their own faults now.</summary>
    public IReadOnlyList<string> BackedOff() => [.. Where(b => b.Deployment is not null).Select(b => b.Deployment!).Distinct(StringComparer.Ordinal)];

    /// <summary>The clouds' own blocks in force, which hold back every deployment.</summary>
    public IReadOnlyList<Block> CloudBlocks() => Where(b => b.Deployment is null);

    private List<Block> Where(Func<Block, bool> filter)
    {
        var now = time.GetUtcNow();
        return [.. _blocks.Values.Select(e => e.Block).Where(b => b.Until > now && filter(b)).OrderBy(b => b.Cloud, StringComparer.Ordinal).ThenBy(b => b.Deployment, StringComparer.Ordinal)];
    }

    /// <summary>A launch of <paramref name="deployment"/> worked here: whatever blocked it is forgotten, backoff included.</summary>
    public void Succeeded(CloudSpec cloud, string shape, string deployment)
    {
        _blocks.TryRemove(Key(BlockScope.Shape, cloud, shape, null), out _);
        _blocks.TryRemove(Key(BlockScope.Region, cloud, shape, null), out _);
        _blocks.TryRemove(Key(BlockScope.Cloud, cloud, shape, null), out _);
        _blocks.TryRemove(Key(BlockScope.Deployment, cloud, shape, deployment), out _);
    }

    /// <summary>Forgets the cloud's own blocks (it was restored); deployments' blocks there stand, as their cause is their model.</summary>
    public void Clear(string cloud) => Remove(b => b.Cloud == cloud && b.Deployment is null);

    /// <summary>Forgets every block of a deployment (it was deleted).</summary>
    public void ClearDeployment(string deployment) => Remove(b => b.Deployment == deployment);

    private void Remove(Func<Block, bool> which)
    {
        foreach (var (key, entry) in _blocks)
        {
            if (which(entry.Block))
            {
                _blocks.TryRemove(key, out _);
            }
        }
    }

    private static string Key(BlockScope scope, CloudSpec cloud, string shape, string? deployment) => scope switch
    {
        BlockScope.Cloud => $"cloud/{cloud.Name}",
        BlockScope.Region => $"region/{cloud.Region}",
        BlockScope.Deployment => $"deployment/{deployment}/{cloud.Name}",
        _ => $"shape/{cloud.Name}/{shape}",
    };
}

/// <summary>The reconciler's placement view per deployment, for the API to show.</summary>
public sealed class PlacementStatuses
{
    private readonly ConcurrentDictionary<string, PlacementStatus> _statuses = new(StringComparer.Ordinal);

    public PlacementStatus? Get(string deployment) => _statuses.GetValueOrDefault(deployment);

    internal void Set(string deployment, PlacementStatus status) => _statuses[deployment] = status;

    internal void Remove(string deployment) => _statuses.TryRemove(deployment, out _);
}
