using System.Security.Cryptography;
using Stratus.ControlPlane.Providers;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Tests.Providers;

[Trait("Category", "Process")]
public sealed class LocalCloudProviderTests : CloudProviderContractTests
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-cloud-{Guid.NewGuid():N}");
    private readonly List<LocalCloudProvider> _providers = [];
    private readonly string _model = Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx");

    private static CloudSpec Cloud(int smallCapacity) => new(
        "local-test", "local", "test-1", "us", new GeoLocation(0, 0),
        new Dictionary<string, int> { ["cpu-small"] = smallCapacity },
        new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m) },
        TimeSpan.Zero);

    private LocalCloudProvider CreateLocal(int smallCapacity)
    {
        var provider = new LocalCloudProvider(Cloud(smallCapacity), _data, Support.TestReplicas.Executable);
        _providers.Add(provider);
        return provider;
    }

    protected override Task<ICloudProvider> CreateAsync(int smallCapacity) => Task.FromResult<ICloudProvider>(CreateLocal(smallCapacity));

    protected override ReplicaLaunch Launch(string replicaId, string shape = "cpu-small") =>
        new(replicaId, "credit-risk", "1", _model, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(_model))), shape);

    public override async Task DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            foreach (var replica in await provider.ListAsync())
            {
                await provider.StopAsync(replica.ReplicaId);
            }

            provider.Dispose();
        }

        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task List_FromANewProviderOverTheSameFolder_AdoptsRunningReplicas()
    {
        var first = CreateLocal(2);
        var launched = await first.LaunchAsync(Launch("r1"));

        // A restarted control plane builds its providers afresh; the replicas it started are still there.
        var second = CreateLocal(2);
        var adopted = Assert.Single(await second.ListAsync());

        Assert.Equal("r1", adopted.ReplicaId);
        Assert.Equal(launched.Endpoint, adopted.Endpoint);
    }

    [Fact]
    public async Task Outage_KillsReplicasAndRefusesLaunchesUntilRestored()
    {
        var provider = CreateLocal(2);
        await provider.LaunchAsync(Launch("r1"));

        await provider.OutageAsync();

        Assert.Empty(await provider.ListAsync());
        var error = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(Launch("r2")));
        Assert.Equal(ProvisioningScope.Cloud, error.Scope);

        provider.Restore();
        Assert.Equal("r3", (await provider.LaunchAsync(Launch("r3"))).ReplicaId);
    }

    [Fact]
    public async Task Launch_CorruptedArtifactCopy_IsRefusedAndTheCopyDeleted()
    {
        var provider = CreateLocal(2);
        var launch = Launch("r1");
        await provider.LaunchAsync(launch);
        await provider.StopAsync("r1");
        var copy = provider.ArtifactPathOf(launch.Sha256);
        var bytes = await File.ReadAllBytesAsync(copy);
        bytes[^10] ^= 0xFF;
        await File.WriteAllBytesAsync(copy, bytes);

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(Launch("r2")));

        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(copy));
        Assert.Empty(await provider.ListAsync());
    }
}
