using System.Diagnostics;
using System.Text;
using Stratus.Cli.Tests.Support;
using Xunit.Abstractions;

namespace Stratus.Cli.Tests;

/// <summary>
/// The autoscaler on the whole system: a load step through the gateway scales a deployment up, the drop scales it
/// down after the delay, and no request fails during either; a deployment scaled to zero answers its first caller.
/// The replicas run in local-ap, whose emulated 120 ms latency turns a few callers into real concurrency.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class AutoscalingTests(ITestOutputHelper output) : SystemTest
{
    protected override async Task StartedAsync()
    {
        await PushAsync("credit-risk", "credit-risk.onnx");
    }

    private async Task<int> ReadyAsync(string deployment) => (await Client.GetDeploymentAsync(deployment)).ReadyReplicas;

    [Fact]
    public async Task LoadStep_ScalesUpThenDownAfterTheDelay_WithoutAFailedRequest()
    {
        await Client.ApplyAsync("auto", """
            {"model":"credit-risk","replicas":1,"public":true,"placement":{"allowedClouds":["local-ap"]},
             "autoscaling":{"minReplicas":1,"maxReplicas":4,"targetPerReplica":13,"scaleDownDelay":"00:00:03","stableWindow":"00:00:06","panicWindow":"00:00:02"}}
            """);
        await Client.WaitForReadyAsync("auto", 1, TimeSpan.FromSeconds(60));

        using var stop = new CancellationTokenSource();
        var failures = 0;
        var answered = 0;
        var body = await File.ReadAllTextAsync(Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json"));
        using var http = new HttpClient { BaseAddress = Platform.Gateway.Address, Timeout = TimeSpan.FromSeconds(30) };
        async Task Caller()
        {
            for (var begun = Stopwatch.GetTimestamp(); Stratus.Testing.LoadBound.GoesOn(begun, stop.Token);)
            {
                using var response = await http.PostAsync("v2/models/auto/infer", new StringContent(body, Encoding.UTF8, "application/json"), CancellationToken.None);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref answered);
                }
                else
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }

        // One caller: about one request in flight, well under a replica's target of 13, so nothing grows.
        var single = Caller();
        await Stratus.Testing.Eventually.HoldsAsync(() => Volatile.Read(ref answered) >= 20, "one caller's first 20 answers");
        Assert.Equal(1, (await Client.GetDeploymentAsync("auto")).Deployment.Replicas);

        // Fifty callers: about 50 in flight, 50 / 13 rounds up to 4, the maximum and all local-ap can hold.
        var clock = Stopwatch.StartNew();
        var load = Task.WhenAll([single, .. Enumerable.Range(0, 49).Select(_ => Caller())]);
        await Stratus.Testing.Eventually.HoldsAsync(async () => await ReadyAsync("auto") == 4, "50 callers scaled the deployment to 4 replicas");
        var up = clock.Elapsed;

        await stop.CancelAsync();
        await load;
        clock.Restart();
        await Stratus.Testing.Eventually.HoldsAsync(async () => await ReadyAsync("auto") == 1 && (await Client.GetDeploymentAsync("auto")).Replicas.Count == 1, "the idle deployment scaled back to 1");
        var down = clock.Elapsed;

        output.WriteLine($"1 -> 4 replicas in {up.TotalSeconds:0.0} s after the step from 1 to 50 callers; back to 1 in {down.TotalSeconds:0.0} s after the load stopped; {answered} answered, {failures} failed");
        Assert.Equal(0, failures);
        Assert.True((await Client.GetDeploymentAsync("auto")).Deployment.Replicas <= 4);
        Assert.True(down >= TimeSpan.FromSeconds(3), $"scaled down after {down.TotalSeconds:0.0} s, before the 3 s delay");
        var autoscaled = (await Client.ListAuditAsync()).Where(e => e.Action == "deployment.autoscale").ToList();
        Assert.Contains(autoscaled, e => e.After!.Contains("\"replicas\":4", StringComparison.Ordinal));
        Assert.All(autoscaled, e => Assert.Equal("autoscaler", e.Actor));
    }

    [Fact]
    public async Task ScaledToZero_TheFirstCallerIsHeldAndAnswered()
    {
        await Client.ApplyAsync("cold", """
            {"model":"credit-risk","replicas":1,"public":true,"placement":{"allowedClouds":["local-us"]},
             "autoscaling":{"minReplicas":0,"maxReplicas":2,"targetPerReplica":2,"scaleDownDelay":"00:00:01","stableWindow":"00:00:02","panicWindow":"00:00:01","scaleToZeroAfter":"00:00:02"}}
            """);
        await Stratus.Testing.Eventually.HoldsAsync(async () => (await Client.GetDeploymentAsync("cold")) is { Replicas.Count: 0 } status && status.Deployment.Replicas == 0, "scaled to zero");

        var clock = Stopwatch.StartNew();
        using var http = new HttpClient { BaseAddress = Platform.Gateway.Address, Timeout = TimeSpan.FromSeconds(90) };
        using var response = await http.PostAsync("v2/models/cold/infer", new StringContent(await File.ReadAllTextAsync(Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json")), Encoding.UTF8, "application/json"));

        output.WriteLine($"cold start: first request answered after {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal(1, await ReadyAsync("cold"));
    }
}
