using System.Collections.Concurrent;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Clouds;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Deployments;

/// <summary>
/// Locations the planner avoids after a provider refused a launch there, each at the scope of the refusal (the
/// shape in that cloud, its region, or the whole cloud), with exponential backoff: 5 s, then twice as long for each
/// refusal after the block ran out, up to 2 minutes (refusals while a block is in force leave it as it is). A launch that succeeds clears what covered it; restoring a cloud clears
/// its blocks.
/// </summary>
public sealed class BlockList(TimeProvider time)
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<string, (Block Block, TimeSpan Backoff)> _blocks = new(StringComparer.Ordinal);

    public Block Add(ProvisioningScope scope, CloudSpec cloud, string shape, string reason)
    {
        var blockScope = scope switch
        {
            ProvisioningScope.Cloud => BlockScope.Cloud,
            ProvisioningScope.Region => BlockScope.Region,
            _ => BlockScope.Shape,
        };
        var key = Key(blockScope, cloud, shape);
        var entry = _blocks.AddOrUpdate(
            key,
            _ => (new Block(blockScope, cloud.Name, cloud.Region, shape, reason, time.GetUtcNow() + FirstBackoff), FirstBackoff),
            (_, old) =>
            {
                if (old.Block.Until > time.GetUtcNow())
                {
                    // Another refusal from the same burst (parallel launches): the block in force stands.
                    return old;
                }

                var backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, old.Backoff.Ticks * 2));
                return (new Block(blockScope, cloud.Name, cloud.Region, shape, reason, time.GetUtcNow() + backoff), backoff);
            });
        return entry.Block;
    }

    /// <summary>The blocks in force now.</summary>
    public IReadOnlyList<Block> Active()
    {
        var now = time.GetUtcNow();
        return [.. _blocks.Values.Select(e => e.Block).Where(b => b.Until > now).OrderBy(b => b.Cloud, StringComparer.Ordinal)];
    }

    /// <summary>A launch worked here: whatever blocked it is forgotten, backoff included.</summary>
    public void Succeeded(CloudSpec cloud, string shape)
    {
        _blocks.TryRemove(Key(BlockScope.Shape, cloud, shape), out _);
        _blocks.TryRemove(Key(BlockScope.Region, cloud, shape), out _);
        _blocks.TryRemove(Key(BlockScope.Cloud, cloud, shape), out _);
    }

    /// <summary>Forgets every block of a cloud (it was restored).</summary>
    public void Clear(string cloud)
    {
        foreach (var (key, entry) in _blocks)
        {
            if (entry.Block.Cloud == cloud)
            {
                _blocks.TryRemove(key, out _);
            }
        }
    }

    private static string Key(BlockScope scope, CloudSpec cloud, string shape) => scope switch
    {
        BlockScope.Cloud => $"cloud/{cloud.Name}",
        BlockScope.Region => $"region/{cloud.Region}",
        _ => $"shape/{cloud.Name}/{shape}",
    };
}

/// <summary>A deployment's last plan, what was blocked, and why it is short if it is.</summary>
public sealed record PlacementStatus(PlacementPlan Plan, IReadOnlyList<Block> Blocked, DateTimeOffset At);

/// <summary>The reconciler's placement view per deployment, for the API to show.</summary>
public sealed class PlacementStatuses
{
    private readonly ConcurrentDictionary<string, PlacementStatus> _statuses = new(StringComparer.Ordinal);

    public PlacementStatus? Get(string deployment) => _statuses.GetValueOrDefault(deployment);

    internal void Set(string deployment, PlacementStatus status) => _statuses[deployment] = status;

    internal void Remove(string deployment) => _statuses.TryRemove(deployment, out _);
}
