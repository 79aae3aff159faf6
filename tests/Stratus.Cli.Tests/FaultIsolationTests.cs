using System.Text.Json;
using Stratus.Cli.Tests.Support;
using Xunit.Abstractions;

namespace Stratus.Cli.Tests;

/// <summary>
/// Faults stay with their cause, on the whole system: a deployment whose model fails its consistency check backs off
/// that deployment only, so a healthy deployment beside it is placed and served at once in the cheapest cloud, a
/// killed replica of it comes straight back, no cloud shows a block, and deleting the failing deployment clears its.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class FaultIsolationTests(ITestOutputHelper output) : SystemTest
{

    [Fact]
    public async Task AFailingModelBesideAHealthyOne_TheHealthyOneIsPlacedAndServedAtOnceInTheCheapestCloud()
    {
        // Its answers differ on every run: every replica after the first fails the consistency check, in any cloud.
        await PushAsync("noisy", "nondeterministic.onnx");
        await PushAsync("credit-risk", "credit-risk.onnx");

        // The reference, in the same run: the same healthy deployment on an otherwise empty system.
        var alone = System.Diagnostics.Stopwatch.GetTimestamp();
        await Client.DeployAsync("alone", "credit-risk", null, 1, isPublic: true);
        await Client.WaitForReadyAsync("alone", 1, TimeSpan.FromSeconds(60));
        var reference = System.Diagnostics.Stopwatch.GetElapsedTime(alone);
        await Client.DeleteDeploymentAsync("alone");
        await Stratus.Testing.Eventually.HoldsAsync(() => Platform.RunningReplicas() == 0, "the reference deployment stopped");

        await Client.DeployAsync("noisy", "noisy", null, 3, isPublic: true);
        await Stratus.Testing.Eventually.HoldsAsync(
            async () => (await Client.GetDeploymentAsync("noisy")).Placement?.Blocked.Count > 0,
            "the failing deployment backed off somewhere",
            seconds: 60);

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await Client.DeployAsync("risk", "credit-risk", null, 1, isPublic: true);
        var route = await Client.WaitForReadyAsync("risk", 1, TimeSpan.FromSeconds(60));
        var placed = System.Diagnostics.Stopwatch.GetElapsedTime(started);

        // The cheapest cloud, as if the failing model were not there; and it answers through the gateway.
        Assert.Equal("local-ap", Assert.Single(route.Endpoints).Cloud);
        await Platform.WaitForGatewayAsync("risk");
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
        {
            var (ok, failed) = await Platform.LoadAsync("risk", 1, stop.Token);
            Assert.True(ok > 0 && failed == 0, $"{ok} answered, {failed} failed");
        }

        var (exit, clouds) = await Platform.RunAsync("cloud", "list", "-o", "json");
        Assert.Equal(0, exit);
        Assert.All(JsonDocument.Parse(clouds.Output).RootElement.EnumerateArray(), c => Assert.Empty(c.GetProperty("blocked").EnumerateArray()));
        // Its blocks come and go with their backoff (each retry fails again): awaited, not caught at one instant.
        await Stratus.Testing.Eventually.HoldsAsync(
            async () => (await Client.GetDeploymentAsync("noisy")).Placement?.Blocked is { Count: > 0 } blocked &&
                blocked.All(b => b.Deployment == "noisy") &&
                blocked.Any(b => b.Reason.Contains("failed the consistency check: its answers differ", StringComparison.Ordinal)),
            "the failing deployment shows its own blocks, for its failed consistency check",
            seconds: 60);
        await Stratus.Testing.Eventually.HoldsAsync(
            async () =>
            {
                var (getExit, shown) = await Platform.RunAsync("deployment", "get", "noisy");
                return getExit == 0 && shown.ConsoleText.Contains("blocked: deployment noisy in", StringComparison.Ordinal);
            },
            "deployment get shows the failing deployment's blocks",
            seconds: 60);

        // A killed replica of the healthy deployment comes back at once, in the same cloud.
        var killed = System.Diagnostics.Stopwatch.GetTimestamp();
        Stratus.Testing.ChildProcesses.KillMatching(Assert.Single(route.Endpoints).ReplicaId);
        await Stratus.Testing.Eventually.HoldsAsync(
            async () => (await Client.GetRoutesAsync()).Routes.Single(r => r.Deployment == "risk").Endpoints is [{ Cloud: "local-ap" } endpoint] && endpoint.ReplicaId != route.Endpoints[0].ReplicaId,
            "a new replica of risk serves in local-ap",
            seconds: 60);
        var replaced = System.Diagnostics.Stopwatch.GetElapsedTime(killed);
        output.WriteLine($"healthy deployment beside a failing one: ready in {placed.TotalSeconds:0.0} s in {route.Endpoints[0].Cloud} (alone: {reference.TotalSeconds:0.0} s, ratio {placed / reference:0.00}); a killed replica replaced in {replaced.TotalSeconds:0.0} s");

        // Deleting the failing deployment clears its blocks: planned again, nothing stands in its way.
        await Client.DeleteDeploymentAsync("noisy");
        await Stratus.Testing.Eventually.HoldsAsync(
            async () => !(await Client.PlanAsync("noisy", """{"model":"noisy","replicas":1}""")).Rejected.Any(r => r.Reason.Contains("blocked", StringComparison.Ordinal)),
            "the deleted deployment's blocks are gone",
            seconds: 30);
    }
}
