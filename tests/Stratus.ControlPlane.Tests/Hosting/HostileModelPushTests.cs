using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Stratus.ControlPlane.Hosting;
using Stratus.ControlPlane.Tests.Support;

namespace Stratus.ControlPlane.Tests.Hosting;

/// <summary>A model made to exhaust memory while it is validated, pushed to a whole control plane through its API.</summary>
[Collection(MemoryMeasuredCollection.Name)]
public sealed class HostileModelPushTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-hostile-{Guid.NewGuid():N}");

    public void Dispose()
    {
        Stratus.Testing.ChildProcesses.KillMatching(_data);
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task Push_ModelThatExpandsWhileLoading_RefusedForMemoryAndTheServerStaysFlat()
    {
        await using var host = await ControlPlaneHost.StartAsync(new ControlPlaneOptions { DataDirectory = _data, Port = 0, Replica = TestReplicas.Executable }, logging => { });
        using var client = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromSeconds(90) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(host.AdminTokenPath)).Trim());
        var bomb = HostileModels.Expanding();
        PeakMemory.Reset();
        var before = PeakMemory.ResidentBytes();

        using var response = await client.PostAsync("api/v1/models/bomb", new ByteArrayContent(bomb));

        var peakGrowth = PeakMemory.PeakBytes() - before;
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("model validation exceeded its memory limit of 1024 MiB", problem.GetProperty("detail").GetString());
        Assert.InRange(peakGrowth, long.MinValue, HostileModels.ExpandedElements * sizeof(float) / 8);
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>("api/v1/models")).GetArrayLength());

        // The same server validates an ordinary model in its child as before.
        using var model = new StreamContent(File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")));
        using var pushed = await client.PostAsync("api/v1/models/credit-risk", model);
        Assert.Equal(HttpStatusCode.Created, pushed.StatusCode);
        Assert.Equal("features", (await pushed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("signature").GetProperty("inputs")[0].GetProperty("name").GetString());
    }
}
