using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using Stratus.ControlPlane.Providers.Kubernetes;

namespace Stratus.ControlPlane.Tests.Providers.Kubernetes;

/// <summary>One thing the API server would refuse, and where: a decoding fault (unknown field, wrong type) is a 400, the rest 422.</summary>
internal sealed record SchemaProblem(string Path, string Message, bool Decoding)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>
/// The Kubernetes 1.13 OpenAPI document (models/third-party, from the kubernetes-client npm package) as a strict
/// validator: an unknown field is refused as <c>fieldValidation=Strict</c> refuses it, and required fields, types,
/// int-or-string and quantities are checked, then the API server's own checks that are simple to state: DNS-1123
/// names, label syntax, a selector that matches the pod template, at least one container, and so on.
/// </summary>
internal sealed partial class KubernetesSchema
{
    private const string Prefix = "#/definitions/";
    private readonly JsonElement _definitions;
    private readonly Dictionary<(string ApiVersion, string Kind), string> _byKind = [];

    private KubernetesSchema(JsonDocument document)
    {
        _definitions = document.RootElement.GetProperty("definitions");
        foreach (var definition in _definitions.EnumerateObject())
        {
            if (definition.Value.TryGetProperty("x-kubernetes-group-version-kind", out var kinds))
            {
                foreach (var gvk in kinds.EnumerateArray())
                {
                    var group = gvk.GetProperty("group").GetString();
                    var apiVersion = string.IsNullOrEmpty(group) ? gvk.GetProperty("version").GetString()! : $"{group}/{gvk.GetProperty("version").GetString()}";
                    _byKind.TryAdd((apiVersion, gvk.GetProperty("kind").GetString()!), definition.Name);
                }
            }
        }
    }

    public static KubernetesSchema Instance { get; } = Load();

    private static KubernetesSchema Load()
    {
        using var file = File.OpenRead(Stratus.Testing.RepositoryFiles.Find("models/third-party/kubernetes-1.13-swagger.json.gz"));
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        return new KubernetesSchema(JsonDocument.Parse(gzip));
    }

    /// <summary>Everything the API server of 1.13 would refuse in an object of its <c>apiVersion</c> and <c>kind</c>.</summary>
    public IReadOnlyList<SchemaProblem> Validate(JsonElement body, string? expectedApiVersion = null, string? expectedKind = null)
    {
        var problems = new List<SchemaProblem>();
        if (body.ValueKind != JsonValueKind.Object)
        {
            return [new("$", "the body must be a JSON object", true)];
        }

        var apiVersion = body.TryGetProperty("apiVersion", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : string.Empty;
        var kind = body.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString()! : string.Empty;
        if ((expectedApiVersion is not null && apiVersion != expectedApiVersion) || (expectedKind is not null && kind != expectedKind))
        {
            return [new("$", $"the body is {apiVersion} {kind}, this endpoint takes {expectedApiVersion} {expectedKind}", true)];
        }

        if (!_byKind.TryGetValue((apiVersion, kind), out var definition))
        {
            return [new("$", $"no kind {kind} in {apiVersion}", true)];
        }

        return ValidateDefinition(body, definition, kind);
    }

    /// <summary>A body of one named definition (<c>io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions</c>), schema and API checks.</summary>
    public IReadOnlyList<SchemaProblem> ValidateDefinition(JsonElement body, string definition, string kind)
    {
        var problems = new List<SchemaProblem>();
        Check(body, Ref(definition), "$", problems);
        if (problems.Count == 0)
        {
            ApiChecks.Check(body, kind, problems);
        }

        return problems;
    }

    private JsonElement Ref(string name) => _definitions.GetProperty(name);

    private void Check(JsonElement node, JsonElement schema, string path, List<SchemaProblem> problems)
    {
        if (node.ValueKind == JsonValueKind.Null)
        {
            // The API decodes null as absent.
            return;
        }

        if (schema.TryGetProperty("$ref", out var reference))
        {
            var name = reference.GetString()![Prefix.Length..];
            switch (name)
            {
                case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
                    Require(node.ValueKind == JsonValueKind.String || IsInteger(node), path, "must be an integer or a string", problems);
                    return;
                case "io.k8s.apimachinery.pkg.api.resource.Quantity":
                    Require((node.ValueKind == JsonValueKind.String && QuantityPattern().IsMatch(node.GetString()!)) || node.ValueKind == JsonValueKind.Number, path, $"'{node}' is not a quantity", problems);
                    return;
                case "io.k8s.apimachinery.pkg.apis.meta.v1.Time" or "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime":
                    Require(node.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(node.GetString(), System.Globalization.CultureInfo.InvariantCulture, out _), path, "must be an RFC 3339 time", problems);
                    return;
                default:
                    Check(node, Ref(name), path, problems);
                    return;
            }
        }

        var type = schema.TryGetProperty("type", out var t) ? t.GetString() : null;
        var hasProperties = schema.TryGetProperty("properties", out var properties);
        switch (type)
        {
            case null when !hasProperties:
                // Free-form (RawExtension, JSON): anything goes.
                return;
            case "object" or null:
                if (node.ValueKind != JsonValueKind.Object)
                {
                    problems.Add(new(path, $"must be an object, not {node.ValueKind}", true));
                    return;
                }

                if (hasProperties)
                {
                    foreach (var field in node.EnumerateObject())
                    {
                        if (properties.TryGetProperty(field.Name, out var fieldSchema))
                        {
                            Check(field.Value, fieldSchema, $"{path}.{field.Name}", problems);
                        }
                        else
                        {
                            problems.Add(new($"{path}.{field.Name}", "unknown field", true));
                        }
                    }
                }
                else if (schema.TryGetProperty("additionalProperties", out var values))
                {
                    foreach (var field in node.EnumerateObject())
                    {
                        Check(field.Value, values, $"{path}[{field.Name}]", problems);
                    }
                }

                if (schema.TryGetProperty("required", out var required))
                {
                    foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
                    {
                        Require(node.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null, $"{path}.{name}", "Required value", problems);
                    }
                }

                return;
            case "array":
                if (node.ValueKind != JsonValueKind.Array)
                {
                    problems.Add(new(path, $"must be an array, not {node.ValueKind}", true));
                    return;
                }

                var i = 0;
                foreach (var item in node.EnumerateArray())
                {
                    Check(item, schema.GetProperty("items"), $"{path}[{i++}]", problems);
                }

                return;
            case "string":
                Require(node.ValueKind == JsonValueKind.String, path, $"must be a string, not {node.ValueKind}", problems, decoding: true);
                if (node.ValueKind == JsonValueKind.String && schema.TryGetProperty("format", out var format) && format.GetString() == "byte")
                {
                    Require(IsBase64(node.GetString()!), path, "must be base64", problems, decoding: true);
                }

                return;
            case "integer":
                Require(IsInteger(node) && (!schema.TryGetProperty("format", out var bits) || bits.GetString() != "int32" || node.TryGetInt32(out _)), path, $"must be an integer{(schema.TryGetProperty("format", out var f) ? $" ({f.GetString()})" : string.Empty)}, not {node}", problems, decoding: true);
                return;
            case "number":
                Require(node.ValueKind == JsonValueKind.Number, path, $"must be a number, not {node.ValueKind}", problems, decoding: true);
                return;
            case "boolean":
                Require(node.ValueKind is JsonValueKind.True or JsonValueKind.False, path, $"must be a boolean, not {node.ValueKind}", problems, decoding: true);
                return;
            default:
                problems.Add(new(path, $"the schema has a type '{type}' this validator does not know", false));
                return;
        }
    }

    private static bool IsInteger(JsonElement node) => node.ValueKind == JsonValueKind.Number && node.TryGetInt64(out _);

    private static bool IsBase64(string text) => Convert.TryFromBase64String(text, new byte[text.Length], out _);

    private static void Require(bool condition, string path, string message, List<SchemaProblem> problems, bool decoding = false)
    {
        if (!condition)
        {
            problems.Add(new(path, message, decoding));
        }
    }

    [GeneratedRegex(@"^[+-]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[mkMGTPE]|[eE][+-]?\d+)?$")]
    private static partial Regex QuantityPattern();

    /// <summary>The checks the API server's validation makes beyond the schema, for the kinds the tests send or ship.</summary>
    private static partial class ApiChecks
    {
        public static void Check(JsonElement body, string kind, List<SchemaProblem> problems)
        {
            if (body.TryGetProperty("metadata", out var metadata))
            {
                Metadata(metadata, "$.metadata", problems, named: kind is not ("DeleteOptions" or ""));
            }
            else if (kind is not "DeleteOptions")
            {
                problems.Add(new("$.metadata", "Required value", false));
            }

            switch (kind)
            {
                case "Deployment" or "StatefulSet":
                    if (!body.TryGetProperty("spec", out var spec))
                    {
                        problems.Add(new("$.spec", "Required value", false));
                        break;
                    }

                    Selector(spec, problems);
                    if (spec.TryGetProperty("replicas", out var replicas))
                    {
                        Require(replicas.GetInt32() >= 0, "$.spec.replicas", "must be greater than or equal to 0", problems);
                    }

                    var template = spec.GetProperty("template");
                    if (template.TryGetProperty("metadata", out var templateMetadata))
                    {
                        Metadata(templateMetadata, "$.spec.template.metadata", problems, named: false);
                    }

                    if (template.TryGetProperty("spec", out var pod))
                    {
                        // A StatefulSet's claim templates are volumes of its pods too.
                        var claims = spec.TryGetProperty("volumeClaimTemplates", out var templates) ? templates.EnumerateArray().Select(t => t.GetProperty("metadata").GetProperty("name").GetString()!).ToList() : [];
                        PodSpec(pod, "$.spec.template.spec", claims, problems);
                        Require(!pod.TryGetProperty("restartPolicy", out var restart) || restart.GetString() == "Always", "$.spec.template.spec.restartPolicy", "Unsupported value: only \"Always\" for a Deployment or StatefulSet", problems);
                    }
                    else
                    {
                        problems.Add(new("$.spec.template.spec", "Required value", false));
                    }

                    break;
                case "Service":
                    foreach (var (port, i) in body.TryGetProperty("spec", out var service) && service.TryGetProperty("ports", out var ports) ? ports.EnumerateArray().Select((p, i) => (p, i)) : [])
                    {
                        Require(port.GetProperty("port").GetInt32() is > 0 and < 65536, $"$.spec.ports[{i}].port", "must be between 1 and 65535", problems);
                    }

                    break;
                case "DeleteOptions":
                    Require(!body.TryGetProperty("propagationPolicy", out var policy) || policy.GetString() is "Orphan" or "Background" or "Foreground", "$.propagationPolicy", "Unsupported value: must be Orphan, Background or Foreground", problems);
                    break;
            }
        }

        private static void Metadata(JsonElement metadata, string path, List<SchemaProblem> problems, bool named)
        {
            if (named)
            {
                var name = metadata.TryGetProperty("name", out var n) ? n.GetString() : null;
                Require(name is not null && KubernetesNames.IsSubdomain(name), $"{path}.name", name is null ? "Required value" : $"'{name}' is not a DNS-1123 subdomain", problems);
            }

            foreach (var field in new[] { "labels", "annotations" })
            {
                if (metadata.TryGetProperty(field, out var map) && map.ValueKind == JsonValueKind.Object)
                {
                    foreach (var entry in map.EnumerateObject())
                    {
                        Require(KubernetesNames.IsLabelKey(entry.Name), $"{path}.{field}", $"'{entry.Name}' is not a valid key", problems);
                        Require(field == "annotations" || KubernetesNames.IsLabelValue(entry.Value.GetString()!), $"{path}.{field}[{entry.Name}]", $"'{entry.Value.GetString()}' is not a valid label value", problems);
                    }
                }
            }
        }

        private static void Selector(JsonElement spec, List<SchemaProblem> problems)
        {
            var selector = spec.GetProperty("selector");
            var matchLabels = selector.TryGetProperty("matchLabels", out var m) ? m.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()) : [];
            Require(matchLabels.Count > 0 || selector.TryGetProperty("matchExpressions", out _), "$.spec.selector", "empty selector is invalid for this kind", problems);
            var labels = spec.GetProperty("template").TryGetProperty("metadata", out var meta) && meta.TryGetProperty("labels", out var l)
                ? l.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString())
                : [];
            Require(matchLabels.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value), "$.spec.template.metadata.labels", "`selector` does not match template `labels`", problems);
        }

        private static void PodSpec(JsonElement pod, string path, List<string> claims, List<SchemaProblem> problems)
        {
            var volumes = pod.TryGetProperty("volumes", out var v) ? v.EnumerateArray().Select(x => x.GetProperty("name").GetString()!).ToList() : [];
            Require(volumes.Distinct().Count() == volumes.Count, $"{path}.volumes", "Duplicate value: volume names must be unique", problems);
            foreach (var volume in volumes)
            {
                Require(KubernetesNames.IsLabel(volume), $"{path}.volumes", $"'{volume}' is not a DNS-1123 label", problems);
            }

            volumes.AddRange(claims);

            var containers = pod.TryGetProperty("containers", out var c) ? c.EnumerateArray().ToList() : [];
            Require(containers.Count > 0, $"{path}.containers", "Required value: a pod needs at least one container", problems);
            var init = pod.TryGetProperty("initContainers", out var ic) ? ic.EnumerateArray().ToList() : [];
            var names = new HashSet<string>();
            foreach (var (container, where) in init.Select((x, i) => (x, $"{path}.initContainers[{i}]")).Concat(containers.Select((x, i) => (x, $"{path}.containers[{i}]"))))
            {
                Container(container, where, volumes, names, problems);
            }
        }

        private static void Container(JsonElement container, string path, List<string> volumes, HashSet<string> names, List<SchemaProblem> problems)
        {
            var name = container.GetProperty("name").GetString()!;
            Require(KubernetesNames.IsLabel(name), $"{path}.name", $"'{name}' is not a DNS-1123 label", problems);
            Require(names.Add(name), $"{path}.name", $"Duplicate value: '{name}'", problems);
            Require(container.TryGetProperty("image", out var image) && image.GetString() is { Length: > 0 }, $"{path}.image", "Required value", problems);
            foreach (var env in container.TryGetProperty("env", out var e) ? e.EnumerateArray() : default(JsonElement.ArrayEnumerator))
            {
                var envName = env.GetProperty("name").GetString()!;
                Require(EnvName().IsMatch(envName), $"{path}.env", $"'{envName}' is not a valid environment variable name", problems);
                Require(!(env.TryGetProperty("value", out var value) && value.ValueKind != JsonValueKind.Null && env.TryGetProperty("valueFrom", out var from) && from.ValueKind != JsonValueKind.Null), $"{path}.env[{envName}]", "may not have both value and valueFrom", problems);
            }

            var ports = container.TryGetProperty("ports", out var p) ? p.EnumerateArray().ToList() : [];
            foreach (var port in ports)
            {
                Require(port.GetProperty("containerPort").GetInt32() is > 0 and < 65536, $"{path}.ports", "containerPort must be between 1 and 65535", problems);
                Require(!port.TryGetProperty("name", out var portName) || (portName.GetString()!.Length <= 15 && KubernetesNames.IsLabel(portName.GetString()!)), $"{path}.ports", "a port name must be an IANA_SVC_NAME (at most 15 characters)", problems);
            }

            foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
            {
                if (container.TryGetProperty(probe, out var spec) && spec.TryGetProperty("httpGet", out var httpGet))
                {
                    var target = httpGet.GetProperty("port");
                    Require(
                        target.ValueKind == JsonValueKind.Number ? target.GetInt32() is > 0 and < 65536 : ports.Any(x => x.TryGetProperty("name", out var n) && n.GetString() == target.GetString()),
                        $"{path}.{probe}.httpGet.port",
                        $"'{target}' is neither a port number nor the name of one of the container's ports",
                        problems);
                }
            }

            foreach (var mount in container.TryGetProperty("volumeMounts", out var m) ? m.EnumerateArray() : default(JsonElement.ArrayEnumerator))
            {
                var volume = mount.GetProperty("name").GetString()!;
                Require(volumes.Contains(volume), $"{path}.volumeMounts", $"Not found: volume '{volume}'", problems);
                Require(mount.GetProperty("mountPath").GetString()!.StartsWith('/'), $"{path}.volumeMounts", "mountPath must be absolute", problems);
            }

            if (container.TryGetProperty("resources", out var resources) && resources.TryGetProperty("limits", out var limits) && resources.TryGetProperty("requests", out var requests))
            {
                foreach (var request in requests.EnumerateObject())
                {
                    Require(
                        !limits.TryGetProperty(request.Name, out var limit) || Quantity(request.Value) <= Quantity(limit),
                        $"{path}.resources.requests[{request.Name}]",
                        "must be less than or equal to the limit",
                        problems);
                }
            }
        }

        /// <summary>A quantity's value in base units, enough to compare a request with its limit.</summary>
        private static decimal Quantity(JsonElement quantity)
        {
            var text = quantity.ValueKind == JsonValueKind.Number ? quantity.GetRawText() : quantity.GetString()!;
            var match = QuantityPattern().Match(text);
            var number = decimal.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            return match.Groups[3].Value switch
            {
                "m" => number / 1000,
                "k" => number * 1000,
                "M" => number * 1_000_000,
                "G" => number * 1_000_000_000,
                "Ki" => number * 1024,
                "Mi" => number * 1024 * 1024,
                "Gi" => number * 1024 * 1024 * 1024,
                "Ti" => number * 1024 * 1024 * 1024 * 1024,
                _ => number,
            };
        }

        [GeneratedRegex(@"^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
        private static partial Regex EnvName();
    }
}
