using System.Net;
using System.Security.Cryptography;
using System.Text;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Tests.Support;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Tests.Providers;

/// <summary>The in-memory provider the reconciler's tests use passes the contract every provider passes, with no process.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "xUnit disposes the cloud through IAsyncLifetime.DisposeAsync.")]
public sealed class InMemoryCloudProviderTests : CloudProviderContractTests
{
    private InMemoryCloud _cloud = null!;
    private readonly string _model = Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx");

    private static CloudSpec Spec(int smallCapacity) => new(
        "memory-test", "memory", "test-1", "us", new GeoLocation(0, 0),
        new Dictionary<string, int> { ["cpu-small"] = smallCapacity },
        new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m) },
        TimeSpan.Zero);

    protected override Task<ICloudProvider> CreateAsync(int smallCapacity) => Task.FromResult<ICloudProvider>(new InMemoryCloudProvider(Spec(smallCapacity), _cloud));

    protected override ReplicaLaunch Launch(string replicaId, string shape = "cpu-small") =>
        new(replicaId, "credit-risk", "1", _model, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(_model))), shape);

    public override Task InitializeAsync()
    {
        _cloud = new InMemoryCloud();
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync() => await _cloud.DisposeAsync();

    [Fact]
    public async Task Exit_ListsTheReplicaAsExitedWithItsCodeAndItNoLongerAnswers()
    {
        var provider = await CreateAsync(smallCapacity: 2);
        var handle = await provider.LaunchAsync(Launch("r1"));

        await _cloud.ExitAsync("r1", 137);

        var exited = Assert.Single(await provider.ListAsync());
        Assert.Equal(("r1", "container exited with code 137", false), (exited.ReplicaId, exited.Exited, exited.IsReady));
        using var client = new HttpClient { BaseAddress = handle.Endpoint };
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("v2/health/live"));
        await provider.StopAsync("r1");
        Assert.Empty(await provider.ListAsync());
    }

    [Fact]
    public async Task Unreachable_ListingAndLaunchingFailForTheCloud_AndWhatRunsIsListedOnceItAnswers()
    {
        var provider = await CreateAsync(smallCapacity: 2);
        var handle = await provider.LaunchAsync(Launch("r1"));

        _cloud.Unreachable = true;

        Assert.Equal(ProvisioningScope.Cloud, (await Assert.ThrowsAsync<ProvisioningException>(() => provider.ListAsync())).Scope);
        var refused = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(Launch("r2")));
        Assert.Equal(ProvisioningScope.Cloud, refused.Scope);
        Assert.Contains("unreachable", refused.Message, StringComparison.Ordinal);

        // Only its API is gone: the replica still serves, and is listed again once the API answers.
        using var client = new HttpClient { BaseAddress = handle.Endpoint };
        Assert.True((await client.GetAsync("v2/health/ready")).IsSuccessStatusCode);
        _cloud.Unreachable = false;
        Assert.Equal("r1", Assert.Single(await provider.ListAsync()).ReplicaId);
    }

    [Fact]
    public async Task Fault_OnTheReplicasDeploymentAndVersion_Fails500UntilCleared()
    {
        var provider = (InMemoryCloudProvider)await CreateAsync(smallCapacity: 2);
        var handle = await provider.LaunchAsync(Launch("r1") with { ServedName = "risk" });
        using var client = new HttpClient { BaseAddress = handle.Endpoint };
        async Task<HttpStatusCode> InferAsync()
        {
            using var response = await client.PostAsync("v2/models/risk/infer", new StringContent(CreditRiskSamples.Fitting(), Encoding.UTF8, "application/json"));
            return response.StatusCode;
        }

        provider.Fault("risk", 1, 1);
        await Stratus.Testing.Eventually.HoldsAsync(async () => await InferAsync() == HttpStatusCode.InternalServerError, "the replica fails requests once its fault is set");
        Assert.Equal([new Stratus.Inference.Server.EmulatedFault("risk", 1, 1)], provider.Faults);

        provider.ClearFaults();
        await Stratus.Testing.Eventually.HoldsAsync(async () => await InferAsync() == HttpStatusCode.OK, "the replica answers again once the faults are cleared");
    }
}
