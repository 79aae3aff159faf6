using Stratus.ControlPlane.Providers;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Hosting;

/// <summary>Makes each cloud's provider from its entry in <c>clouds.yaml</c>.</summary>
public static class CloudProviders
{
    public static ICloudProvider Create(CloudSpec cloud, ControlPlaneOptions options) => cloud.Provider switch
    {
        "local" => new LocalCloudProvider(cloud, options.DataDirectory, options.Replica),
        "docker" => new Providers.Docker.DockerCloudProvider(cloud, (Providers.Docker.DockerCloudSettings)cloud.Settings!, options.ClusterId, options.DataDirectory),
        "kubernetes" => new Providers.Kubernetes.KubernetesCloudProvider(cloud, options.ClusterId),
        _ => throw new InvalidOperationException($"cloud {cloud.Name}: provider '{cloud.Provider}' is not built into this server"),
    };
}
