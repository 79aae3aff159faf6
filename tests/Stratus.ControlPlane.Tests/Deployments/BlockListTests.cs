using Stratus.ControlPlane.Deployments.Reconciliation;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Clouds;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Tests.Deployments;

/// <summary>The block list on its own, on a clock the test moves: no server, no cloud.</summary>
public sealed class BlockListTests
{
    private static readonly CloudSpec Cheap = Cloud("cheap", "eu-1");
    private static readonly CloudSpec Near = Cloud("near", "eu-1");
    private static readonly CloudSpec Far = Cloud("far", "us-1");

    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    private static CloudSpec Cloud(string name, string region) => new(
        name, "local", region, "eu", new GeoLocation(50, 8),
        new Dictionary<string, int> { ["cpu-small"] = 4, ["cpu-large"] = 2 },
        new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m), ["cpu-large"] = new(0.4m, 0.12m) },
        TimeSpan.Zero);

    private BlockList Blocks() => new(_clock);

    [Fact]
    public void Add_DeploymentScopeWithoutTheDeployment_IsRefused()
    {
        var blocks = Blocks();

        Assert.Throws<ArgumentException>(() => blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed at start"));
        Assert.Empty(blocks.Active());
    }

    [Fact]
    public void Add_EachScope_BlocksWhatItNames()
    {
        var blocks = Blocks();

        var shape = blocks.Add(ProvisioningScope.Shape, Cheap, "cpu-large", "no capacity");
        var region = blocks.Add(ProvisioningScope.Region, Far, "cpu-small", "region down");
        var own = blocks.Add(ProvisioningScope.Deployment, Near, "cpu-small", "model failed to load", "risk");

        Assert.Equal((BlockScope.Shape, "cheap", "cpu-large", (string?)null), (shape.Scope, shape.Cloud, shape.Shape, shape.Deployment));
        Assert.Equal((BlockScope.Region, "us-1", (string?)null), (region.Scope, region.Region, region.Deployment));
        Assert.Equal((BlockScope.Deployment, "near", "risk"), (own.Scope, own.Cloud, own.Deployment));
        Assert.Equal(_clock.GetUtcNow() + BlockList.FirstBackoff, own.Until);
        Assert.Equal(["cheap", "far", "near"], blocks.Active().Select(b => b.Cloud));
    }

    [Fact]
    public void Add_CloudScopeWithADeployment_IsStillTheClouds()
    {
        var blocks = Blocks();

        // The reconciler passes the deployment with every failure; only a deployment-scope block keeps it.
        var block = blocks.Add(ProvisioningScope.Cloud, Cheap, "cpu-small", "cloud down", "risk");

        Assert.Null(block.Deployment);
        Assert.Equal([block], blocks.CloudBlocks());
        Assert.Equal([block], blocks.ActiveFor("fraud"));
    }

    [Fact]
    public void ActiveFor_IsTheCloudsOwnBlocksAndThatDeploymentsNotAnothers()
    {
        var blocks = Blocks();
        var cloud = blocks.Add(ProvisioningScope.Shape, Cheap, "cpu-small", "no capacity");
        var risk = blocks.Add(ProvisioningScope.Deployment, Near, "cpu-small", "crashed", "risk");
        var fraud = blocks.Add(ProvisioningScope.Deployment, Near, "cpu-small", "crashed", "fraud");

        Assert.Equal([cloud, risk], blocks.ActiveFor("risk"));
        Assert.Equal([cloud, fraud], blocks.ActiveFor("fraud"));
        Assert.Equal([cloud], blocks.ActiveFor("other"));
    }

    [Fact]
    public void CloudBlocks_LeaveOutDeploymentsBlocks()
    {
        var blocks = Blocks();
        var cloud = blocks.Add(ProvisioningScope.Cloud, Far, "cpu-small", "cloud down");
        blocks.Add(ProvisioningScope.Deployment, Far, "cpu-small", "crashed", "risk");

        Assert.Equal([cloud], blocks.CloudBlocks());
        Assert.Equal(2, blocks.Active().Count);
    }

    [Fact]
    public void Clear_ForgetsTheCloudsOwnBlocksAndKeepsDeploymentsBlocks()
    {
        var blocks = Blocks();
        blocks.Add(ProvisioningScope.Cloud, Cheap, "cpu-small", "cloud down");
        blocks.Add(ProvisioningScope.Shape, Cheap, "cpu-large", "no capacity");
        var own = blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk");
        var elsewhere = blocks.Add(ProvisioningScope.Shape, Near, "cpu-small", "no capacity");

        blocks.Clear("cheap");

        Assert.Equal([own, elsewhere], blocks.Active());
    }

    [Fact]
    public void ClearDeployment_ForgetsOnlyThatDeploymentsBlocks()
    {
        var blocks = Blocks();
        var cloud = blocks.Add(ProvisioningScope.Shape, Cheap, "cpu-small", "no capacity");
        blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk");
        blocks.Add(ProvisioningScope.Deployment, Near, "cpu-small", "crashed", "risk");
        var fraud = blocks.Add(ProvisioningScope.Deployment, Near, "cpu-small", "crashed", "fraud");

        blocks.ClearDeployment("risk");

        Assert.Equal([cloud, fraud], blocks.Active());
    }

    [Fact]
    public void Succeeded_ClearsThatDeploymentsBlockThereAndTheCloudsOwn()
    {
        var blocks = Blocks();
        blocks.Add(ProvisioningScope.Shape, Cheap, "cpu-small", "no capacity");
        blocks.Add(ProvisioningScope.Cloud, Cheap, "cpu-small", "cloud down");
        blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk");
        var otherShape = blocks.Add(ProvisioningScope.Shape, Cheap, "cpu-large", "no capacity");
        var otherDeployment = blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "fraud");
        var otherCloud = blocks.Add(ProvisioningScope.Deployment, Far, "cpu-small", "crashed", "risk");

        blocks.Succeeded(Cheap, "cpu-small", "risk");

        Assert.Equal([otherShape, otherDeployment, otherCloud], blocks.Active());
    }

    [Fact]
    public void Succeeded_ClearsTheRegionBlockCoveringTheCloud()
    {
        var blocks = Blocks();
        blocks.Add(ProvisioningScope.Region, Near, "cpu-small", "region down");

        blocks.Succeeded(Cheap, "cpu-small", "risk");

        Assert.Empty(blocks.Active());
    }

    [Fact]
    public void Add_WhileInForce_KeepsTheBlockAndAfterItRunsOutDoublesUpToTheLimit()
    {
        var blocks = Blocks();
        var first = blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk");

        // Another failure of the same burst: the block in force stands, its reason included.
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(first, blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed again", "risk"));

        var backoffs = new List<TimeSpan>();
        for (var i = 0; i < 8; i++)
        {
            _clock.Advance(BlockList.MaxBackoff + TimeSpan.FromSeconds(1));
            Assert.Empty(blocks.Active());
            var now = _clock.GetUtcNow();
            backoffs.Add(blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk").Until - now);
        }

        Assert.Equal([10, 20, 40, 80, 120, 120, 120, 120], backoffs.Select(b => (int)b.TotalSeconds));
    }

    [Fact]
    public void Add_BacksOffPerKey()
    {
        var blocks = Blocks();
        blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk");
        _clock.Advance(BlockList.FirstBackoff + TimeSpan.FromSeconds(1));
        var now = _clock.GetUtcNow();

        var riskAgain = blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk");
        var fraud = blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "fraud");
        var riskElsewhere = blocks.Add(ProvisioningScope.Deployment, Near, "cpu-small", "crashed", "risk");
        var shape = blocks.Add(ProvisioningScope.Shape, Cheap, "cpu-small", "no capacity");

        Assert.Equal(BlockList.FirstBackoff * 2, riskAgain.Until - now);
        Assert.All(new[] { fraud, riskElsewhere, shape }, b => Assert.Equal(BlockList.FirstBackoff, b.Until - now));
    }

    [Fact]
    public void Succeeded_ResetsTheBackoff()
    {
        var blocks = Blocks();
        blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk");
        _clock.Advance(BlockList.FirstBackoff + TimeSpan.FromSeconds(1));
        blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk");

        blocks.Succeeded(Cheap, "cpu-small", "risk");
        var now = _clock.GetUtcNow();

        Assert.Equal(BlockList.FirstBackoff, blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk").Until - now);
    }

    [Fact]
    public void Active_LeavesOutBlocksThatRanOut()
    {
        var blocks = Blocks();
        blocks.Add(ProvisioningScope.Deployment, Cheap, "cpu-small", "crashed", "risk");
        blocks.Add(ProvisioningScope.Cloud, Near, "cpu-small", "cloud down");

        _clock.Advance(BlockList.FirstBackoff);

        Assert.Empty(blocks.Active());
        Assert.Empty(blocks.ActiveFor("risk"));
        Assert.Empty(blocks.CloudBlocks());
    }
}
