using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Providers.Kubernetes;

/// <summary>
/// A kubernetes cloud's part of <c>clouds.yaml</c>: one cluster (a kubeconfig context) and the namespace its
/// replicas run in.
/// </summary>
/// <param name="Kubeconfig">The kubeconfig file; null for <c>$KUBECONFIG</c> or <c>~/.kube/config</c>.</param>
/// <param name="Context">The context of that file to use; <see cref="InCluster"/> (with no kubeconfig) for the cluster the control plane runs in, through its pod's ServiceAccount.</param>
/// <param name="Namespace">Where the replicas' Deployments and Pods are made.</param>
/// <param name="Image">The replica image the cluster pulls (it must be in a registry the cluster reaches).</param>
/// <param name="ArtifactUrl">Where the init container fetches models from: the control plane's address as the cluster's pods reach it.</param>
/// <param name="ArtifactTokenSecret">The Secret (key <c>token</c>) holding the API token the init container fetches with.</param>
/// <param name="GpuResource">The extended resource a GPU shape asks for (<c>nvidia.com/gpu</c>).</param>
/// <param name="Spot">How spot replicas find spot nodes: node selector labels and tolerations.</param>
public sealed record KubernetesCloudSettings(
    string? Kubeconfig,
    string Context,
    string Namespace,
    string Image,
    Uri ArtifactUrl,
    string ArtifactTokenSecret,
    string GpuResource,
    KubernetesSpotSettings Spot) : CloudProviderSettings
{
    /// <summary>The context name that means "this pod's own cluster and ServiceAccount" rather than a kubeconfig's context.</summary>
    public const string InCluster = "in-cluster";
}

/// <summary>The node selector and tolerations that put a spot replica on spot (preemptible) nodes.</summary>
public sealed record KubernetesSpotSettings(IReadOnlyDictionary<string, string> NodeSelector, IReadOnlyList<KubernetesToleration> Tolerations);

/// <summary>One toleration, as in a Pod spec.</summary>
public sealed record KubernetesToleration(string Key, string Operator, string? Value, string Effect);
