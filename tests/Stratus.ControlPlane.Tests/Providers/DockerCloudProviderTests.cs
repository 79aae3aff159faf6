using System.Security.Cryptography;
using Docker.DotNet.Models;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Providers.Docker;
using Stratus.Core.Clouds;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Providers;

/// <summary>
/// The docker provider against a real engine (<see cref="DockerEngine"/>): the whole contract suite, and what only
/// containers have, as the engine itself reports it. Each test is a cluster of its own on the engine, so it sees,
/// and removes, only what it made.
/// </summary>
[Trait("Category", "Docker")]
[Collection(DockerEngine.Collection)]
public sealed class DockerCloudProviderTests(DockerEngine engine) : CloudProviderContractTests
{
    private readonly string _cluster = $"test-{Guid.NewGuid():N}"[..17];
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-docker-{Guid.NewGuid():N}");
    private readonly List<DockerCloudProvider> _providers = [];
    private readonly string _model = RepositoryFiles.Model("credit-risk.onnx");

    private static CloudSpec Cloud(int smallCapacity) => new(
        "docker-test", "docker", "test-1", "us", new GeoLocation(0, 0),
        new Dictionary<string, int> { ["cpu-small"] = smallCapacity },
        new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m) },
        TimeSpan.Zero)
    {
        Shapes = new Dictionary<string, ShapeResources> { ["cpu-small"] = new(0.5, 384) },
    };

    private DockerCloudProvider CreateDocker(int smallCapacity, string? cluster = null, string? image = null, Uri? endpoint = null, ShapeResources? small = null)
    {
        var cloud = small is null ? Cloud(smallCapacity) : Cloud(smallCapacity) with { Shapes = new Dictionary<string, ShapeResources> { ["cpu-small"] = small } };
        var settings = new DockerCloudSettings(endpoint ?? engine.Endpoint, null, image, "127.0.0.1");
        var provider = new DockerCloudProvider(cloud with { Settings = settings }, settings, cluster ?? _cluster, _data);
        _providers.Add(provider);
        return provider;
    }

    protected override Task<ICloudProvider> CreateAsync(int smallCapacity) => Task.FromResult<ICloudProvider>(CreateDocker(smallCapacity));

    protected override ReplicaLaunch Launch(string replicaId, string shape = "cpu-small") =>
        new(replicaId, "credit-risk", "1", _model, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(_model))), shape);

    public override async Task DisposeAsync()
    {
        await engine.RemoveClusterAsync(_cluster);
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    [Fact]
    public async Task Launch_Container_HasTheShapesLimitsARestartPolicyHostNetworkingAndItsLabels()
    {
        var provider = CreateDocker(2);
        var launch = Launch("r1") with { ServedName = "risk", Spot = true };

        var handle = await provider.LaunchAsync(launch);

        var container = await engine.Client.Containers.InspectContainerAsync(provider.ContainerNameOf("r1"));
        var host = container.HostConfig!;
        Assert.Equal((500_000_000L, 384L * 1024 * 1024), (host.NanoCPUs, host.Memory));
        Assert.Equal((RestartPolicyKind.OnFailure, (long)DockerCloudProvider.RestartLimit), (host.RestartPolicy!.Name, host.RestartPolicy.MaximumRetryCount));
        Assert.Equal("host", host.NetworkMode);
        Assert.True(host.ReadonlyRootfs);
        Assert.Contains("/tmp", host.Tmpfs!.Keys);
        Assert.Equal(ReplicaImage.User, container.Config!.User);
        Assert.Equal(engine.Image.ImageId, container.Image);
        var labels = container.Config.Labels!;
        Assert.Equal(_cluster, labels[DockerCloudProvider.ClusterLabel]);
        Assert.Equal("docker-test", labels[DockerCloudProvider.CloudLabel]);
        Assert.Equal(("r1", "cpu-small", "risk", "credit-risk", "1", "true"), (labels["stratus.io/replica"], labels["stratus.io/shape"], labels["stratus.io/deployment"], labels["stratus.io/model"], labels["stratus.io/version"], labels["stratus.io/spot"]));
        Assert.Equal(launch.Sha256, labels["stratus.io/sha256"]);
        Assert.Equal(handle.Endpoint!.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), labels[DockerCloudProvider.PortLabel]);
        Assert.Equal("127.0.0.1", handle.Endpoint.Host);
        var model = Assert.Single(container.Mounts!, m => m.Destination == "/models");
        Assert.Equal((provider.ModelVolumeOf(launch.Sha256), false), (model.Name, model.RW));
    }

    [Fact]
    public async Task List_OfAProviderOfAnotherCluster_SeesNoneOfThisClustersContainers()
    {
        var provider = CreateDocker(2);
        await provider.LaunchAsync(Launch("r1"));
        var otherCluster = $"test-{Guid.NewGuid():N}"[..17];
        var other = CreateDocker(2, otherCluster);

        Assert.Empty(await other.ListAsync());
        await other.StopAllAsync();
        await engine.RemoveClusterAsync(otherCluster);

        Assert.Contains(await provider.ListAsync(), r => r.ReplicaId == "r1" && r.IsReady);
    }

    [Fact]
    public async Task List_ContainerThatExitsLater_IsReportedWithItsExitCode()
    {
        var provider = CreateDocker(2);
        await provider.LaunchAsync(Launch("r1"));

        // Killed from outside, as the kernel or an operator would: the engine does not restart a killed container.
        await engine.Client.Containers.KillContainerAsync(provider.ContainerNameOf("r1"), new ContainerKillParameters { Signal = "SIGKILL" });

        var exited = await Eventually.ValueAsync(async () => (await provider.ListAsync()).SingleOrDefault(r => r.Exited is not null), "the killed container is listed as exited");
        Assert.Equal(("r1", "container exited with code 137"), (exited.ReplicaId, exited.Exited));
        Assert.False(exited.IsReady);

        // It no longer holds the shape's capacity, and stopping it removes it.
        await provider.StopAsync("r1");
        Assert.Empty(await provider.ListAsync());
    }

    [Fact]
    public async Task Replica_ThatCrashesAfterItWasReady_IsRestartedByTheEngineAndServesAgainWhereItWas()
    {
        var provider = CreateDocker(2);
        var handle = await provider.LaunchAsync(Launch("r1"));
        var name = provider.ContainerNameOf("r1");

        // A crash, not a stop: the process dies under the engine (the engine is on this machine, and the tests run as root).
        using (var process = System.Diagnostics.Process.GetProcessById((int)(await engine.Client.Containers.InspectContainerAsync(name)).State!.Pid))
        {
            process.Kill();
        }

        await Eventually.HoldsAsync(async () => (await engine.Client.Containers.InspectContainerAsync(name)).RestartCount == 1, "the engine restarts the crashed replica");
        var again = await Eventually.ValueAsync(async () => (await provider.ListAsync()).SingleOrDefault(r => r.IsReady), "the restarted replica is ready again");
        Assert.Equal(("r1", handle.Endpoint), (again.ReplicaId, again.Endpoint));
    }

    [Fact]
    public async Task Launch_ReplicaThatFailsToLoadItsModel_IsTheDeploymentsFaultWithItsExitCodeAndLog()
    {
        var provider = CreateDocker(2);
        var corrupt = RepositoryFiles.Model("corrupt.onnx");
        var launch = new ReplicaLaunch("r1", "corrupt", "1", corrupt, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(corrupt))), "cpu-small");

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(launch));

        Assert.Equal(ProvisioningScope.Deployment, error.Scope);
        Assert.Contains("replica r1 exited with code 3", error.Message, StringComparison.Ordinal);
        Assert.Empty(await provider.ListAsync());
        await Assert.ThrowsAsync<Docker.DotNet.DockerContainerNotFoundException>(() => engine.Client.Containers.InspectContainerAsync(provider.ContainerNameOf("r1")));
    }

    [Fact]
    public async Task Launch_ShapeTooSmallForTheReplica_FailsSayingTheEngineKilledItForItsMemory()
    {
        var provider = CreateDocker(2, small: new ShapeResources(0.5, 16));

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(Launch("r1")));

        Assert.Equal(ProvisioningScope.Deployment, error.Scope);
        Assert.Contains("replica r1 exited with code 137 (killed for exceeding its memory limit)", error.Message, StringComparison.Ordinal);
        Assert.Empty(await provider.ListAsync());
    }

    [Fact]
    public async Task Launch_DefaultImageTheEngineLacks_IsBuiltFromTheRunningProgramAndLoaded()
    {
        // Removed as on a fresh engine; the tests in this collection run one at a time, so no container uses it now.
        await engine.Client.Images.DeleteImageAsync(ReplicaImage.DefaultTag, new ImageDeleteParameters());
        var provider = CreateDocker(2);

        var handle = await provider.LaunchAsync(Launch("r1"));

        Assert.True(handle.IsReady);
        Assert.Equal(engine.Image.ImageId, (await engine.Client.Images.InspectImageAsync(ReplicaImage.DefaultTag)).ID);
    }

    [Fact]
    public async Task Launch_NamedImageTheEngineLacks_FailsForTheCloudNamingIt()
    {
        var provider = CreateDocker(2, image: "stratus-replica:no-such-build");

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(Launch("r1")));

        Assert.Equal(ProvisioningScope.Cloud, error.Scope);
        Assert.Contains("stratus-replica:no-such-build", error.Message, StringComparison.Ordinal);
        Assert.Empty(await provider.ListAsync());
    }

    [Fact]
    public async Task UnreachableEngine_ListThrowsAndLaunchFailsForTheCloud()
    {
        var provider = CreateDocker(2, endpoint: new Uri($"unix://{Path.Combine(_data, "no-engine.sock")}"));

        var listed = await Assert.ThrowsAsync<ProvisioningException>(() => provider.ListAsync());
        var launched = await Assert.ThrowsAsync<ProvisioningException>(() => provider.LaunchAsync(Launch("r1")));

        Assert.Equal((ProvisioningScope.Cloud, ProvisioningScope.Cloud), (listed.Scope, launched.Scope));
        Assert.Contains("did not answer", listed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fault_OnARunningContainersDeploymentAndVersion_Fails500UntilCleared()
    {
        var provider = CreateDocker(2);
        var handle = await provider.LaunchAsync(Launch("r1") with { ServedName = "risk" });
        using var client = new HttpClient { BaseAddress = handle.Endpoint };
        async Task<System.Net.HttpStatusCode> InferAsync()
        {
            using var response = await client.PostAsync("v2/models/risk/infer", new StringContent(Support.CreditRiskSamples.Fitting(), System.Text.Encoding.UTF8, "application/json"));
            return response.StatusCode;
        }

        Assert.Equal(System.Net.HttpStatusCode.OK, await InferAsync());

        provider.Fault("risk", 1, 1);
        await Eventually.HoldsAsync(async () => await InferAsync() == System.Net.HttpStatusCode.InternalServerError, "the container fails requests once its fault is set");
        provider.ClearFaults();
        await Eventually.HoldsAsync(async () => await InferAsync() == System.Net.HttpStatusCode.OK, "the container answers again once the faults are cleared");
    }

    [Fact]
    public async Task ImageBuild_SameProgramTwice_GivesTheSameDigests_AndTheLoadedImageHasOneLayerAndNoParent()
    {
        var folder = Directory.CreateTempSubdirectory("stratus-image-").FullName;
        try
        {
            var first = await ReplicaImage.BuildAsync(Path.Combine(folder, "a.tar"), AppContext.BaseDirectory, "stratus-replica:test-a");
            var second = await ReplicaImage.BuildAsync(Path.Combine(folder, "b.tar"), AppContext.BaseDirectory, "stratus-replica:test-b");

            Assert.Equal((first.ImageId, first.ManifestDigest, first.LayerDigest), (second.ImageId, second.ManifestDigest, second.LayerDigest));
            Assert.Equal(engine.Image.ImageId, first.ImageId);
            Assert.Contains(first.ImageId, await File.ReadAllTextAsync(Path.Combine(folder, "a.tar.json")), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        var loaded = await engine.Client.Images.InspectImageAsync(ReplicaImage.DefaultTag);
        Assert.Equal(engine.Image.ImageId, loaded.ID);
        Assert.Equal(engine.Image.LayerDigest, Assert.Single(loaded.RootFS!.Layers!));
        Assert.Equal(ReplicaImage.User, loaded.Config!.User);

        // Built from scratch: its history is its own one step, with no parent image beneath it.
        var history = Assert.Single(await engine.Client.Images.GetImageHistoryAsync(ReplicaImage.DefaultTag));
        Assert.Equal("stratus image build", history.CreatedBy);
    }
}
