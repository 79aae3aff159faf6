using System.Diagnostics;
using System.Text.Json;
using Stratus.Cli.Tests.Support;
using Stratus.Client;
using Stratus.Core.Deployments;
using Stratus.Testing;
using Xunit.Abstractions;

namespace Stratus.Cli.Tests;

/// <summary>
/// Issue 12's "done when": <c>stratus up</c>, a real child process, with a <c>clouds.yaml</c> that mixes a local cloud
/// and a docker cloud on a real engine. The deployment is placed over both (the docker cloud is cheaper but holds one
/// replica); its container is what <c>docker ps</c> and <c>docker inspect</c> show, with the shape's limits and the
/// labels; the docker cloud's outage under steady load through the gateway costs no request, and the deployment is
/// back at full strength in the local cloud; Ctrl+C stops every container.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerEngine.Collection)]
public sealed class MixedCloudsTests(DockerEngine engine, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-mixed-{Guid.NewGuid():N}");
    private readonly string _cluster = $"test-mixed-{Guid.NewGuid().ToString("N")[..8]}";

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_data);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        ChildProcesses.KillMatching(_data);
        await engine.RemoveClusterAsync(_cluster);
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task Up_LocalAndDockerClouds_PlacesServesAndFailsOverWithNoFailedRequest()
    {
        var clouds = Path.Combine(_data, "clouds.yaml");
        await File.WriteAllTextAsync(clouds, $$"""
            clouds:
              - name: docker-us
                provider: docker
                region: us-east
                jurisdiction: us
                location: { lat: 38.9, lon: -77.0 }
                capacity: { cpu-small: 1 }
                prices:
                  cpu-small: { onDemand: 0.090, spot: 0.030 }
                shapes:
                  cpu-small: { cpu: 1, memoryMiB: 512 }
                docker:
                  endpoint: {{engine.Endpoint}}
              - name: local-eu
                provider: local
                region: eu-west
                jurisdiction: eu
                location: { lat: 53.3, lon: -6.3 }
                capacity: { cpu-small: 4 }
                prices:
                  cpu-small: { onDemand: 0.107, spot: 0.036 }
            """);
        var config = Path.Combine(_data, "config.json");
        using var up = await UpProcess.StartAsync(null, "--data-dir", _data, "--config", config, "--port", "0", "--gateway-port", "0", "--clouds", clouds, "--cluster-id", _cluster);
        Assert.True(up.IsRunning, string.Join('\n', up.Lines));
        var written = JsonDocument.Parse(await File.ReadAllTextAsync(config)).RootElement;
        var gateway = new Uri(written.GetProperty("gateway").GetString()!);
        var token = (await File.ReadAllTextAsync(written.GetProperty("tokenFile").GetString()!)).Trim();
        var trust = new Stratus.Core.Tls.ClientTls(Stratus.Core.Tls.PlatformTrust.FromFile(written.GetProperty("caFile").GetString()!));
        using var client = new StratusClient(new Uri(written.GetProperty("server").GetString()!), token, trust.CreateHandler());
        await using (var model = File.OpenRead(RepositoryFiles.Model("credit-risk.onnx")))
        {
            await client.PushModelAsync("credit-risk", model);
        }

        var deploying = Stopwatch.StartNew();
        await client.DeployAsync("risk", "credit-risk", 1, 2, isPublic: true);
        await client.WaitForReadyAsync("risk", 2, TimeSpan.FromSeconds(120));
        output.WriteLine($"two replicas (docker-us and local-eu) ready {deploying.Elapsed.TotalSeconds:0.0} s after the deploy");
        Assert.Equal(["docker-us", "local-eu"], await CloudsOfAsync(client));

        // What the engine runs, as its own client shows it.
        var docker = (await client.ListReplicasAsync()).Single(r => r.Cloud == "docker-us" && r.State == ReplicaState.Ready);
        var (psExit, ps) = await DockerCliAsync("ps", "--filter", $"label=stratus.io/cluster={_cluster}", "--format", "{{.Names}}|{{.Status}}|{{.Label \"stratus.io/replica\"}}|{{.Label \"stratus.io/deployment\"}}|{{.Label \"stratus.io/version\"}}");
        Assert.Equal(0, psExit);
        var row = Assert.Single(ps.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Split('|');
        Assert.StartsWith("Up", row[1], StringComparison.Ordinal);
        Assert.Equal((docker.Id, "risk", "1"), (row[2], row[3], row[4]));
        var (_, limits) = await DockerCliAsync("inspect", "--format", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.NetworkMode}} {{.HostConfig.RestartPolicy.Name}}", row[0]);
        Assert.Equal("1000000000 536870912 host on-failure", limits.Trim());

        using var stop = new CancellationTokenSource();
        var load = TestSystem.MeasuredLoadAsync(gateway, "risk", 2, stop.Token, trust);

        var clock = Stopwatch.StartNew();
        await client.OutageAsync("docker-us");
        await Eventually.HoldsAsync(async () => await CloudsOfAsync(client) is ["local-eu", "local-eu"], "both replicas ready in local-eu", 120);
        var toFullStrength = clock.Elapsed;
        var (_, after) = await DockerCliAsync("ps", "--filter", $"label=stratus.io/cluster={_cluster}", "--format", "{{.Names}}");
        Assert.Equal(string.Empty, after.Trim());

        await stop.CancelAsync();
        var result = await load;
        output.WriteLine($"outage of docker-us: full strength in local-eu after {toFullStrength.TotalSeconds:0.00} s; load during it: {result.Ok} answered, {result.Failed} failed");
        Assert.True(result.Ok > 0, "the load reached the gateway");
        Assert.True(result.Failed == 0, string.Join("; ", result.Failures));

        // Back: the docker cloud takes launches again, and Ctrl+C stops every replica, containers too.
        await client.RestoreAsync("docker-us");
        await up.InterruptAsync();
        Assert.True(up.Process.ExitCode == 0, await up.Errors);
        var (_, left) = await DockerCliAsync("ps", "--all", "--filter", $"label=stratus.io/cluster={_cluster}", "--format", "{{.Names}}");
        Assert.Equal(string.Empty, left.Trim());
    }

    private static async Task<string[]> CloudsOfAsync(StratusClient client) =>
        [.. (await client.ListReplicasAsync()).Where(r => r.Deployment == "risk" && r.State == ReplicaState.Ready).Select(r => r.Cloud).Order()];

    /// <summary>The docker command line client against the test engine: what an operator would type.</summary>
    private async Task<(int Exit, string Output)> DockerCliAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-H");
        info.ArgumentList.Add(engine.Endpoint.ToString());
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var text = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, process.ExitCode == 0 ? text : error);
    }
}
