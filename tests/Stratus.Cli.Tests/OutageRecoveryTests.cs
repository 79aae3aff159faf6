using System.Diagnostics;
using Stratus.Cli.Tests.Support;
using Stratus.Client;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;
using Xunit.Abstractions;

namespace Stratus.Cli.Tests;

/// <summary>
/// A whole cloud goes down under steady inference load: no request fails (the gateway retries attempts that never
/// reached a model elsewhere), the deployment spread over two clouds is restored to full strength in the surviving
/// ones within its constraints, an EU-only deployment never leaves the EU, and when the
/// cloud returns the stability rule keeps the replicas where they are (the saving is below the threshold).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class OutageRecoveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestSystem _system = null!;

    public async Task InitializeAsync() => _system = await TestSystem.StartAsync();

    public async Task DisposeAsync() => await _system.DisposeAsync();

    [Fact]
    public async Task CloudOutage_UnderLoad_RestoresFullStrengthElsewhereAndKeepsResidency()
    {
        using var client = new StratusClient(_system.ControlPlane.Address, _system.AdminToken);
        await using (var model = File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")))
        {
            await client.PushModelAsync("credit-risk", model);
        }

        await client.DeployAsync("global", "credit-risk", 1, 2, placement: new PlacementConstraints { MinClouds = 2, MaxPerCloud = 1 }, isPublic: true);
        await client.DeployAsync("eu-only", "credit-risk", 1, 1, placement: new PlacementConstraints { Jurisdictions = ["eu"] });
        await client.WaitForReadyAsync("global", 2, TimeSpan.FromSeconds(60));
        await client.WaitForReadyAsync("eu-only", 1, TimeSpan.FromSeconds(60));
        Assert.Equal(["local-ap", "local-us"], await CloudsOfAsync(client, "global"));
        Assert.Equal(["local-eu"], await CloudsOfAsync(client, "eu-only"));

        using var stop = new CancellationTokenSource();
        var load = _system.LoadAsync("global", 2, stop.Token);
        var violations = WatchConstraintsAsync(client, stop.Token);

        var clock = Stopwatch.StartNew();
        await client.OutageAsync("local-ap");
        await WaitUntilAsync(client, "global", endpoints => endpoints.Count == 2 && endpoints.All(e => e.Cloud != "local-ap"));
        var toFullStrength = clock.Elapsed;

        await stop.CancelAsync();
        var (ok, failed) = await load;
        output.WriteLine($"outage of local-ap: full strength again after {toFullStrength.TotalSeconds:0.00} s; load during it: {ok} answered, {failed} failed");
        Assert.Empty(await violations);
        Assert.Equal(["local-eu", "local-us"], await CloudsOfAsync(client, "global"));
        Assert.Equal(["local-eu"], await CloudsOfAsync(client, "eu-only"));
        Assert.True(ok > 0, "the load reached the gateway");
        Assert.Equal(0, failed);

        // local-ap returns: 18% cheaper than local-eu, below the 25% stability threshold, so nothing moves.
        var restored = DateTimeOffset.UtcNow;
        await client.RestoreAsync("local-ap");
        await Stratus.Testing.Eventually.HoldsAsync(
            async () => (await client.GetDeploymentAsync("global")).Placement?.At > restored.AddSeconds(1),
            "a placement pass after the restore");
        var after = await client.GetDeploymentAsync("global");
        Assert.Equal(["local-eu", "local-us"], after.Placement!.Plan.Placement.Select(p => p.Cloud).Order());
        Assert.Equal(0, after.Placement.Plan.Moves);
        Assert.Equal(["local-eu", "local-us"], await CloudsOfAsync(client, "global"));
    }

    private static async Task<string[]> CloudsOfAsync(StratusClient client, string deployment) =>
        [.. (await client.GetDeploymentAsync(deployment)).Replicas.Where(r => r.State == ReplicaState.Ready).Select(r => r.Cloud).Order()];

    private static async Task WaitUntilAsync(StratusClient client, string deployment, Func<IReadOnlyList<Core.Routing.RouteEndpoint>, bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        long version = 0;
        while (true)
        {
            var table = await client.WaitForNewerAsync(version, TimeSpan.FromSeconds(5), timeout.Token);
            version = table.Version;
            if (table.Routes.FirstOrDefault(r => r.Deployment == deployment) is { } route && condition(route.Endpoints))
            {
                return;
            }
        }
    }

    /// <summary>Watches the replicas throughout: EU-only never outside the EU, never two live replicas of "global" in one cloud.</summary>
    private static async Task<List<string>> WatchConstraintsAsync(StratusClient client, CancellationToken stop)
    {
        var violations = new List<string>();
        for (var begun = System.Diagnostics.Stopwatch.GetTimestamp(); Stratus.Testing.LoadBound.GoesOn(begun, stop);)
        {
            var replicas = await client.ListReplicasAsync(CancellationToken.None);
            violations.AddRange(replicas.Where(r => r.Deployment == "eu-only" && r.Cloud != "local-eu").Select(r => $"eu-only replica {r.Id} in {r.Cloud}"));
            violations.AddRange(replicas
                .Where(r => r.Deployment == "global" && r.State is ReplicaState.Ready or ReplicaState.Starting)
                .GroupBy(r => r.Cloud)
                .Where(g => g.Count() > 1)
                .Select(g => $"{g.Count()} live replicas of global in {g.Key}"));
            try
            {
                await Task.Delay(50, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return violations;
    }
}
