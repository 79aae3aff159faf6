using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stratus.Cli.Tests.Support;

namespace Stratus.Cli.Tests;

/// <summary>`stratus server` as a real child process, killed with SIGKILL in the middle of a deployment.</summary>
[Trait("Category", "EndToEnd")]
public sealed class ServerCrashTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-crash-{Guid.NewGuid():N}");

    private static Process StartServer(string data) => ServerProcess.Start("--data-dir", data, "--port", "0");

    private static Task<Uri> ReadyAtAsync(Process server) => ServerProcess.ReadyAtAsync(server);

    private HttpClient Client(Uri address)
    {
        var client = new HttpClient(Support.ProcessTls.ForDataDirectory(_data).Trust.CreateHandler()) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(90) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(Path.Combine(_data, "admin.token")).Trim());
        return client;
    }

    /// <summary>Replica processes started for this data directory (their artifact path names it).</summary>
    private int RunningReplicas() => Stratus.Testing.ChildProcesses.Matching(c =>
        c.Contains(_data, StringComparison.Ordinal) && c.Contains(" replica ", StringComparison.Ordinal) && !c.Contains(" server ", StringComparison.Ordinal)).Count;

    [Fact]
    public async Task Server_KilledMidDeploymentAndRestarted_EndsWithExactlyTheWantedReplicas()
    {
        using (var first = StartServer(_data))
        {
            var address = await ReadyAtAsync(first);
            using var client = Client(address);
            using var model = new StreamContent(File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")));
            Assert.True((await client.PostAsync("api/v1/models/credit-risk", model)).IsSuccessStatusCode);
            using var spec = new StringContent("""{"model":"credit-risk","version":1,"replicas":3}""", Encoding.UTF8, "application/json");
            Assert.True((await client.PutAsync("api/v1/deployments/risk", spec)).IsSuccessStatusCode);

            // Kill it while the deployment is under way: once a replica process exists and before all three are ready.
            await Stratus.Testing.Eventually.HoldsAsync(() => RunningReplicas() > 0, "a replica process started");

            first.Kill();
            await first.WaitForExitAsync();
        }

        using var second = StartServer(_data);
        try
        {
            using var client = Client(await ReadyAtAsync(second));

            // The acknowledged deployment survived, and the restarted control plane converges on exactly three.
            Assert.Equal(3, (await Stratus.Testing.RouteWatch.WaitForEndpointsAsync(client, "risk", 3)).Length);
            var deployment = await client.GetFromJsonAsync<JsonElement>("api/v1/deployments/risk");
            Assert.Equal(3, deployment.GetProperty("replicas").EnumerateArray().Count(r => r.GetProperty("state").GetString() == "ready"));

            // Replicas that were starting when the first server died are stopped once they come up unowned.
            await Stratus.Testing.Eventually.HoldsAsync(() => RunningReplicas() == 3, "exactly three replica processes run");
            Assert.True(RunningReplicas() == 3, $"{RunningReplicas()} replica processes; deployment {await client.GetStringAsync("api/v1/deployments/risk")}");
            Assert.True((await client.DeleteAsync("api/v1/deployments/risk")).IsSuccessStatusCode);
            await Stratus.Testing.RouteWatch.WaitForEndpointsAsync(client, "risk", 0);
        }
        finally
        {
            second.Kill();
            await second.WaitForExitAsync();
        }
    }

    public void Dispose()
    {
        Stratus.Testing.ChildProcesses.KillMatching(_data);
        Directory.Delete(_data, recursive: true);
    }
}
