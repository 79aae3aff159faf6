using System.Text.Json;
using Stratus.Cli.Tests.Support;

namespace Stratus.Cli.Tests;

/// <summary>
/// The README's first command, `stratus up --demo`, as a real child process from the repository root: it starts the
/// whole system, pushes, deploys to three clouds and infers through the gateway; the client verbs then work from the
/// config it wrote; a killed replica comes back; Ctrl+C stops it and every replica.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class UpProcessTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-up-{Guid.NewGuid():N}");

    public void Dispose()
    {
        Stratus.Testing.ChildProcesses.KillMatching(_data);
        Directory.Delete(_data, recursive: true);
    }

    private int RunningReplicas() => Stratus.Testing.ChildProcesses.Matching(c => c.Contains(_data, StringComparison.Ordinal) && c.Contains(" replica ", StringComparison.Ordinal)).Count;

    [Fact]
    public async Task UpDemo_RunsTheWholeFlowAndStopsCleanlyOnCtrlC()
    {
        var config = Path.Combine(_data, "config.json");
        using var up = await UpProcess.StartAsync(
            Path.GetDirectoryName(Path.GetDirectoryName(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx"))),
            "--demo", "--data-dir", _data, "--config", config, "--port", "0", "--gateway-port", "0");
        var output = string.Join('\n', up.Lines);
        Assert.True(up.IsRunning, output);
        Assert.Contains("Stratus is up", output, StringComparison.Ordinal);
        Assert.Contains($"admin token in {Path.Combine(_data, "admin.token")}", output, StringComparison.Ordinal);
        Assert.Contains("demo: deployment credit-risk ready", output, StringComparison.Ordinal);
        Assert.Matches(@"answered in [0-9.]+ ms: probabilities \[2,2\] = \[", output);

        // TLS by default: the API and the gateway are https, the config names the development CA, and a caller that
        // speaks plain HTTP to the API's port gets no answer from the API.
        var written = JsonDocument.Parse(await File.ReadAllTextAsync(config)).RootElement;
        var server = new Uri(written.GetProperty("server").GetString()!);
        Assert.Equal("https", server.Scheme);
        Assert.Equal("https", new Uri(written.GetProperty("gateway").GetString()!).Scheme);
        Assert.Equal(Path.Combine(_data, "tls", "ca.crt"), written.GetProperty("caFile").GetString());
        using (var plain = new HttpClient())
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync(new UriBuilder(server) { Scheme = "http" }.Uri + "api/v1/deployments"));
        }

        // The client verbs find everything through the config `up` wrote: no flags.
        var (exit, list) = await CliRunner.RunAsync("deployment", "get", "credit-risk", "-o", "json", "--config", config);
        Assert.Equal(0, exit);
        var deployment = JsonDocument.Parse(list.ConsoleText).RootElement;
        Assert.Equal(3, deployment.GetProperty("readyReplicas").GetInt32());
        Assert.Equal(3, deployment.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("cloud").GetString()).Distinct().Count());

        // A replica process killed comes back.
        var victim = deployment.GetProperty("replicas")[0].GetProperty("id").GetString()!;
        Assert.Equal(1, Stratus.Testing.ChildProcesses.KillMatching(victim));
        await Stratus.Testing.Eventually.HoldsAsync(
            async () =>
            {
                var (_, now) = await CliRunner.RunAsync("deployment", "get", "credit-risk", "-o", "json", "--config", config);
                var state = JsonDocument.Parse(now.ConsoleText).RootElement;
                return state.GetProperty("readyReplicas").GetInt32() == 3 && !state.GetProperty("replicas").EnumerateArray().Any(r => r.GetProperty("id").GetString() == victim);
            },
            "the killed replica was replaced");
        var (inferExit, inferred) = await CliRunner.RunAsync("infer", "credit-risk", "-i", "@" + Stratus.Testing.RepositoryFiles.Model("credit-risk.request.json"), "--config", config);
        Assert.Equal(0, inferExit);
        Assert.Contains("probabilities", inferred.ConsoleText, StringComparison.Ordinal);

        // Ctrl+C: the gateway, the control plane and every replica stop.
        var rest = await up.InterruptAsync();
        Assert.Equal(0, up.Process.ExitCode);
        Assert.Contains("stopped", rest, StringComparison.Ordinal);
        Assert.Equal(0, RunningReplicas());
    }
}
