using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Stratus.ControlPlane.Providers;
using Stratus.ControlPlane.Providers.Kubernetes;
using Stratus.Core.Clouds;

namespace Stratus.ControlPlane.Tests.Providers.Kubernetes;

/// <summary>The fake API server's validator can fail: it refuses what the real API server refuses.</summary>
public sealed class KubernetesSchemaTests
{
    private static JsonObject ValidDeployment()
    {
        var settings = new KubernetesCloudSettings(null, "c", "ns", "img", new Uri("http://cp:7700/"), "secret", "nvidia.com/gpu", new KubernetesSpotSettings(new Dictionary<string, string>(), []));
        var cloud = new CloudSpec("k8s", "kubernetes", "r", "eu", new GeoLocation(0, 0), new Dictionary<string, int>(), new Dictionary<string, ShapePrice>(), TimeSpan.Zero) { Settings = settings };
        var deployment = ReplicaManifest.Deployment(new ReplicaLaunch("r1", "credit-risk", "1", "/m", new string('a', 64), "cpu-small"), cloud, settings, "stratus");
        return JsonNode.Parse(KubernetesJson.Serialize(deployment))!.AsObject();
    }

    private static IReadOnlyList<SchemaProblem> Validate(JsonNode body)
    {
        using var document = JsonDocument.Parse(body.ToJsonString());
        return KubernetesSchema.Instance.Validate(document.RootElement);
    }

    [Fact]
    public void Validate_TheProvidersDeployment_HasNoProblem() => Assert.Empty(Validate(ValidDeployment()));

    [Fact]
    public void Validate_UnknownField_IsADecodingError()
    {
        var body = ValidDeployment();
        body["spec"]!["template"]!["spec"]!["containers"]![0]!["startupProbe"] = new JsonObject();

        var problem = Assert.Single(Validate(body));

        Assert.Equal(("$.spec.template.spec.containers[0].startupProbe", "unknown field", true), (problem.Path, problem.Message, problem.Decoding));
    }

    [Fact]
    public void Validate_NoContainer_IsRefused()
    {
        var body = ValidDeployment();
        body["spec"]!["template"]!["spec"]!["containers"] = new JsonArray();

        Assert.Contains(Validate(body), p => p.Message.Contains("at least one container", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_MissingRequiredField_IsRefused()
    {
        var body = ValidDeployment();
        body["spec"]!.AsObject().Remove("selector");

        Assert.Contains(Validate(body), p => p.Path == "$.spec.selector" && p.Message == "Required value");
    }

    [Theory]
    [InlineData("replicas", "\"one\"")]
    [InlineData("revisionHistoryLimit", "1.5")]
    [InlineData("paused", "\"yes\"")]
    public void Validate_WrongType_IsADecodingError(string field, string value)
    {
        var body = ValidDeployment();
        body["spec"]![field] = JsonNode.Parse(value);

        Assert.Contains(Validate(body), p => p.Path == $"$.spec.{field}" && p.Decoding);
    }

    [Fact]
    public void Validate_SelectorNotMatchingTheTemplate_AndBadNames_AreRefused()
    {
        var body = ValidDeployment();
        body["spec"]!["selector"]!["matchLabels"]!["stratus.io/replica"] = "r2";
        body["metadata"]!["name"] = "R_1";
        body["metadata"]!["labels"]!["stratus.io/model"] = "-bad-";

        var problems = Validate(body).Select(p => p.Message).ToList();

        Assert.Contains("`selector` does not match template `labels`", problems);
        Assert.Contains("'R_1' is not a DNS-1123 subdomain", problems);
        Assert.Contains("'-bad-' is not a valid label value", problems);
    }

    [Fact]
    public void Validate_IntOrStringAndQuantity_TakeBothFormsButNothingElse()
    {
        var body = ValidDeployment();
        var container = body["spec"]!["template"]!["spec"]!["containers"]![0]!;
        container["readinessProbe"]!["httpGet"]!["port"] = 8000;
        container["resources"]!["limits"]!["cpu"] = 2;
        Assert.Empty(Validate(body));

        container["readinessProbe"]!["httpGet"]!["port"] = true;
        container["resources"]!["limits"]!["memory"] = "lots";
        var problems = Validate(body).Select(p => p.Path).ToList();
        Assert.Contains("$.spec.template.spec.containers[0].readinessProbe.httpGet.port", problems);
        Assert.Contains("$.spec.template.spec.containers[0].resources.limits[memory]", problems);
    }

    [Fact]
    public async Task FakeServer_RefusesAnInvalidCreate_WithTheApisStatusCodes_AndStoresNothing()
    {
        var root = Path.Combine(Path.GetTempPath(), $"stratus-k8s-schema-{Guid.NewGuid():N}");
        await using var cluster = await FakeKubernetes.StartAsync(root);
        var kubeconfig = cluster.WriteKubeconfig(Path.Combine(Directory.CreateDirectory(root).FullName, "kubeconfig"), "ns");
        using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig, FakeKubernetes.Context));
        var deployment = KubernetesJson.Deserialize<V1Deployment>(ValidDeployment().ToJsonString());
        deployment.Metadata.NamespaceProperty = "ns";
        deployment.Spec.Template.Spec.Containers = [];

        var invalid = await Assert.ThrowsAsync<HttpOperationException>(() => client.AppsV1.CreateNamespacedDeploymentAsync(deployment, "ns"));
        deployment.Spec.Template.Spec.Containers = [new V1Container { Name = "c", Image = "i", Ports = [new V1ContainerPort { ContainerPort = 70000 }] }];
        var outOfRange = await Assert.ThrowsAsync<HttpOperationException>(() => client.AppsV1.CreateNamespacedDeploymentAsync(deployment, "ns"));
        var notFound = await Assert.ThrowsAsync<HttpOperationException>(() => client.AppsV1.ReadNamespacedDeploymentAsync("r1", "ns"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid.Response.StatusCode);
        Assert.Contains("\"reason\":\"Invalid\"", invalid.Response.Content, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, outOfRange.Response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, notFound.Response.StatusCode);
        Assert.Empty((await client.AppsV1.ListNamespacedDeploymentAsync("ns")).Items);
        Directory.Delete(root, recursive: true);
    }
}
