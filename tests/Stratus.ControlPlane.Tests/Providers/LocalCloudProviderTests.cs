using System.Net;
using System.Security.Cryptography;
using System.Text;
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

    private LocalCloudProvider CreateLocal(int smallCapacity, ReplicaExecutable? executable = null)
    {
        var provider = new LocalCloudProvider(Cloud(smallCapacity), _data, executable ?? Support.TestReplicas.Executable);
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

            await provider.DisposeAsync();
        }

        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task Launch_ReplicaThatExitsAtOnce_IsTheDeploymentsFaultNamingTheExitCode()
    {
        // The provider appends "replica --model ..." to the prefix: "exit 3" ignores them ("--" becomes its $0).
        var provider = CreateLocal(2, new ReplicaExecutable("/bin/sh", ["-c", "echo no such model >&2; exit 3", "--"]));

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(Launch("r1")));

        Assert.Equal(ProvisioningScope.Deployment, error.Scope);
        Assert.Contains("replica r1 exited with code 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("no such model", error.Message, StringComparison.Ordinal);
        Assert.Empty(await provider.ListAsync());
    }

    [Fact]
    public void Faults_RoundTripThroughTheCloudsFile()
    {
        var provider = CreateLocal(2);

        provider.Fault("risk", 1, 0.5);
        provider.Fault("risk", 2, 3);
        provider.Fault("fraud", 1, 1);
        provider.Fault("fraud", 1, 0.25);

        Assert.Equal(
            [new Stratus.Inference.Server.EmulatedFault("risk", 1, 0.5), new("risk", 2, 1), new("fraud", 1, 0.25)],
            CreateLocal(2).Faults);

        provider.Fault("risk", 2, 0);
        Assert.Equal([("risk", 1), ("fraud", 1)], provider.Faults.Select(f => (f.Deployment, f.Version)));

        provider.ClearFaults();
        Assert.Empty(provider.Faults);
        provider.ClearFaults();
    }

    [Fact]
    public async Task Fault_OnARunningReplicasDeploymentAndVersion_Fails500UntilCleared()
    {
        var provider = CreateLocal(2);
        var handle = await provider.LaunchAsync(Launch("r1") with { ServedName = "risk" });
        using var client = new HttpClient { BaseAddress = handle.Endpoint };
        var request = Support.CreditRiskSamples.Fitting();
        async Task<HttpStatusCode> InferAsync()
        {
            using var response = await client.PostAsync("v2/models/risk/infer", new StringContent(request, Encoding.UTF8, "application/json"));
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await InferAsync());

        provider.Fault("fraud", 1, 1);
        provider.Fault("risk", 2, 1);
        provider.Fault("risk", 1, 1);
        await Stratus.Testing.Eventually.HoldsAsync(async () => await InferAsync() == HttpStatusCode.InternalServerError, "the replica fails requests once its fault is set");
        using (var failed = await client.PostAsync("v2/models/risk/infer", new StringContent(request, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.Contains("emulated fault", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Another deployment's fault, or another version's, leaves this replica alone.
        provider.Fault("risk", 1, 0);
        await Stratus.Testing.Eventually.HoldsAsync(async () => await InferAsync() == HttpStatusCode.OK, "the replica answers again once its own fault ends");

        provider.Fault("risk", 1, 1);
        await Stratus.Testing.Eventually.HoldsAsync(async () => await InferAsync() == HttpStatusCode.InternalServerError, "the replica fails requests once its fault is set again");
        provider.ClearFaults();
        await Stratus.Testing.Eventually.HoldsAsync(async () => await InferAsync() == HttpStatusCode.OK, "the replica answers again once the faults are cleared");
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
