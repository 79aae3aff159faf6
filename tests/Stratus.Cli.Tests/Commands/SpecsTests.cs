using System.Text.Json;
using Stratus.Cli.Client;

namespace Stratus.Cli.Tests.Commands;

/// <summary>Spec files (YAML or JSON) into the API's JSON, and JSON answers into YAML.</summary>
public sealed class SpecsTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"spec-{Guid.NewGuid():N}.yaml");

    public void Dispose() => File.Delete(_file);

    private JsonElement Read(string text)
    {
        File.WriteAllText(_file, text);
        return Specs.Parse(_file).RootElement.Clone();
    }

    [Fact]
    public void Read_Yaml_TypesPlainScalarsAndKeepsQuotedOnesAsStrings()
    {
        var spec = Read("name: risk\nmodel: credit-risk\nversion: 2\nreplicas: '3'\nweight: 0.5\npublic: true\nshape: ~\n");

        Assert.Equal("risk", spec.GetProperty("name").GetString());
        Assert.Equal(2, spec.GetProperty("version").GetInt32());
        Assert.Equal(JsonValueKind.String, spec.GetProperty("replicas").ValueKind);
        Assert.Equal(0.5, spec.GetProperty("weight").GetDouble());
        Assert.True(spec.GetProperty("public").GetBoolean());
        Assert.Equal(JsonValueKind.Null, spec.GetProperty("shape").ValueKind);
    }

    [Fact]
    public void Read_Json_IsYamlToo()
    {
        var spec = Read("""{"name": "risk", "model": "credit-risk", "replicas": 1}""");

        Assert.Equal(1, spec.GetProperty("replicas").GetInt32());
    }

    [Theory]
    [InlineData("model: credit-risk\n", "'name' is required")]
    [InlineData("- name: risk\n", "a spec is one mapping")]
    [InlineData("name: risk\n---\nname: other\n", "a spec is one mapping")]
    [InlineData("name: [risk\n", "not valid YAML or JSON at line")]
    public void Read_NotASpec_SaysWhy(string text, string expected)
    {
        File.WriteAllText(_file, text);

        var error = Assert.Throws<SpecException>(() => Specs.Read(_file));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToYaml_QuotesStringsThatWouldReadBackAsOtherTypes()
    {
        using var document = JsonDocument.Parse("""{"id":"123","flag":"true","empty":"","name":"risk","count":3,"none":null,"list":[1,"a"]}""");

        var yaml = Output.ToYaml(document.RootElement);

        Assert.Equal("id: \"123\"\nflag: \"true\"\nempty: \"\"\nname: risk\ncount: 3\nnone: null\nlist:\n- 1\n- a\n", yaml.Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
