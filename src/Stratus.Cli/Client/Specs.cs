using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Stratus.ControlPlane.Yaml;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Stratus.Cli.Client;

/// <summary>A spec file that cannot be read as a deployment spec.</summary>
internal sealed class SpecException(string message) : Exception(message);

/// <summary>
/// Reads a deployment spec file, YAML or JSON (JSON is YAML too), into the JSON body the API takes. Only the shape
/// is checked here (a mapping with a name); the control plane judges every field, so the CLI and the API can never
/// disagree about what a valid spec is. A hostile file is refused before it is expanded: at most
/// <see cref="MaxSpecBytes"/>, no anchors or aliases, nesting bounded (<see cref="BoundedYamlParser"/>).
/// </summary>
internal static class Specs
{
    /// <summary>A spec is a few hundred bytes; its sample files are read apart and the API bounds the whole body.</summary>
    public const long MaxSpecBytes = 1024 * 1024;

    public static (string Json, string Name) Read(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > MaxSpecBytes)
        {
            throw new SpecException($"{path}: {length} bytes, more than a spec may have ({MaxSpecBytes})");
        }

        var text = File.ReadAllText(path);
        var stream = new YamlStream();
        try
        {
            stream.Load(new BoundedYamlParser(text));
        }
        catch (YamlException e)
        {
            throw new SpecException($"{path}: not valid YAML or JSON at line {e.Start.Line}, column {e.Start.Column}: {e.Message}");
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new SpecException($"{path}: a spec is one mapping (name, model, version, replicas, shape)");
        }

        var json = (JsonObject)ToJson(root)!;
        var name = json["name"]?.GetValueKind() == JsonValueKind.String ? json["name"]!.GetValue<string>() : null;
        if (string.IsNullOrEmpty(name))
        {
            throw new SpecException($"{path}: 'name' is required");
        }

        InlineSampleFiles(json, path);
        return (json.ToJsonString(), name);
    }

    /// <summary>
    /// <c>probes.samples</c> entries may name files of v2 requests (relative to the spec), as <c>@request.json</c> or a
    /// plain path: each is read into the spec (a file may hold one request or an array of them).
    /// </summary>
    private static void InlineSampleFiles(JsonObject json, string path)
    {
        if (json["probes"] is not JsonObject { } probes || probes["samples"] is not JsonArray samples)
        {
            return;
        }

        var inlined = new JsonArray();
        foreach (var sample in samples)
        {
            if (sample?.GetValueKind() != JsonValueKind.String)
            {
                inlined.Add(sample?.DeepClone());
                continue;
            }

            var file = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, sample.GetValue<string>().TrimStart('@'));
            if (!File.Exists(file))
            {
                throw new SpecException($"{path}: probes.samples names {file}, which does not exist");
            }

            try
            {
                var node = JsonNode.Parse(File.ReadAllText(file));
                foreach (var request in node is JsonArray many ? [.. many.Select(n => n?.DeepClone())] : new[] { node })
                {
                    inlined.Add(request);
                }
            }
            catch (JsonException e)
            {
                throw new SpecException($"{path}: the sample file {file} is not JSON: {e.Message}");
            }
        }

        probes["samples"] = inlined;
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(kv => new KeyValuePair<string, JsonNode?>(((YamlScalarNode)kv.Key).Value ?? string.Empty, ToJson(kv.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new SpecException($"unsupported YAML node at line {node.Start.Line}"),
    };

    /// <summary>Plain scalars are typed as YAML 1.2's core schema types them; quoted ones stay strings.</summary>
    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? string.Empty;
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return JsonValue.Create(value);
        }

        return value switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer) => JsonValue.Create(integer),
            _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) => JsonValue.Create(real),
            _ => JsonValue.Create(value),
        };
    }

    /// <summary>For tests and messages: the spec as the API will see it.</summary>
    public static JsonDocument Parse(string path) => JsonDocument.Parse(Read(path).Json);
}
