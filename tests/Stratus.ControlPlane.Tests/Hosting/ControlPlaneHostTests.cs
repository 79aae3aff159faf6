using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stratus.ControlPlane.Hosting;

namespace Stratus.ControlPlane.Tests.Hosting;

/// <summary>The whole control plane on loopback with the default three local clouds of real child replicas.</summary>
[Trait("Category", "EndToEnd")]
public sealed class ControlPlaneHostTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-cp-{Guid.NewGuid():N}");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Stratus.Testing.ChildProcesses.KillMatching(_data);
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }

    private Task<ControlPlaneHost> StartAsync() => ControlPlaneHost.StartAsync(
        new ControlPlaneOptions
        {
            DataDirectory = _data,
            Port = 0,
            ReconcilePeriod = TimeSpan.FromSeconds(1),
            Replica = Support.TestReplicas.Executable,
        },
        logging => { });

    private static HttpClient Client(ControlPlaneHost host, string token)
    {
        var client = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromSeconds(90) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [Fact]
    public async Task PushDeployRestart_ReplicasServeAndAreAdoptedWithoutDuplicates()
    {
        string[] first;
        string token;
        await using (var host = await StartAsync())
        {
            token = (await File.ReadAllTextAsync(host.AdminTokenPath)).Trim();
            using var client = Client(host, token);
            using var model = new StreamContent(File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")));
            Assert.True((await client.PostAsync("api/v1/models/credit-risk", model)).IsSuccessStatusCode);
            using var spec = new StringContent("""{"model":"credit-risk","version":1,"replicas":2}""", Encoding.UTF8, "application/json");
            Assert.True((await client.PutAsync("api/v1/deployments/risk", spec)).IsSuccessStatusCode);

            first = await Stratus.Testing.RouteWatch.WaitForEndpointsAsync(client, "risk", 2);
            var table = await client.GetFromJsonAsync<JsonElement>("api/v1/routes");
            var address = table.GetProperty("routes")[0].GetProperty("endpoints")[0].GetProperty("address").GetString();
            using var replica = new HttpClient { BaseAddress = new Uri(address!) };
            using var answer = await replica.PostAsync("v2/models/risk/infer", new StringContent(
                """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[21,12000,0.415,0.524,4,2,1,6750,60,1.7,0,1.7]}]}"""));
            Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());
        }

        // A new control plane over the same data directory: same replicas, none added, the token still valid.
        await using (var host = await StartAsync())
        {
            using var client = Client(host, token);
            var adopted = await Stratus.Testing.RouteWatch.WaitForEndpointsAsync(client, "risk", 2);
            Assert.Equal(first, adopted);
            Assert.True((await client.GetFromJsonAsync<JsonElement>("api/v1/audit/verify")).GetProperty("intact").GetBoolean());

            Assert.True((await client.DeleteAsync("api/v1/deployments/risk")).IsSuccessStatusCode);
            await Stratus.Testing.RouteWatch.WaitForEndpointsAsync(client, "risk", 0);

            // Out of the routes at once; the processes stop once drained, and their records go with them.
            await Stratus.Testing.Eventually.HoldsAsync(
                async () => (await client.GetFromJsonAsync<JsonElement>("api/v1/replicas")).GetArrayLength() == 0,
                "the deleted deployment's replicas drained and stopped");
            Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>("api/v1/replicas")).GetArrayLength());
        }

        Assert.Equal(0, Stratus.Testing.ChildProcesses.KillMatching(_data));
    }
}
