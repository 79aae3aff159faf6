using System.Text.Json;
using k8s;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Providers.Kubernetes;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Tests.Providers.Kubernetes;

/// <summary>
/// The Deployments the kubernetes provider makes (plain, spot, GPU), pinned as YAML under <c>golden/</c> for a reviewer
/// to read. They are <see cref="ReplicaManifest.Deployment"/>'s output, which
/// <c>KubernetesCloudProviderTests.EveryBodyTheProviderSends_PassesTheSchema_AndIsTheManifestOfItsLaunch</c> shows is
/// exactly what the provider sends. After a deliberate change, regenerate them with
/// <c>STRATUS_UPDATE_GOLDEN=1 dotnet test tests/Stratus.ControlPlane.Tests --filter "FullyQualifiedName~ReplicaManifestGoldenTests"</c>
/// and review the diff.
/// </summary>
public sealed class ReplicaManifestGoldenTests
{
    private static readonly KubernetesCloudSettings Settings = new(
        null, "prod-eu", "stratus-replicas", "registry.example.com/stratus:1.0.0", new Uri("http://stratus.stratus-system.svc:7700/"), "stratus-artifacts", "nvidia.com/gpu",
        new KubernetesSpotSettings(new Dictionary<string, string> { ["cloud.example.com/capacity"] = "spot" }, [new KubernetesToleration("cloud.example.com/spot", "Exists", null, "NoSchedule")]));

    private static readonly CloudSpec Cloud = new(
        "k8s-eu", "kubernetes", "eu-west-1", "eu", new GeoLocation(53.3, -6.3),
        new Dictionary<string, int> { ["cpu-small"] = 4, ["gpu-small"] = 1 },
        new Dictionary<string, ShapePrice> { ["cpu-small"] = new(0.1m, 0.03m), ["gpu-small"] = new(1.2m, 0.4m) },
        TimeSpan.Zero) { Settings = Settings, Shapes = new Dictionary<string, ShapeResources> { ["cpu-small"] = new(0.5, 1024) } };

    private const string Sha256 = "9f2c1a5e0d4b7c3a8e6f1d2b5a4c7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9";

    public static TheoryData<string> Kinds => ["plain", "spot", "gpu"];

    private static ReplicaLaunch LaunchOf(string kind) => kind switch
    {
        "spot" => new ReplicaLaunch("risk-1a2b3c4d", "credit-risk", "3", "/unused", Sha256, "cpu-small") { ServedName = "risk", Spot = true },
        "gpu" => new ReplicaLaunch("vision-0f0e0d0c", "resnet", "1", "/unused", Sha256, "gpu-small"),
        _ => new ReplicaLaunch("risk-5e6f7a8b", "credit-risk", "3", "/unused", Sha256, "cpu-small") { ServedName = "risk" },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Deployment_IsItsGoldenManifest_AndValid(string kind)
    {
        var deployment = ReplicaManifest.Deployment(LaunchOf(kind), Cloud, Settings, "stratus-prod");
        var yaml = KubernetesYaml.Serialize(deployment);
        var golden = Path.Combine(Path.GetDirectoryName(Stratus.Testing.RepositoryFiles.Find("tests/Stratus.ControlPlane.Tests/Providers/Kubernetes/ReplicaManifestGoldenTests.cs"))!, "golden", $"{kind}.yaml");
        if (Environment.GetEnvironmentVariable("STRATUS_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(golden, yaml);
        }

        Assert.Equal(File.ReadAllText(golden), yaml);
        using var document = JsonDocument.Parse(KubernetesJson.Serialize(deployment));
        Assert.Empty(KubernetesSchema.Instance.Validate(document.RootElement));
    }

    [Fact]
    public void Deployment_Spot_HasTheSpotNodeSelectorAndTolerations_AndPlainHasNone()
    {
        var spot = ReplicaManifest.Deployment(LaunchOf("spot"), Cloud, Settings, "stratus-prod").Spec.Template.Spec;
        var plain = ReplicaManifest.Deployment(LaunchOf("plain"), Cloud, Settings, "stratus-prod").Spec.Template.Spec;

        Assert.Equal("spot", spot.NodeSelector["cloud.example.com/capacity"]);
        Assert.Equal(("cloud.example.com/spot", "Exists", "NoSchedule"), (spot.Tolerations[0].Key, spot.Tolerations[0].OperatorProperty, spot.Tolerations[0].Effect));
        Assert.Null(plain.NodeSelector);
        Assert.Null(plain.Tolerations);
    }

    [Fact]
    public void Deployment_Gpu_AsksForTheGpuResourceAndTheShapesCpuAndMemory()
    {
        var resources = ReplicaManifest.Deployment(LaunchOf("gpu"), Cloud, Settings, "stratus-prod").Spec.Template.Spec.Containers[0].Resources;
        var small = ReplicaManifest.Deployment(LaunchOf("plain"), Cloud, Settings, "stratus-prod").Spec.Template.Spec.Containers[0].Resources;

        Assert.Equal(("4", "16Gi", "1"), (resources.Limits["cpu"].ToString(), resources.Limits["memory"].ToString(), resources.Limits["nvidia.com/gpu"].ToString()));
        Assert.Equal(resources.Limits.Keys.Order(), resources.Requests.Keys.Order());
        Assert.Equal("500m", small.Requests["cpu"].ToString());
        Assert.False(small.Limits.ContainsKey("nvidia.com/gpu"));
    }

    [Fact]
    public void Deployment_ReplicaIdThatIsNoDnsLabel_IsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => ReplicaManifest.Deployment(LaunchOf("plain") with { ReplicaId = "Risk_1" }, Cloud, Settings, "stratus-prod"));

        Assert.Contains("DNS-1123", error.Message, StringComparison.Ordinal);
    }
}
