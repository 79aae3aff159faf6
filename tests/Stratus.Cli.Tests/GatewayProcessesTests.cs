using System.Diagnostics;
using Stratus.Cli.Tests.Support;
using Stratus.Client;
using Stratus.Core.Api;
using Stratus.Core.Deployments;
using Xunit.Abstractions;

namespace Stratus.Cli.Tests;

/// <summary>
/// Load decisions from gateways in other processes: one <c>stratus server</c> and two <c>stratus gateway</c>
/// processes in two regions (<see cref="ProcessSystem"/>), whose load reports the server merges. Each gateway alone
/// carries half of the load, so what the server decides it decides on the merged figures.
/// </summary>
[Trait("Category", "Process")]
public sealed class GatewayProcessesTests(ProcessSystem system, ITestOutputHelper output) : IClassFixture<ProcessSystem>
{
    private StratusClient Client => system.Client;

    private async Task PushAsync(string file)
    {
        await using var model = File.OpenRead(Stratus.Testing.RepositoryFiles.Model(file));
        await Client.PushModelAsync("credit-risk", model);
    }

    private async Task ReachableThroughBothAsync(string deployment)
    {
        foreach (var gateway in system.Gateways)
        {
            await TestSystem.WaitForGatewayAsync(gateway, deployment, system.Tls.Trust);
        }
    }

    /// <summary>Steady load through both gateways, <paramref name="callers"/> callers each.</summary>
    private Task<LoadResult[]> LoadThroughBothAsync(string deployment, int callers, CancellationToken stop) =>
        Task.WhenAll(system.Gateways.Select(g => TestSystem.MeasuredLoadAsync(g, deployment, callers, stop, system.Tls.Trust)));

    [Fact]
    public async Task Gateways_ReportToTheServer_BothFreshInTheirRegions()
    {
        await Stratus.Testing.Eventually.HoldsAsync(
            async () => (await Client.ListGatewaysAsync()) is { Count: 2 } gateways && gateways.All(g => g.Fresh && g.Sequence > 1),
            "both gateways report",
            seconds: 30);

        var gateways = await Client.ListGatewaysAsync();
        Assert.Equal(ProcessSystem.Regions.Order(), gateways.Select(g => g.Region!).Order());

        // The same through the CLI: the one server leads, and both gateways report to it.
        var (exit, json) = await CliRunner.RunAsync("cluster", "status", "-o", "json", "--server", system.Server.ToString(), "--token", system.Token, "--ca", system.Tls.CaFile);
        Assert.True(exit == 0, string.Join(" | ", json.Errors));
        var cluster = System.Text.Json.JsonDocument.Parse(json.ConsoleText).RootElement;
        Assert.True(cluster.GetProperty("leader").GetProperty("leading").GetBoolean());
        Assert.Equal(1, cluster.GetProperty("leader").GetProperty("epoch").GetInt64());
        Assert.Equal(2, cluster.GetProperty("gateways").GetArrayLength());

        var (tableExit, table) = await CliRunner.RunAsync("cluster", "status", "--server", system.Server.ToString(), "--token", system.Token, "--ca", system.Tls.CaFile);
        Assert.Equal(0, tableExit);
        Assert.Contains("leads", table.ConsoleText, StringComparison.Ordinal);
        Assert.Contains("eu-west", table.ConsoleText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Autoscaling_LoadThroughBothGateways_ScalesOnTheirSumAndBackDown()
    {
        await PushAsync("credit-risk.onnx");
        await Client.ApplyAsync("auto", """
            {"model":"credit-risk","replicas":1,"public":true,"placement":{"allowedClouds":["local-ap"]},
             "autoscaling":{"minReplicas":1,"maxReplicas":4,"targetPerReplica":13,"scaleDownDelay":"00:00:03","stableWindow":"00:00:06","panicWindow":"00:00:02"}}
            """);
        await Client.WaitForReadyAsync("auto", 1, TimeSpan.FromSeconds(60));
        await ReachableThroughBothAsync("auto");

        // 25 callers per gateway: each alone would want 25 / 13 -> 2 replicas; their sum, 50 / 13 -> 4.
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var load = LoadThroughBothAsync("auto", 25, stop.Token);
        long busyGateways = 0;
        await Stratus.Testing.Eventually.HoldsAsync(
            async () =>
            {
                busyGateways = Math.Max(busyGateways, (await Client.ListGatewaysAsync()).Where(g => g.Fresh && g.InFlight > 0).Select(_ => 1).Sum());
                return (await Client.GetDeploymentAsync("auto")).ReadyReplicas == 4;
            },
            "50 callers through two gateways scaled the deployment to 4 replicas",
            seconds: 120);
        var up = clock.Elapsed;

        await stop.CancelAsync();
        var results = await load;
        clock.Restart();
        await Stratus.Testing.Eventually.HoldsAsync(
            async () => (await Client.GetDeploymentAsync("auto")) is { ReadyReplicas: 1, Replicas.Count: 1 },
            "the idle deployment scaled back to 1",
            seconds: 90);
        var down = clock.Elapsed;

        output.WriteLine($"1 -> 4 replicas in {up.TotalSeconds:0.0} s with 25 callers through each of two gateways; back to 1 in {down.TotalSeconds:0.0} s; answered {string.Join(" + ", results.Select(r => r.Ok))}, failed {results.Sum(r => r.Failed)}");
        Assert.All(results, r => Assert.True(r.Ok > 0 && r.Failed == 0, string.Join(" | ", r.Failures)));
        Assert.Equal(2, busyGateways);
        Assert.Contains(await Client.ListAuditAsync(), e => e.Action == "deployment.autoscale" && e.After!.Contains("\"replicas\":4", StringComparison.Ordinal));
        await Client.DeleteDeploymentAsync("auto");
    }

    [Fact]
    public async Task BadCanary_LoadThroughBothGateways_IsRolledBackOnTheirMergedFigures()
    {
        await PushAsync("credit-risk.onnx");
        var stable = (await Client.ListModelsAsync()).Where(m => m.Name == "credit-risk").Max(m => m.Version);
        await Client.DeployAsync("risk", "credit-risk", stable, 1, placement: new() { AllowedClouds = ["local-us"] }, isPublic: true);
        await Client.WaitForReadyAsync("risk", 1, TimeSpan.FromSeconds(60));
        await ReachableThroughBothAsync("risk");

        // The next version is another model: the deployment's requests do not fit it, so it answers them with errors.
        await PushAsync("mlp-large.onnx");
        using var stop = new CancellationTokenSource();
        var load = LoadThroughBothAsync("risk", 2, stop.Token);
        var started = Stopwatch.GetTimestamp();
        await Client.StartRolloutAsync("risk", stable + 1, "canary", new RolloutRequest(null, null) { Replicas = 1, Steps = [20, 50, 100], StepSeconds = 3, MinRequests = 10 });
        Rollout? rollout = null;
        await Stratus.Testing.Eventually.HoldsAsync(async () => (rollout = await Client.GetRolloutAsync("risk")).State is RolloutState.Promoted or RolloutState.RolledBack, "the rollout settled", seconds: 120);
        var took = Stopwatch.GetElapsedTime(started);
        await stop.CancelAsync();
        var results = await load;

        output.WriteLine($"bad canary through two gateways: {rollout!.State} after {took.TotalSeconds:0.0} s ({rollout.Reason}); answered {string.Join(" + ", results.Select(r => r.Ok))}, failed {results.Sum(r => r.Failed)}");
        Assert.Equal(RolloutState.RolledBack, rollout.State);
        Assert.StartsWith("error rate 100.0%", rollout.Reason, StringComparison.Ordinal);
        Assert.All(results, r => Assert.True(r.Ok > 0 && r.Failed == 0, string.Join(" | ", r.Failures)));
        Assert.All(results, r => Assert.Equal([stable.ToString(System.Globalization.CultureInfo.InvariantCulture)], r.Versions.Keys));
        var deployment = await Client.GetDeploymentAsync("risk");
        Assert.Equal(stable, deployment.Deployment.ModelVersion);
        Assert.Empty(deployment.Deployment.Traffic);
    }

    [Fact]
    public async Task RecordedProbes_ThroughAGatewayProcess_TheServerKeepsThemAsTheVersionsSamples()
    {
        await using (var model = File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")))
        {
            await Client.PushModelAsync("recorded", model);
        }

        await Client.ApplyAsync("recorded", """{"model":"recorded","version":1,"replicas":1,"public":true,"placement":{"allowedClouds":["local-us"]},"probes":{"record":2}}""");
        await Client.WaitForReadyAsync("recorded", 1, TimeSpan.FromSeconds(60));
        await ReachableThroughBothAsync("recorded");

        // Answered requests through one gateway process. It has recorded one already: the request that showed the
        // deployment reachable. It hands over one more (another body: a sample is kept once per body), then no more.
        var body = await File.ReadAllTextAsync(Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json"));
        // The same request with its first feature one higher: another sample (the id is not part of one).
        var other = System.Text.RegularExpressions.Regex.Replace(body, "\"data\"\\s*:\\s*\\[(\\d+)", m => $"\"data\": [{int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1}", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
        Assert.NotEqual(body, other);
        using var http = system.Tls.HttpClient(system.Gateways[0]);
        foreach (var request in new[] { other, body, other, body })
        {
            using var answer = await http.PostAsync("v2/models/recorded/infer", new StringContent(request, System.Text.Encoding.UTF8, "application/json"));
            Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());
        }

        await Stratus.Testing.Eventually.HoldsAsync(
            async () => (await Client.ListSamplesAsync("recorded", 1)).Count(s => s.Source == "gateway") == 2,
            "the server kept the two recorded requests",
            seconds: 30);
        var samples = await Client.ListSamplesAsync("recorded", 1);
        Assert.Equal(2, samples.Count(s => s.Source == "gateway"));
        Assert.Contains(await Client.ListAuditAsync(), e => e.Action == "model.samples" && e.Target == "recorded/1");
    }
}
