using System.Globalization;
using k8s.Models;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Providers.Kubernetes;

/// <summary>
/// The Deployment that runs one replica in a kubernetes cloud, and the labels a provider finds it again by. Pure: the
/// same launch in the same cloud always gives the same object, so the golden manifests of the tests pin it down.
/// </summary>
public static class ReplicaManifest
{
    public const string ClusterLabel = "stratus.io/cluster";
    public const string CloudLabel = "stratus.io/cloud";
    public const string DeploymentLabel = "stratus.io/deployment";
    public const string ModelLabel = "stratus.io/model";
    public const string VersionLabel = "stratus.io/version";
    public const string ReplicaLabel = "stratus.io/replica";
    public const string ShapeLabel = "stratus.io/shape";
    public const string SpotLabel = "stratus.io/spot";

    /// <summary>The replica's container, whose exit and logs are the replica's.</summary>
    public const string ReplicaContainer = "replica";

    /// <summary>The init container that fetches the model from the registry and verifies its SHA-256.</summary>
    public const string FetchContainer = "fetch-model";

    /// <summary>The port every replica listens on: each pod has its own address, so they need not differ.</summary>
    public const int Port = 8000;

    /// <summary>As long as a local replica's: SIGTERM, then SIGKILL after this many seconds.</summary>
    public const int GracePeriodSeconds = 10;

    private const string ModelDirectory = "/models";
    private const string ModelFile = ModelDirectory + "/model.onnx";

    /// <summary>The label selector of every object this installation made in this cloud.</summary>
    public static string Selector(string clusterId, string cloud) => $"{ClusterLabel}={clusterId},{CloudLabel}={cloud}";

    /// <summary>
    /// The replica's Deployment (named as the replica) with one pod: requests and limits from the shape, the GPU
    /// resource where the shape has GPUs, the spot node selector and tolerations for a spot launch, the model fetched
    /// by an init container into an emptyDir the replica reads it from, and readiness from <c>/v2/health/ready</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A name or label value Kubernetes would refuse.</exception>
    public static V1Deployment Deployment(ReplicaLaunch launch, CloudSpec cloud, KubernetesCloudSettings settings, string clusterId)
    {
        var labels = new Dictionary<string, string>
        {
            [ClusterLabel] = clusterId,
            [CloudLabel] = cloud.Name,
            [DeploymentLabel] = launch.ServedName ?? launch.ModelName,
            [ModelLabel] = launch.ModelName,
            [VersionLabel] = launch.ModelVersion,
            [ReplicaLabel] = launch.ReplicaId,
            [ShapeLabel] = launch.Shape,
            [SpotLabel] = launch.Spot ? "true" : "false",
        };
        if (!KubernetesNames.IsLabel(launch.ReplicaId))
        {
            throw new ArgumentException($"replica id '{launch.ReplicaId}' is not a DNS-1123 label of at most 63 characters, so it cannot name a Deployment");
        }

        foreach (var (key, value) in labels)
        {
            if (!KubernetesNames.IsLabelValue(value))
            {
                throw new ArgumentException($"label {key}='{value}' is not a valid Kubernetes label value");
            }
        }

        var resources = Resources(cloud.ResourcesOf(launch.Shape), settings.GpuResource);
        var model = new V1VolumeMount { Name = "model", MountPath = ModelDirectory };
        var pod = new V1PodSpec
        {
            TerminationGracePeriodSeconds = GracePeriodSeconds,
            AutomountServiceAccountToken = false,
            EnableServiceLinks = false,
            Volumes = [new V1Volume { Name = "model", EmptyDir = new V1EmptyDirVolumeSource() }],
            InitContainers =
            [
                new V1Container
                {
                    Name = FetchContainer,
                    Image = settings.Image,
                    Args = ["model", "pull", launch.ModelName, "--version", launch.ModelVersion, "--sha256", launch.Sha256, "--out", ModelFile],
                    Env =
                    [
                        new V1EnvVar { Name = "STRATUS_SERVER", Value = settings.ArtifactUrl.ToString() },
                        new V1EnvVar { Name = "STRATUS_TOKEN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = settings.ArtifactTokenSecret, Key = "token" } } },
                    ],
                    Resources = resources,
                    VolumeMounts = [model],
                    TerminationMessagePolicy = "FallbackToLogsOnError",
                },
            ],
            Containers =
            [
                new V1Container
                {
                    Name = ReplicaContainer,
                    Image = settings.Image,
                    Args =
                    [
                        "replica", "--model", ModelFile, "--sha256", launch.Sha256, "--name", launch.ServedName ?? launch.ModelName, "--version", launch.ModelVersion,
                        "--host", "$(POD_IP)", "--port", Port.ToString(CultureInfo.InvariantCulture),
                    ],
                    Env = [new V1EnvVar { Name = "POD_IP", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } }],
                    Ports = [new V1ContainerPort { Name = "http", ContainerPort = Port }],
                    ReadinessProbe = new V1Probe
                    {
                        HttpGet = new V1HTTPGetAction { Path = "/v2/health/ready", Port = "http" },
                        PeriodSeconds = 1,
                        FailureThreshold = 3,
                    },
                    Resources = resources,
                    VolumeMounts = [new V1VolumeMount { Name = "model", MountPath = ModelDirectory, ReadOnlyProperty = true }],
                    TerminationMessagePolicy = "FallbackToLogsOnError",
                },
            ],
        };
        if (launch.Spot)
        {
            pod.NodeSelector = new Dictionary<string, string>(settings.Spot.NodeSelector);
            pod.Tolerations = [.. settings.Spot.Tolerations.Select(t => new V1Toleration { Key = t.Key, OperatorProperty = t.Operator, Value = t.Value, Effect = t.Effect })];
        }

        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = launch.ReplicaId, NamespaceProperty = settings.Namespace, Labels = labels },
            Spec = new V1DeploymentSpec
            {
                Replicas = 1,
                // Recreate: a replica is one pod, never two at once under the same id.
                Strategy = new V1DeploymentStrategy { Type = "Recreate" },
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [ClusterLabel] = clusterId, [ReplicaLabel] = launch.ReplicaId } },
                Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels) }, Spec = pod },
            },
        };
    }

    /// <summary>Requests equal to limits (the Guaranteed class: a replica is not squeezed by its neighbours).</summary>
    private static V1ResourceRequirements Resources(ShapeResources shape, string gpuResource)
    {
        var amounts = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(shape.Cpu == Math.Floor(shape.Cpu)
                ? ((int)shape.Cpu).ToString(CultureInfo.InvariantCulture)
                : ((int)Math.Round(shape.Cpu * 1000)).ToString(CultureInfo.InvariantCulture) + "m"),
            ["memory"] = new(shape.MemoryMiB.ToString(CultureInfo.InvariantCulture) + "Mi"),
        };
        if (shape.Gpu > 0)
        {
            amounts[gpuResource] = new(shape.Gpu.ToString(CultureInfo.InvariantCulture));
        }

        return new V1ResourceRequirements { Requests = amounts, Limits = new Dictionary<string, ResourceQuantity>(amounts) };
    }
}

/// <summary>The name and label syntax the Kubernetes API checks.</summary>
public static class KubernetesNames
{
    /// <summary>A DNS-1123 label: at most 63 of a-z, 0-9 and '-', starting and ending alphanumeric.</summary>
    public static bool IsLabel(string text) =>
        text.Length is > 0 and <= 63 && text.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') && text[0] != '-' && text[^1] != '-';

    /// <summary>A DNS-1123 subdomain: dot-separated labels, at most 253 characters.</summary>
    public static bool IsSubdomain(string text) => text.Length is > 0 and <= 253 && text.Split('.').All(IsLabel);

    /// <summary>A label value: empty, or at most 63 of alphanumerics, '-', '_' and '.', starting and ending alphanumeric.</summary>
    public static bool IsLabelValue(string text) =>
        text.Length == 0 || (text.Length <= 63 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && char.IsAsciiLetterOrDigit(text[0]) && char.IsAsciiLetterOrDigit(text[^1]));

    /// <summary>A label key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters.</summary>
    public static bool IsLabelKey(string text)
    {
        var slash = text.LastIndexOf('/');
        var name = slash < 0 ? text : text[(slash + 1)..];
        return (slash < 0 || IsSubdomain(text[..slash])) && name.Length > 0 && IsLabelValue(name);
    }
}
