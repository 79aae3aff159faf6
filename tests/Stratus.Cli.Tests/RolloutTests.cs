using Stratus.Cli.Tests.Support;
using Stratus.Client;
using Xunit.Abstractions;

namespace Stratus.Cli.Tests;

/// <summary>
/// Rollouts on the whole system under steady load through the gateway: a bad canary (a model that fails the
/// deployment's requests) is rolled back on its own with failures bounded by its weight; a good one is promoted; a
/// blue-green switch costs no request.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class RolloutTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private TestSystem _system = null!;
    private StratusClient _client = null!;

    public async Task InitializeAsync()
    {
        _system = await TestSystem.StartAsync();
        _client = new StratusClient(_system.ControlPlane.Address, _system.AdminToken);
        await PushAsync("credit-risk.onnx");
        await _client.DeployAsync("risk", "credit-risk", 1, 1, placement: new() { AllowedClouds = ["local-us"] }, isPublic: true);
        await _client.WaitForReadyAsync("risk", 1, TimeSpan.FromSeconds(60));
    }

    public void Dispose() => _client?.Dispose();

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _system.DisposeAsync();
    }

    private async Task PushAsync(string file)
    {
        await using var model = File.OpenRead(Stratus.Testing.RepositoryFiles.Model(file));
        await _client.PushModelAsync("credit-risk", model);
    }

    private async Task<RolloutInfo> SettledAsync()
    {
        RolloutInfo? rollout = null;
        await Stratus.Testing.Eventually.HoldsAsync(
            async () => (rollout = await _client.GetRolloutAsync("risk")).State is "promoted" or "rolledBack",
            "the rollout promoted or rolled back",
            seconds: 120);
        return rollout!;
    }

    [Fact]
    public async Task BadCanary_IsRolledBackOnItsOwnWithFailuresBoundedByItsWeight()
    {
        // Version 2 is another model: the deployment's requests do not fit it, so it answers them with errors.
        await PushAsync("mlp-large.onnx");
        using var stop = new CancellationTokenSource();
        var load = _system.LoadAsync("risk", 2, stop.Token);

        await _client.StartRolloutAsync("risk", 2, "canary", new RolloutSettings { Replicas = 1, Steps = [20, 50, 100], StepSeconds = 3, MinRequests = 10 });
        var rollout = await SettledAsync();
        await stop.CancelAsync();
        var (ok, failed) = await load;

        output.WriteLine($"bad canary: {rollout.State} ({rollout.Reason}); {ok} answered, {failed} failed ({100.0 * failed / (ok + failed):0.0}%)");
        Assert.Equal("rolledBack", rollout.State);
        Assert.StartsWith("error rate", rollout.Reason, StringComparison.Ordinal);
        Assert.Equal(0, rollout.Step);
        Assert.InRange((double)failed / (ok + failed), 0.001, 0.30);
        var deployment = await _client.GetDeploymentAsync("risk");
        Assert.Equal(1, deployment.Deployment.ModelVersion);
        Assert.Empty(deployment.Deployment.Traffic);

        // Everything is back on version 1.
        await _client.WaitForReadyAsync("risk", 1, TimeSpan.FromSeconds(60));
        using var after = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var (okAfter, failedAfter) = await _system.LoadAsync("risk", 2, after.Token);
        Assert.Equal(0, failedAfter);
        Assert.True(okAfter > 0);
    }

    [Fact]
    public async Task GoodCanary_IsPromotedStepByStepWithoutAFailure()
    {
        await PushAsync("credit-risk.onnx");
        using var stop = new CancellationTokenSource();
        var load = _system.LoadAsync("risk", 2, stop.Token);

        // Latency rollbacks are unit-tested in CanaryAnalysisTests; here, on a 2-core machine running other suites at
        // once, a new replica's p99 is mostly noise, so the allowance is wide and the flow is what is tested.
        await _client.StartRolloutAsync("risk", 2, "canary", new RolloutSettings { Replicas = 1, Steps = [50, 100], StepSeconds = 2, MinRequests = 5, P99SlackMs = 2000 });
        var rollout = await SettledAsync();
        await stop.CancelAsync();
        var (ok, failed) = await load;

        output.WriteLine($"good canary: {rollout.State} ({rollout.Reason}); {ok} answered, {failed} failed");
        Assert.True(rollout.State == "promoted", rollout.Reason);
        Assert.Equal(0, failed);
        Assert.Equal(2, (await _client.GetDeploymentAsync("risk")).Deployment.ModelVersion);

        // The same model file pushed again: its answers to the probe set are the stable version's.
        Assert.Equal("identical answers to the 4 probes", rollout.Divergence);
        Assert.Contains(await _client.ListAuditAsync(), e => e.Action == "rollout.advance");
    }

    [Fact]
    public async Task BlueGreen_FromASpec_SwitchesOnceTheNewVersionIsReady()
    {
        await PushAsync("credit-risk.onnx");
        using var stop = new CancellationTokenSource();
        var load = _system.LoadAsync("risk", 2, stop.Token);

        // The same as 'deploy --version 2 --strategy blue-green', from a spec: the version goes through a rollout.
        await _client.ApplyAsync("risk", """{"model":"credit-risk","version":2,"replicas":1,"public":true,"placement":{"allowedClouds":["local-us"]},"strategy":"blue-green"}""");
        Assert.Equal(1, (await _client.GetDeploymentAsync("risk")).Deployment.ModelVersion);
        var rollout = await SettledAsync();
        await _client.WaitForReadyAsync("risk", 1, TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        var (ok, failed) = await load;

        output.WriteLine($"blue-green: {rollout.State} ({rollout.Reason}); {ok} answered, {failed} failed");
        Assert.True(rollout.State == "promoted", rollout.Reason);
        Assert.Equal(0, failed);
        var deployment = await _client.GetDeploymentAsync("risk");
        Assert.Equal(2, deployment.Deployment.ModelVersion);
        Assert.All(deployment.Replicas.Where(r => r.State == "ready"), r => Assert.Equal(2, r.ModelVersion));
    }
}
