using System.Net.Http.Json;
using System.Text.Json;
using Stratus.ControlPlane.Providers;

namespace Stratus.ControlPlane.Tests.Providers;

/// <summary>What every cloud provider must do; the local provider's tests subclass this, and so will Kubernetes'.</summary>
public abstract class CloudProviderContractTests : IAsyncLifetime
{
    protected abstract Task<ICloudProvider> CreateAsync(int smallCapacity);

    /// <summary>A launch of the credit-risk sample model.</summary>
    protected abstract ReplicaLaunch Launch(string replicaId, string shape = "cpu-small");

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public abstract Task DisposeAsync();

    [Fact]
    public async Task Launch_ReturnsAReadyReplicaThatServesTheModel()
    {
        var provider = await CreateAsync(smallCapacity: 2);

        var handle = await provider.LaunchAsync(Launch("r1"));

        using var client = new HttpClient { BaseAddress = handle.Endpoint };
        Assert.True((await client.GetAsync("v2/health/ready")).IsSuccessStatusCode);
        using var response = await client.PostAsync("v2/models/credit-risk/infer", new StringContent(
            """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,12],"data":[49,104000,0.241,0.108,120,7,0,23250,48,19.9,0,22.9]}]}"""));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        Assert.Equal("r1", Assert.Single(await provider.ListAsync()).ReplicaId);
    }

    [Fact]
    public async Task Stop_RemovesTheReplica()
    {
        var provider = await CreateAsync(smallCapacity: 2);
        var handle = await provider.LaunchAsync(Launch("r1"));

        await provider.StopAsync("r1");

        Assert.Empty(await provider.ListAsync());
        using var client = new HttpClient { BaseAddress = handle.Endpoint };
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("v2/health/live"));
        await provider.StopAsync("r1");
    }

    [Fact]
    public async Task Launch_BeyondCapacity_IsRefusedForTheShape()
    {
        var provider = await CreateAsync(smallCapacity: 1);
        await provider.LaunchAsync(Launch("r1"));

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(Launch("r2")));

        Assert.Equal(ProvisioningScope.Shape, error.Scope);
        Assert.Contains("no capacity", error.Message, StringComparison.Ordinal);
        Assert.Single(await provider.ListAsync());
    }

    [Fact]
    public async Task Launch_UnknownShape_IsRefusedForTheShape()
    {
        var provider = await CreateAsync(smallCapacity: 1);

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(Launch("r1", shape: "gpu-huge")));

        Assert.Equal(ProvisioningScope.Shape, error.Scope);
    }
}
