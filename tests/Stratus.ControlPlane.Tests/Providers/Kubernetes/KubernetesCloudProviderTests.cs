using System.Security.Cryptography;
using System.Text.Json;
using Stratus.Client;
using Stratus.ControlPlane.Hosting;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Providers.Kubernetes;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Tests.Providers.Kubernetes;

/// <summary>
/// A real control plane whose registry holds the credit-risk model, and a viewer token to fetch it with: what the
/// init container of every replica pod pulls its model from.
/// </summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-k8s-registry-{Guid.NewGuid():N}");
    private ControlPlaneHost _host = null!;

    public Uri Address => _host.Address;

    public string ViewerToken { get; private set; } = null!;

    public string Sha256 { get; } = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx"))));

    public async Task InitializeAsync()
    {
        _host = await ControlPlaneHost.StartAsync(new ControlPlaneOptions { DataDirectory = _data, Port = 0, Replica = Support.TestReplicas.Executable }, _ => { });
        using var client = new StratusClient(_host.Address, (await File.ReadAllTextAsync(_host.AdminTokenPath)).Trim());
        await using (var model = File.OpenRead(Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx")))
        {
            await client.PushModelAsync("credit-risk", model);
        }

        ViewerToken = (await client.CreateTokenAsync("viewer", "kubernetes tests")).Token;
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}

/// <summary>
/// The kubernetes provider through the whole contract suite, against <see cref="FakeKubernetes"/>: a strict API server
/// on loopback whose kubelet runs every pod's containers as real processes, the model fetched by the init container
/// from a real control plane. An outage is the API server going unreachable (the pods keep running, as nodes do).
/// </summary>
[Trait("Category", "Process")]
public sealed class KubernetesCloudProviderTests(RegistryFixture registry) : CloudProviderContractTests, IClassFixture<RegistryFixture>
{
    private const string Namespace = "stratus-replicas";
    private const string TokenSecret = "stratus-artifacts";
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"stratus-k8s-{Guid.NewGuid():N}");
    private readonly List<KubernetesCloudProvider> _providers = [];
    private FakeKubernetes _cluster = null!;
    private string _kubeconfig = null!;

    public override async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _cluster = await FakeKubernetes.StartAsync(Path.Combine(_root, "node"));
        _kubeconfig = _cluster.WriteKubeconfig(Path.Combine(_root, "kubeconfig"), Namespace);
        _cluster.AddSecret(Namespace, TokenSecret, new Dictionary<string, string> { ["token"] = registry.ViewerToken });
    }

    public override async Task DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        await _cluster.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    internal KubernetesCloudSettings Settings => new(
        _kubeconfig, FakeKubernetes.Context, Namespace, "registry.example/stratus:test", registry.Address, TokenSecret, "nvidia.com/gpu",
        new KubernetesSpotSettings(new Dictionary<string, string> { ["stratus.io/capacity"] = "spot" }, [new KubernetesToleration("stratus.io/capacity", "Equal", "spot", "NoSchedule")]));

    private CloudSpec Cloud(int smallCapacity) => new(
        "k8s-test", "kubernetes", "test-1", "eu", new GeoLocation(50, 8),
        new Dictionary<string, int> { ["cpu-small"] = smallCapacity },
        new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m) },
        TimeSpan.Zero) { Settings = Settings };

    private KubernetesCloudProvider CreateKubernetes(int smallCapacity, string clusterId = "stratus-test")
    {
        var provider = (KubernetesCloudProvider)CloudProviders.Create(Cloud(smallCapacity), new ControlPlaneOptions { DataDirectory = _root, ClusterId = clusterId });
        _providers.Add(provider);
        return provider;
    }

    protected override Task<ICloudProvider> CreateAsync(int smallCapacity) => Task.FromResult<ICloudProvider>(CreateKubernetes(smallCapacity));

    protected override ReplicaLaunch Launch(string replicaId, string shape = "cpu-small") =>
        new(replicaId, "credit-risk", "1", Stratus.Testing.RepositoryFiles.Model("credit-risk.onnx"), registry.Sha256, shape);

    protected override Task OutageAsync(ICloudProvider provider)
    {
        _cluster.Unreachable();
        return Task.CompletedTask;
    }

    protected override Task RestoreAsync(ICloudProvider provider)
    {
        _cluster.Reachable();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Watch_EndedWith410Gone_IsRelistedAndFollowsTheCluster()
    {
        var provider = CreateKubernetes(smallCapacity: 3);
        await provider.LaunchAsync(Launch("r1"));
        var lists = _cluster.PodLists;

        _cluster.ExpireWatches();

        // The relist is what sees r2 become ready: the old watch's version is gone for good.
        var handle = await provider.LaunchAsync(Launch("r2"));
        Assert.True(handle.IsReady);
        Assert.True(_cluster.PodLists > lists, "the provider listed the pods again after 410");
        await provider.StopAsync("r1");
        Assert.Equal(["r2"], (await provider.ListAsync()).Select(r => r.ReplicaId));
    }

    [Fact]
    public async Task Launch_OfAReplicaWhoseDeploymentExists_AdoptsIt()
    {
        // A control plane killed after its create: the restarted one launches the same replica again and gets 409.
        var first = CreateKubernetes(smallCapacity: 2);
        var launched = await first.LaunchAsync(Launch("r1"));

        var second = CreateKubernetes(smallCapacity: 2);
        var adopted = await second.LaunchAsync(Launch("r1"));

        Assert.Equal(launched.Endpoint, adopted.Endpoint);
        Assert.Single(_cluster.Pods(Namespace));
        Assert.Contains(_cluster.Bodies, b => b.Method == "POST" && b.Path.EndsWith("/deployments", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Launch_OverADeploymentOfAnotherInstallation_FailsAndLeavesItAlone()
    {
        var theirs = CreateKubernetes(smallCapacity: 2, clusterId: "someone-else");
        await theirs.LaunchAsync(Launch("r1"));

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => CreateKubernetes(smallCapacity: 2).LaunchAsync(Launch("r1")));

        Assert.Equal(ProvisioningScope.Deployment, error.Scope);
        Assert.Contains("is not this replica's", error.Message, StringComparison.Ordinal);
        Assert.True(Assert.Single(await theirs.ListAsync()).IsReady);
        Assert.Empty(await CreateKubernetes(smallCapacity: 2).ListAsync());
    }

    [Fact]
    public async Task Launch_ReplicaContainerThatExitsBeforeReady_FailsWithItsExitCodeAndLeavesNothing()
    {
        var provider = CreateKubernetes(smallCapacity: 2);
        _cluster.Kubelet.HoldReadiness = true;
        var launch = provider.LaunchAsync(Launch("r1"));
        var pid = await Stratus.Testing.Eventually.ValueAsync(
            () => Task.FromResult(_cluster.Kubelet.Processes.FirstOrDefault(p => p.Container == ReplicaManifest.ReplicaContainer) is { Pid: > 0 } p ? p.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture) : null),
            "the replica container started");

        System.Diagnostics.Process.GetProcessById(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture)).Kill();

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => launch);
        Assert.Equal(ProvisioningScope.Deployment, error.Scope);
        Assert.Contains("container replica exited with code 137", error.Message, StringComparison.Ordinal);
        Assert.Empty(await provider.ListAsync());
        Assert.Empty(_cluster.Pods(Namespace));
    }

    [Fact]
    public async Task List_ReplicaWhoseContainerCrashed_IsReportedExitedWithItsCode()
    {
        var provider = CreateKubernetes(smallCapacity: 2);
        await provider.LaunchAsync(Launch("r1"));
        var pid = Assert.Single(_cluster.Kubelet.Processes, p => p.Container == ReplicaManifest.ReplicaContainer).Pid;

        System.Diagnostics.Process.GetProcessById(pid).Kill();

        var exited = await Stratus.Testing.Eventually.ValueAsync(
            async () => (await provider.ListAsync()).SingleOrDefault(r => r.Exited is not null),
            "the crashed replica is listed as exited");
        Assert.Equal("r1", exited.ReplicaId);
        Assert.False(exited.IsReady);
        Assert.Contains("container replica exited with code 137", exited.Exited, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Launch_WithoutTheTokenSecret_FailsForTheCloud()
    {
        var provider = CreateKubernetes(smallCapacity: 2);
        var settings = Settings with { ArtifactTokenSecret = "missing-secret" };
        var cloud = Cloud(2) with { Settings = settings };
        var withoutSecret = new KubernetesCloudProvider(cloud, "stratus-test");
        _providers.Add(withoutSecret);

        var error = await Assert.ThrowsAsync<ProvisioningException>(() => withoutSecret.LaunchAsync(Launch("r1")));

        Assert.Equal(ProvisioningScope.Cloud, error.Scope);
        Assert.Contains("secret \"missing-secret\" not found", error.Message, StringComparison.Ordinal);
        Assert.Empty(await provider.ListAsync());
    }

    [Fact]
    public async Task EveryBodyTheProviderSends_PassesTheSchema_AndIsTheManifestOfItsLaunch()
    {
        var provider = CreateKubernetes(smallCapacity: 2);
        await provider.LaunchAsync(Launch("r1"));
        await provider.StopAsync("r1");

        var bodies = _cluster.Bodies.ToList();
        Assert.Contains(bodies, b => b.Method == "DELETE");
        foreach (var (method, path, body) in bodies)
        {
            using var document = JsonDocument.Parse(body);
            var problems = method == "DELETE"
                ? KubernetesSchema.Instance.ValidateDefinition(document.RootElement, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", "DeleteOptions")
                : KubernetesSchema.Instance.Validate(document.RootElement);
            Assert.True(problems.Count == 0, $"{method} {path}: {string.Join("; ", problems)}");
        }

        var created = bodies.Single(b => b.Method == "POST").Body;
        var expected = k8s.KubernetesJson.Serialize(ReplicaManifest.Deployment(Launch("r1"), Cloud(2), Settings, "stratus-test"));
        Assert.Equal(Normalized(expected), Normalized(created));
    }

    [Fact]
    public async Task Launch_SpotGpuReplica_AsksForTheGpuAndSpotNodes_AndServes()
    {
        var cloud = Cloud(1) with
        {
            Capacity = new Dictionary<string, int> { ["cpu-small"] = 1, ["gpu-small"] = 1 },
            Prices = new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m), ["gpu-small"] = new(1.2m, 0.4m) },
        };
        var provider = new KubernetesCloudProvider(cloud, "stratus-test");
        _providers.Add(provider);

        var handle = await provider.LaunchAsync(Launch("g1", shape: "gpu-small") with { Spot = true });

        Assert.True(handle.IsReady);
        Assert.Equal("gpu-small", Assert.Single(await provider.ListAsync()).Shape);
        var sent = k8s.KubernetesJson.Deserialize<k8s.Models.V1Deployment>(_cluster.Bodies.Single(b => b.Method == "POST").Body);
        var pod = sent.Spec.Template.Spec;
        Assert.Equal("1", pod.Containers[0].Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal("spot", pod.NodeSelector["stratus.io/capacity"]);
        Assert.Equal("stratus.io/capacity", Assert.Single(pod.Tolerations).Key);
        Assert.Equal("true", sent.Metadata.Labels[ReplicaManifest.SpotLabel]);
    }

    private static string Normalized(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);
}
