using Stratus.Cli.Tests.Support;
using Stratus.Core.Api;
using Stratus.Core.Deployments;
using Xunit.Abstractions;

namespace Stratus.Cli.Tests;

/// <summary>
/// Rollouts on the whole system under steady load through the gateway: a bad canary (a model that fails the
/// deployment's requests) is rolled back on its own without a caller seeing a failure; so is one that fails in one
/// cloud only; a good one is promoted; a blue-green switch costs no request; a shadow version is compared on live
/// traffic no caller sees, rolled back when its answers diverge and promoted when they match.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class RolloutTests(ITestOutputHelper output) : SystemTest
{
    protected override async Task StartedAsync()
    {
        await PushAsync("credit-risk", "credit-risk.onnx");
        await Client.DeployAsync("risk", "credit-risk", 1, 1, placement: new() { AllowedClouds = ["local-us"] }, isPublic: true);
        await Client.WaitForReadyAsync("risk", 1, TimeSpan.FromSeconds(60));
        await Platform.WaitForGatewayAsync("risk");
    }

    [Fact]
    public async Task BadCanary_IsRolledBackOnItsOwnWithoutACallerSeeingAFailure()
    {
        // Version 2 is another model: the deployment's requests do not fit it, so it answers them with errors.
        await PushAsync("credit-risk", "mlp-large.onnx");
        using var stop = new CancellationTokenSource();
        var load = Platform.MeasuredLoadAsync("risk", 2, stop.Token);

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await Client.StartRolloutAsync("risk", 2, "canary", new RolloutRequest(null, null) { Replicas = 1, Steps = [20, 50, 100], StepSeconds = 3, MinRequests = 10 });
        var (rollout, took) = await SettledAsync("risk", started);
        await stop.CancelAsync();
        var result = await load;

        // Every request the canary failed was answered by the stable version; the failures still count against it.
        output.WriteLine($"bad canary: {rollout.State} after {took.TotalSeconds:0.0} s ({rollout.Reason}); {result.Ok} answered, {result.Failed} failed; answered by version {string.Join(", ", result.Versions.Select(v => $"{v.Key}: {v.Value}"))}; slowest {result.Slowest.TotalMilliseconds:0} ms");
        Assert.Equal(RolloutState.RolledBack, rollout.State);
        Assert.StartsWith("error rate 100.0%", rollout.Reason, StringComparison.Ordinal);
        Assert.Equal(0, rollout.Step);
        Assert.True(result.Failed == 0, string.Join(" | ", result.Failures));
        Assert.True(result.Ok > 0);
        Assert.Equal(["1"], result.Versions.Keys);
        var deployment = await Client.GetDeploymentAsync("risk");
        Assert.Equal(1, deployment.Deployment.ModelVersion);
        Assert.Empty(deployment.Deployment.Traffic);

        // Everything is back on version 1.
        await Client.WaitForReadyAsync("risk", 1, TimeSpan.FromSeconds(60));
        using var after = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var (okAfter, failedAfter) = await Platform.LoadAsync("risk", 2, after.Token);
        Assert.Equal(0, failedAfter);
        Assert.True(okAfter > 0);
    }

    [Fact]
    public async Task GoodCanary_IsPromotedStepByStepWithoutAFailure()
    {
        await PushAsync("credit-risk", "credit-risk.onnx");
        using var stop = new CancellationTokenSource();
        var load = Platform.LoadAsync("risk", 2, stop.Token);

        // Latency rollbacks are unit-tested in CanaryAnalysisTests; here, on a 2-core machine running other suites at
        // once, a new replica's p99 is mostly noise, so the allowance is wide and the flow is what is tested.
        await Client.StartRolloutAsync("risk", 2, "canary", new RolloutRequest(null, null) { Replicas = 1, Steps = [50, 100], StepSeconds = 2, MinRequests = 5, P99SlackMs = 2000 });
        var rollout = await SettledAsync("risk");
        await stop.CancelAsync();
        var (ok, failed) = await load;

        output.WriteLine($"good canary: {rollout.State} ({rollout.Reason}); {ok} answered, {failed} failed");
        Assert.True(rollout.State == RolloutState.Promoted, rollout.Reason);
        Assert.Equal(0, failed);
        Assert.Equal(2, (await Client.GetDeploymentAsync("risk")).Deployment.ModelVersion);

        // The same model file pushed again: its answers to the probe set are the stable version's.
        Assert.Equal("identical answers to the 4 probes", rollout.Divergence);
        Assert.Contains(await Client.ListAuditAsync(), e => e.Action == "rollout.advance");
    }

    [Fact]
    public async Task BlueGreen_FromASpec_SwitchesOnceTheNewVersionIsReady()
    {
        await PushAsync("credit-risk", "credit-risk.onnx");
        using var stop = new CancellationTokenSource();
        var load = Platform.MeasuredLoadAsync("risk", 2, stop.Token);

        // The same as 'deploy --version 2 --strategy blue-green', from a spec: the version goes through a rollout.
        await Client.ApplyAsync("risk", """{"model":"credit-risk","version":2,"replicas":1,"public":true,"placement":{"allowedClouds":["local-us"]},"strategy":"blue-green"}""");
        Assert.Equal(1, (await Client.GetDeploymentAsync("risk")).Deployment.ModelVersion);
        var rollout = await SettledAsync("risk");
        await Client.WaitForReadyAsync("risk", 1, TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        var result = await load;

        output.WriteLine($"blue-green: {rollout.State} ({rollout.Reason}); {result.Ok} answered, {result.Failed} failed");
        Assert.True(rollout.State == RolloutState.Promoted, rollout.Reason);
        Assert.True(result.Failed == 0, string.Join(" | ", result.Failures));
        var deployment = await Client.GetDeploymentAsync("risk");
        Assert.Equal(2, deployment.Deployment.ModelVersion);
        Assert.All(deployment.Replicas.Where(r => r.State == ReplicaState.Ready), r => Assert.Equal(2, r.ModelVersion));
    }

    [Fact]
    public async Task Shadow_AVersionWithDifferentAnswers_IsRolledBackOnDivergenceWithoutACallerSeeingIt()
    {
        // Version 2 is the same network retrained: the same signature, probabilities a few percent apart.
        await PushAsync("credit-risk", "credit-risk-v2.onnx");
        using var stop = new CancellationTokenSource();
        var load = Platform.MeasuredLoadAsync("risk", 2, stop.Token);

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await Client.StartRolloutAsync("risk", 2, "shadow", new RolloutRequest(null, null) { Replicas = 1, StepSeconds = 3, MinRequests = 20 });
        var (rollout, took) = await SettledAsync("risk", started);
        await stop.CancelAsync();
        var result = await load;

        output.WriteLine($"shadow, divergent: {rollout.State} after {took.TotalSeconds:0.0} s ({rollout.Reason}); {rollout.Report}; callers: {result.Ok} answered, {result.Failed} failed, by version {string.Join(", ", result.Versions.Select(v => $"{v.Key}: {v.Value}"))}");
        Assert.Equal(RolloutState.RolledBack, rollout.State);
        Assert.Matches("^output '(probabilities|label)' differs by up to", rollout.Reason);
        Assert.Contains("arg-max agreement", rollout.Report, StringComparison.Ordinal);
        Assert.Equal(0, result.Failed);
        Assert.Equal(["1"], result.Versions.Keys);
        Assert.Equal(1, (await Client.GetDeploymentAsync("risk")).Deployment.ModelVersion);
        Assert.Contains(await Client.ListAuditAsync(), e => e.Action == "rollout.shadow" && e.After!.Contains("rollback", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Shadow_AVersionWithTheSameAnswers_IsPromoted()
    {
        await PushAsync("credit-risk", "credit-risk.onnx");
        using var stop = new CancellationTokenSource();
        var load = Platform.MeasuredLoadAsync("risk", 2, stop.Token);

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await Client.StartRolloutAsync("risk", 2, "shadow", new RolloutRequest(null, null) { Replicas = 1, StepSeconds = 3, MinRequests = 20 });
        var (rollout, took) = await SettledAsync("risk", started);
        await Client.WaitForReadyAsync("risk", 1, TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        var result = await load;

        output.WriteLine($"shadow, identical: {rollout.State} after {took.TotalSeconds:0.0} s ({rollout.Reason}); {rollout.Report}; callers: {result.Ok} answered, {result.Failed} failed");
        Assert.True(rollout.State == RolloutState.Promoted, rollout.Reason);
        Assert.Contains("largest difference 0", rollout.Reason, StringComparison.Ordinal);
        Assert.Equal(0, result.Failed);
        Assert.Equal(2, (await Client.GetDeploymentAsync("risk")).Deployment.ModelVersion);
    }
}
