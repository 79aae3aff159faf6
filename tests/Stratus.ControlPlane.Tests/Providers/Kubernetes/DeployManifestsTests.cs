using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Stratus.ControlPlane.Clouds;
using Stratus.ControlPlane.Providers.Kubernetes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Stratus.ControlPlane.Tests.Providers.Kubernetes;

/// <summary>
/// The manifests of <c>deploy/kubernetes</c> (the control plane on a cluster) are valid objects of Kubernetes 1.13:
/// every one passes the same strict schema as the provider's bodies, the clouds.yaml they carry parses, and the Role
/// grants what the provider calls.
/// </summary>
public sealed class DeployManifestsTests
{
    private static readonly string Folder = Path.GetDirectoryName(Stratus.Testing.RepositoryFiles.Find("deploy/kubernetes/40-server.yaml"))!;

    public static TheoryData<string> Files => [.. Directory.GetFiles(Folder, "*.yaml").Select(f => Path.GetFileName(f)).Order()];

    /// <summary>Each YAML document as JSON, typed as YAML 1.2's core schema types plain scalars (quoted ones stay strings).</summary>
    private static List<JsonNode> Documents(string file)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(Folder, file)));
        stream.Load(reader);
        return [.. stream.Documents.Select(d => Json(d.RootNode)!)];
    }

    private static JsonNode? Json(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, Json(c.Value)))),
        YamlSequenceNode list => new JsonArray([.. list.Children.Select(Json)]),
        YamlScalarNode { Style: ScalarStyle.Plain } scalar => scalar.Value switch
        {
            "true" or "True" => JsonValue.Create(true),
            "false" or "False" => JsonValue.Create(false),
            null or "" or "null" or "~" => null,
            var text when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => JsonValue.Create(number),
            var text when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) => JsonValue.Create(real),
            var text => JsonValue.Create(text),
        },
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new InvalidDataException($"unexpected YAML node {node.NodeType}"),
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void EveryObject_IsValidForTheApiServer(string file)
    {
        var documents = Documents(file);

        Assert.NotEmpty(documents);
        foreach (var document in documents)
        {
            using var json = JsonDocument.Parse(document.ToJsonString());
            var problems = KubernetesSchema.Instance.Validate(json.RootElement);
            Assert.True(problems.Count == 0, $"{file} {document["kind"]} {document["metadata"]?["name"]}: {string.Join("; ", problems)}");
        }
    }

    [Fact]
    public void CloudsConfigMap_ParsesToAKubernetesCloudInTheReplicaNamespace()
    {
        var map = Documents("30-clouds.yaml").Single(d => (string?)d["kind"] == "ConfigMap");

        var cloud = Assert.Single(CloudsConfig.Parse((string)map["data"]!["clouds.yaml"]!));

        var settings = Assert.IsType<KubernetesCloudSettings>(cloud.Settings);
        Assert.Equal((KubernetesCloudSettings.InCluster, "stratus-replicas", "stratus-artifacts"), (settings.Context, settings.Namespace, settings.ArtifactTokenSecret));
        var secret = Documents("30-clouds.yaml").Single(d => (string?)d["kind"] == "Secret");
        Assert.Equal(("stratus-artifacts", "stratus-replicas"), ((string?)secret["metadata"]!["name"], (string?)secret["metadata"]!["namespace"]));
    }

    [Fact]
    public void Role_GrantsWhatTheProviderCalls_InTheReplicaNamespace()
    {
        var role = Documents("10-rbac.yaml").Single(d => (string?)d["kind"] == "Role");
        var granted = role["rules"]!.AsArray()
            .SelectMany(r => r!["resources"]!.AsArray().SelectMany(resource => r["verbs"]!.AsArray().Select(verb => $"{resource}:{verb}")))
            .ToHashSet();

        Assert.Equal("stratus-replicas", (string?)role["metadata"]!["namespace"]);
        Assert.Superset(new HashSet<string> {"deployments:create", "deployments:delete", "deployments:get", "deployments:list", "pods:list", "pods:watch", "pods:delete", "pods/log:get" }, granted);
    }
}
