using System.Net.Http.Json;
using System.Text.Json;
using Stratus.ControlPlane.Providers;

namespace Stratus.ControlPlane.Tests.Providers;

/// <summary>
/// What every cloud provider must do: the local, docker, kubernetes and in-memory providers' tests subclass this.
/// Each subclass says how to make a provider over its cloud, and how to take that cloud down and bring it back.
/// </summary>
public abstract class CloudProviderContractTests : IAsyncLifetime
{
    /// <summary>
    /// A new provider over the test's one cloud (the same folder, engine or cluster each call): what a restarted
    /// control plane builds, so a second call must find the replicas the first one launched.
    /// </summary>
    protected abstract Task<ICloudProvider> CreateAsync(int smallCapacity);

    /// <summary>A launch of the credit-risk sample model.</summary>
    protected abstract ReplicaLaunch Launch(string replicaId, string shape = "cpu-small");

    /// <summary>Takes the whole cloud down, for real: its replicas are stopped, or its API stops answering.</summary>
    protected virtual Task OutageAsync(ICloudProvider provider) => ((IOutageEmulation)provider).OutageAsync();

    /// <summary>Brings the cloud back after <see cref="OutageAsync"/>.</summary>
    protected virtual Task RestoreAsync(ICloudProvider provider)
    {
        ((IOutageEmulation)provider).Restore();
        return Task.CompletedTask;
    }

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

    [Fact]
    public async Task List_FromANewProviderOverTheSameCloud_AdoptsTheRunningReplica()
    {
        var first = await CreateAsync(smallCapacity: 2);
        var launched = await first.LaunchAsync(Launch("r1"));

        // A restarted control plane builds its providers afresh; the replica it started still runs.
        var second = await CreateAsync(smallCapacity: 2);
        var adopted = Assert.Single(await second.ListAsync());

        Assert.Equal(("r1", launched.Endpoint), (adopted.ReplicaId, adopted.Endpoint));
        await second.StopAsync("r1");
        Assert.Empty(await first.ListAsync());
    }

    [Fact]
    public async Task Launch_OverCapacityHeldByAnotherProviderInstance_IsRefused()
    {
        // Capacity is the cloud's, not one provider object's: a restarted control plane must not overfill it.
        var first = await CreateAsync(smallCapacity: 1);
        await first.LaunchAsync(Launch("r1"));
        var second = await CreateAsync(smallCapacity: 1);

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => second.LaunchAsync(Launch("r2")));

        Assert.Equal(ProvisioningScope.Shape, error.Scope);
    }

    [Fact]
    public async Task Outage_TakesReplicasOutAndRefusesLaunchesUntilRestored()
    {
        var provider = await CreateAsync(smallCapacity: 2);
        await provider.LaunchAsync(Launch("r1"));

        await OutageAsync(provider);

        // Down means no replica is listed as serving, or the cloud cannot be asked at all; either way nothing launches.
        try
        {
            Assert.DoesNotContain(await provider.ListAsync(), r => r.IsReady);
        }
        catch (ProvisioningException down)
        {
            Assert.Equal(ProvisioningScope.Cloud, down.Scope);
        }

        var refused = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(Launch("r2")));
        Assert.Equal(ProvisioningScope.Cloud, refused.Scope);

        await RestoreAsync(provider);
        var handle = await provider.LaunchAsync(Launch("r3"));
        Assert.True(handle.IsReady);
        Assert.Contains(await provider.ListAsync(), r => r.ReplicaId == "r3" && r.IsReady);
    }

    [Fact]
    public async Task Launch_ArtifactNotMatchingItsChecksum_FailsNamingTheMismatchAndLeavesNothingRunning()
    {
        var provider = await CreateAsync(smallCapacity: 2);
        var launch = Launch("r1");
        var wrong = launch with { Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("not the model"u8)) };

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(wrong));

        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(await provider.ListAsync(), r => r.IsReady);

        // The cloud is not spoilt for a good copy afterwards.
        await provider.StopAllAsync();
        Assert.True((await provider.LaunchAsync(Launch("r2"))).IsReady);
    }

    [Fact]
    public async Task Logs_OfARunningReplica_HoldWhatItWrote_AndOfAnUnknownOneAreNull()
    {
        var provider = await CreateAsync(smallCapacity: 2);
        await provider.LaunchAsync(Launch("r1"));

        var logs = await Stratus.Testing.Eventually.ValueAsync(
            async () => await provider.LogsAsync("r1", 50) is { } text && text.Contains("ready at", StringComparison.Ordinal) ? text : null,
            "the replica's log has its ready line");

        Assert.Contains("credit-risk", logs, StringComparison.Ordinal);
        Assert.Null(await provider.LogsAsync("no-such-replica", 50));
    }

    [Fact]
    public async Task StopAll_StopsEveryReplica()
    {
        var provider = await CreateAsync(smallCapacity: 3);
        await Task.WhenAll(provider.LaunchAsync(Launch("r1")), provider.LaunchAsync(Launch("r2")));

        await provider.StopAllAsync();

        Assert.Empty(await provider.ListAsync());
    }
}
