using Stratus.ControlPlane.Clouds;
using Stratus.ControlPlane.Providers.Docker;
using Stratus.ControlPlane.Providers.Kubernetes;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Tests.Clouds;

/// <summary>The provider blocks of <c>clouds.yaml</c> (docker, kubernetes) and declared shapes.</summary>
public sealed class CloudsConfigProviderTests
{
    private static string Cloud(string provider, string block) => $$"""
        clouds:
          - name: c1
            provider: {{provider}}
            region: us-east
            jurisdiction: us
            location: { lat: 38.9, lon: -77.0 }
            capacity: { cpu-small: 4, gpu-a10: 1 }
            prices:
              cpu-small: { onDemand: 0.1, spot: 0.03 }
              gpu-a10: { onDemand: 1.2, spot: 0.4 }
        {{block}}
        """;

    [Fact]
    public void Docker_UnixEndpoint_DefaultsToLoopbackAndTheBuildsImage()
    {
        var cloud = Assert.Single(CloudsConfig.Parse(Cloud("docker", """
                docker:
                  endpoint: unix:///run/docker.sock
            """)));

        var docker = Assert.IsType<DockerCloudSettings>(cloud.Settings);
        Assert.Equal(("unix", "127.0.0.1", null, null), (docker.Endpoint.Scheme, docker.AdvertiseHost, docker.Image, docker.Tls));
        Assert.True(docker.IsLocalEngine);
    }

    [Fact]
    public void Docker_TcpEndpoint_NeedsClientCertificates()
    {
        var error = Assert.Throws<CloudsConfigException>(() => CloudsConfig.Parse(Cloud("docker", """
                docker:
                  endpoint: tcp://10.0.0.5:2376
            """)));
        Assert.Contains(error.Problems, p => p.StartsWith("clouds[0].docker.tls is required for a tcp endpoint", StringComparison.Ordinal));

        var cloud = Assert.Single(CloudsConfig.Parse(Cloud("docker", """
                docker:
                  endpoint: tcp://10.0.0.5:2376
                  tls: { ca: /etc/stratus/ca.pem, cert: /etc/stratus/cert.pem, key: /etc/stratus/key.pem }
                  image: stratus-replica:1.2.3
            """)));
        var docker = Assert.IsType<DockerCloudSettings>(cloud.Settings);
        Assert.Equal(("10.0.0.5", "stratus-replica:1.2.3", "/etc/stratus/key.pem"), (docker.AdvertiseHost, docker.Image, docker.Tls!.KeyFile));
    }

    [Theory]
    [InlineData("", "clouds[0].docker.endpoint must be unix:///path/to/docker.sock or tcp://host:port")]
    [InlineData("    docker:\n      endpoint: http://x:1\n", "clouds[0].docker.endpoint must be unix:///path/to/docker.sock or tcp://host:port")]
    [InlineData("    docker:\n      endpoint: unix:///s\n      tls: { ca: a }\n", "clouds[0].docker.tls needs ca, cert and key files")]
    public void Docker_BadBlock_IsReportedWithItsPath(string block, string expected)
    {
        var error = Assert.Throws<CloudsConfigException>(() => CloudsConfig.Parse(Cloud("docker", block)));

        Assert.Contains(expected, error.Problems);
    }

    [Fact]
    public void Kubernetes_Block_IsReadWithSpotDefaults()
    {
        var cloud = Assert.Single(CloudsConfig.Parse(Cloud("kubernetes", """
                kubernetes:
                  context: prod
                  namespace: stratus-replicas
                  image: registry.internal/stratus-replica:1.2.3
                  artifacts: { url: "https://stratus.internal:7700/", tokenSecret: stratus-fetch }
            """)));

        var k = Assert.IsType<KubernetesCloudSettings>(cloud.Settings);
        Assert.Equal(("prod", "stratus-replicas", "nvidia.com/gpu", "stratus-fetch"), (k.Context, k.Namespace, k.GpuResource, k.ArtifactTokenSecret));
        Assert.Equal("spot", k.Spot.NodeSelector["stratus.io/capacity"]);
        Assert.Equal("NoSchedule", Assert.Single(k.Spot.Tolerations).Effect);
    }

    [Fact]
    public void Kubernetes_MissingFields_AreEachReported()
    {
        var error = Assert.Throws<CloudsConfigException>(() => CloudsConfig.Parse(Cloud("kubernetes", """
                kubernetes:
                  namespace: Not_A_Name
                  spot:
                    tolerations: [{ key: k, effect: Sometimes }]
            """)));

        Assert.Equal(
            [
                "clouds[0].kubernetes.context is required",
                "clouds[0].kubernetes.namespace must be a lower-case name of a-z, 0-9 and '-'",
                "clouds[0].kubernetes.image is required: the replica image as the cluster pulls it",
                "clouds[0].kubernetes.artifacts.url must be the control plane's http(s) address as the cluster's pods reach it",
                "clouds[0].kubernetes.artifacts.tokenSecret must name the Secret that holds the fetch token",
                "clouds[0].kubernetes.spot.tolerations[0] needs a key, operator Equal or Exists, and effect NoSchedule, PreferNoSchedule or NoExecute",
            ],
            error.Problems);
    }

    [Fact]
    public void ProviderBlock_OnTheWrongProvider_IsRefused()
    {
        var error = Assert.Throws<CloudsConfigException>(() => CloudsConfig.Parse(Cloud("local", """
                docker:
                  endpoint: unix:///run/docker.sock
            """)));

        Assert.Contains("clouds[0].docker is only for provider: docker", error.Problems);
    }

    [Fact]
    public void Shapes_Declared_OverrideTheCatalogue_AndUndeclaredFallBackToIt()
    {
        var cloud = Assert.Single(CloudsConfig.Parse(Cloud("local", """
                shapes:
                  cpu-small: { cpu: 0.5, memoryMiB: 512 }
            """)));

        Assert.Equal(new ShapeResources(0.5, 512), cloud.ResourcesOf("cpu-small"));
        Assert.Equal(new ShapeResources(4, 16384, 1), cloud.ResourcesOf("gpu-a10"));
    }

    [Theory]
    [InlineData("    shapes:\n      cpu-tiny: { cpu: 1, memoryMiB: 1 }\n", "clouds[0].shapes.cpu-tiny is not in clouds[0].capacity")]
    [InlineData("    shapes:\n      cpu-small: { cpu: 0, memoryMiB: 1 }\n", "clouds[0].shapes.cpu-small needs cpu and memoryMiB above 0 (and gpu of 0 or more)")]
    public void Shapes_Bad_AreReported(string block, string expected)
    {
        var error = Assert.Throws<CloudsConfigException>(() => CloudsConfig.Parse(Cloud("local", block)));

        Assert.Contains(expected, error.Problems);
    }
}
