using Stratus.Cli.Tests.Support;
using Stratus.Core.Api;
using Stratus.Core.Deployments;
using Xunit.Abstractions;

namespace Stratus.Cli.Tests;

/// <summary>
/// Canary analysis per cloud on the whole system: two clouds of one region, so the gateway spreads the canary's
/// requests over both; a fault of one cloud that only the new version meets rolls the canary back on that cloud's
/// figures, while its overall error rate stays within the allowance, and no caller sees a failure.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class PerCloudCanaryTests(ITestOutputHelper output) : SystemTest
{
    protected override string? CloudsYaml => """
        clouds:
          - name: cloud-a
            provider: local
            region: us-east
            jurisdiction: us
            location: { lat: 38.9, lon: -77.0 }
            latencyMs: 0
            capacity: { cpu-small: 4 }
            prices:
              cpu-small: { onDemand: 0.096, spot: 0.031 }
          - name: cloud-b
            provider: local
            region: us-east
            jurisdiction: us
            location: { lat: 39.0, lon: -77.5 }
            latencyMs: 0
            capacity: { cpu-small: 4 }
            prices:
              cpu-small: { onDemand: 0.099, spot: 0.032 }
        """;

    [Fact]
    public async Task Canary_FailingInOneCloudOnly_IsRolledBackOnThatCloudsFiguresRatherThanAveragedAway()
    {
        // At most one replica per cloud: the stable replica in one, the canary's two, one in each.
        await PushAsync("credit-risk", "credit-risk.onnx");
        await PushAsync("credit-risk", "credit-risk.onnx");
        await Client.ApplyAsync("risk", """{"model":"credit-risk","version":1,"replicas":1,"public":true,"placement":{"maxPerCloud":1}}""");
        await Client.WaitForReadyAsync("risk", 1, TimeSpan.FromSeconds(60));
        await Platform.WaitForGatewayAsync("risk");
        using var stop = new CancellationTokenSource();
        var load = Platform.MeasuredLoadAsync("risk", 2, stop.Token);

        // Half the canary's answers fail overall, within a 60% allowance; in cloud-b they all do.
        await Client.StartRolloutAsync("risk", 2, "canary", new RolloutRequest(null, null) { Replicas = 2, Steps = [50, 100], StepSeconds = 600, MinRequests = 10, MaxErrorRateIncrease = 0.6 });
        await Stratus.Testing.Eventually.HoldsAsync(
            async () => (await Client.GetDeploymentAsync("risk")).Replicas.Count(r => r.ModelVersion == 2 && r.State == ReplicaState.Ready) == 2,
            "both canary replicas are ready",
            seconds: 120);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var faulted = DateTimeOffset.UtcNow;
        await Client.FaultAsync("cloud-b", "risk", 2, 1.0);
        Rollout rollout;
        TimeSpan took;
        try
        {
            (rollout, took) = await SettledAsync("risk", started);
        }
        finally
        {
            foreach (var (cloud, figures) in Platform.Load.ResultsByCloudSince("risk", 2, faulted))
            {
                output.WriteLine($"canary in {cloud} since the fault: {figures.Requests} requests, {figures.Failures} failed");
            }
        }

        await stop.CancelAsync();
        var result = await load;

        output.WriteLine($"canary failing in one cloud: {rollout.State} {took.TotalSeconds:0.0} s after the fault ({rollout.Reason}); callers: {result.Ok} answered, {result.Failed} failed");
        Assert.Equal(RolloutState.RolledBack, rollout.State);
        Assert.Matches("^in cloud cloud-b: error rate [0-9.]+% against the stable version's 0.0%", rollout.Reason);
        Assert.True(result.Failed == 0, string.Join(" | ", result.Failures));
        Assert.Contains((await Client.ListCloudsAsync()).Single(c => c.Name == "cloud-b").Faults, f => f.StartsWith("risk version 2", StringComparison.Ordinal));
    }
}
