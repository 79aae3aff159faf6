using Stratus.ControlPlane.Providers.Docker;
using Stratus.ControlPlane.Providers.Kubernetes;
using Stratus.ControlPlane.Yaml;
using Stratus.Core.Clouds;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Stratus.ControlPlane.Clouds;

/// <summary>A <c>clouds.yaml</c> that cannot be used, with every problem found and where it is.</summary>
public sealed class CloudsConfigException(IReadOnlyList<string> problems)
    : Exception("clouds.yaml is invalid: " + string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>Reads and checks <c>clouds.yaml</c>; every problem is reported with its path, not just the first.</summary>
public static class CloudsConfig
{
    public static readonly string[] Providers = ["local", "docker", "kubernetes"];

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    /// <summary>The three local clouds <c>stratus up</c> starts with.</summary>
    public static string DefaultYaml()
    {
        using var stream = typeof(CloudsConfig).Assembly.GetManifestResourceStream("Stratus.ControlPlane.default-clouds.yaml")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static IReadOnlyList<CloudSpec> Parse(string yaml)
    {
        Document? document;
        try
        {
            document = Deserializer.Deserialize<Document>(new BoundedYamlParser(yaml));
        }
        catch (YamlException e)
        {
            throw new CloudsConfigException([$"line {e.Start.Line}, column {e.Start.Column}: {e.InnerException?.Message ?? e.Message}"]);
        }

        var problems = new List<string>();
        var clouds = new List<CloudSpec>();
        if (document?.Clouds is not { Count: > 0 })
        {
            throw new CloudsConfigException(["'clouds' must list at least one cloud"]);
        }

        for (var i = 0; i < document.Clouds.Count; i++)
        {
            var cloud = Check(document.Clouds[i], $"clouds[{i}]", problems);
            if (cloud is not null)
            {
                clouds.Add(cloud);
            }
        }

        foreach (var duplicate in clouds.GroupBy(c => c.Name).Where(g => g.Count() > 1))
        {
            problems.Add($"cloud name '{duplicate.Key}' is used {duplicate.Count()} times");
        }

        return problems.Count == 0 ? clouds : throw new CloudsConfigException(problems);
    }

    private static CloudSpec? Check(Entry entry, string at, List<string> problems)
    {
        var before = problems.Count;
        Require(entry.Name is { Length: > 0 } name && IsLabel(name), $"{at}.name must be a lower-case name of a-z, 0-9 and '-'", problems);
        Require(entry.Provider is not null && Providers.Contains(entry.Provider), $"{at}.provider must be one of {string.Join(", ", Providers)}", problems);
        Require(!string.IsNullOrWhiteSpace(entry.Region), $"{at}.region is required", problems);
        Require(entry.Jurisdiction is { Length: > 0 } j && IsLabel(j), $"{at}.jurisdiction must be a lower-case code such as us, eu or cn", problems);
        Require(entry.Location is { Lat: >= -90 and <= 90, Lon: >= -180 and <= 180 }, $"{at}.location needs lat within -90..90 and lon within -180..180", problems);
        Require(entry.LatencyMs is null or >= 0, $"{at}.latencyMs must not be negative", problems);
        Require(entry.Capacity is { Count: > 0 }, $"{at}.capacity must give at least one shape", problems);
        foreach (var (shape, count) in entry.Capacity ?? [])
        {
            Require(count >= 0, $"{at}.capacity.{shape} must not be negative", problems);
            Require(entry.Prices?.ContainsKey(shape) == true, $"{at}.prices has no price for shape '{shape}'", problems);
        }

        foreach (var (shape, price) in entry.Prices ?? [])
        {
            Require(price is { OnDemand: >= 0, Spot: >= 0 }, $"{at}.prices.{shape} needs onDemand and spot prices of 0 or more", problems);
        }

        var shapes = new Dictionary<string, ShapeResources>();
        foreach (var (shape, resources) in entry.Shapes ?? [])
        {
            Require(entry.Capacity?.ContainsKey(shape) == true, $"{at}.shapes.{shape} is not in {at}.capacity", problems);
            Require(resources is { Cpu: > 0, MemoryMiB: > 0 } && resources.Gpu is null or >= 0, $"{at}.shapes.{shape} needs cpu and memoryMiB above 0 (and gpu of 0 or more)", problems);
            if (resources is { Cpu: > 0, MemoryMiB: > 0 })
            {
                shapes[shape] = new ShapeResources(resources.Cpu.Value, resources.MemoryMiB.Value, resources.Gpu ?? 0);
            }
        }

        var settings = CheckSettings(entry, at, problems);
        if (problems.Count > before)
        {
            return null;
        }

        return new CloudSpec(
            entry.Name!,
            entry.Provider!,
            entry.Region!,
            entry.Jurisdiction!,
            new GeoLocation(entry.Location!.Lat!.Value, entry.Location.Lon!.Value),
            entry.Capacity!.ToDictionary(kv => kv.Key, kv => kv.Value),
            entry.Prices!.ToDictionary(kv => kv.Key, kv => new ShapePrice(kv.Value.OnDemand!.Value, kv.Value.Spot!.Value)),
            TimeSpan.FromMilliseconds(entry.LatencyMs ?? 0))
        {
            Shapes = shapes,
            Settings = settings,
        };
    }

    /// <summary>The provider's own block: <c>docker:</c> for a docker cloud, <c>kubernetes:</c> for a kubernetes one, neither for a local one.</summary>
    private static CloudProviderSettings? CheckSettings(Entry entry, string at, List<string> problems)
    {
        var before = problems.Count;
        Require(entry.Docker is null || entry.Provider == "docker", $"{at}.docker is only for provider: docker", problems);
        Require(entry.Kubernetes is null || entry.Provider == "kubernetes", $"{at}.kubernetes is only for provider: kubernetes", problems);
        switch (entry.Provider)
        {
            case "docker":
                var docker = entry.Docker;
                Uri? endpoint = null;
                Require(
                    docker?.Endpoint is { } text && Uri.TryCreate(text, UriKind.Absolute, out endpoint) && endpoint.Scheme is "unix" or "tcp",
                    $"{at}.docker.endpoint must be unix:///path/to/docker.sock or tcp://host:port",
                    problems);
                var tls = docker?.Tls;
                Require(tls is null || tls is { Ca.Length: > 0, Cert.Length: > 0, Key.Length: > 0 }, $"{at}.docker.tls needs ca, cert and key files", problems);
                Require(endpoint?.Scheme != "tcp" || tls is not null, $"{at}.docker.tls is required for a tcp endpoint: an engine on the network must not be driven without client certificates", problems);
                return endpoint is null
                    ? null
                    : new DockerCloudSettings(endpoint, tls is null ? null : new DockerTls(tls.Ca!, tls.Cert!, tls.Key!), docker!.Image, docker.AdvertiseHost ?? (endpoint.Scheme == "unix" ? "127.0.0.1" : endpoint.Host));
            case "kubernetes":
                var k = entry.Kubernetes;
                Uri? artifacts = null;
                Require(k?.Context is { Length: > 0 }, $"{at}.kubernetes.context is required", problems);
                Require(k?.Namespace is { Length: > 0 } ns && IsLabel(ns), $"{at}.kubernetes.namespace must be a lower-case name of a-z, 0-9 and '-'", problems);
                Require(k?.Image is { Length: > 0 }, $"{at}.kubernetes.image is required: the replica image as the cluster pulls it", problems);
                Require(
                    k?.Artifacts?.Url is { } url && Uri.TryCreate(url, UriKind.Absolute, out artifacts) && artifacts.Scheme is "http" or "https",
                    $"{at}.kubernetes.artifacts.url must be the control plane's http(s) address as the cluster's pods reach it",
                    problems);
                Require(k?.Artifacts?.TokenSecret is { Length: > 0 } secret && IsLabel(secret), $"{at}.kubernetes.artifacts.tokenSecret must name the Secret that holds the fetch token", problems);
                foreach (var (toleration, i) in (k?.Spot?.Tolerations ?? []).Select((t, i) => (t, i)))
                {
                    Require(toleration.Key is { Length: > 0 } && toleration.Effect is "NoSchedule" or "PreferNoSchedule" or "NoExecute" && toleration.Operator is null or "Equal" or "Exists", $"{at}.kubernetes.spot.tolerations[{i}] needs a key, operator Equal or Exists, and effect NoSchedule, PreferNoSchedule or NoExecute", problems);
                }

                if (problems.Count > before || k is null)
                {
                    return null;
                }

                var spot = k.Spot is null
                    ? new KubernetesSpotSettings(new Dictionary<string, string> { ["stratus.io/capacity"] = "spot" }, [new KubernetesToleration("stratus.io/capacity", "Equal", "spot", "NoSchedule")])
                    : new KubernetesSpotSettings(k.Spot.NodeSelector ?? [], [.. (k.Spot.Tolerations ?? []).Select(t => new KubernetesToleration(t.Key!, t.Operator ?? "Equal", t.Value, t.Effect!))]);
                return new KubernetesCloudSettings(k.Kubeconfig, k.Context!, k.Namespace!, k.Image!, artifacts!, k.Artifacts!.TokenSecret!, k.GpuResource ?? "nvidia.com/gpu", spot);
            default:
                return null;
        }
    }

    private static void Require(bool condition, string problem, List<string> problems)
    {
        if (!condition)
        {
            problems.Add(problem);
        }
    }

    private static bool IsLabel(string text) =>
        text.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') && text[0] != '-' && text[^1] != '-';

    // YAML shapes, all optional so that every missing field becomes a reported problem rather than an exception.
    private sealed class Document
    {
        public List<Entry>? Clouds { get; set; }
    }

    private sealed class Entry
    {
        public string? Name { get; set; }

        public string? Provider { get; set; }

        public string? Region { get; set; }

        public string? Jurisdiction { get; set; }

        public Point? Location { get; set; }

        public double? LatencyMs { get; set; }

        public Dictionary<string, int>? Capacity { get; set; }

        public Dictionary<string, Price>? Prices { get; set; }

        public Dictionary<string, Resources>? Shapes { get; set; }

        public DockerEntry? Docker { get; set; }

        public KubernetesEntry? Kubernetes { get; set; }
    }

    private sealed class Resources
    {
        public double? Cpu { get; set; }

        public int? MemoryMiB { get; set; }

        public int? Gpu { get; set; }
    }

    private sealed class DockerEntry
    {
        public string? Endpoint { get; set; }

        public TlsEntry? Tls { get; set; }

        public string? Image { get; set; }

        public string? AdvertiseHost { get; set; }
    }

    private sealed class TlsEntry
    {
        public string? Ca { get; set; }

        public string? Cert { get; set; }

        public string? Key { get; set; }
    }

    private sealed class KubernetesEntry
    {
        public string? Kubeconfig { get; set; }

        public string? Context { get; set; }

        public string? Namespace { get; set; }

        public string? Image { get; set; }

        public ArtifactsEntry? Artifacts { get; set; }

        public string? GpuResource { get; set; }

        public SpotEntry? Spot { get; set; }
    }

    private sealed class ArtifactsEntry
    {
        public string? Url { get; set; }

        public string? TokenSecret { get; set; }
    }

    private sealed class SpotEntry
    {
        public Dictionary<string, string>? NodeSelector { get; set; }

        public List<TolerationEntry>? Tolerations { get; set; }
    }

    private sealed class TolerationEntry
    {
        public string? Key { get; set; }

        public string? Operator { get; set; }

        public string? Value { get; set; }

        public string? Effect { get; set; }
    }

    private sealed class Point
    {
        public double? Lat { get; set; }

        public double? Lon { get; set; }
    }

    private sealed class Price
    {
        public decimal? OnDemand { get; set; }

        public decimal? Spot { get; set; }
    }
}
