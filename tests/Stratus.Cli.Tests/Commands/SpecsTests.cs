using System.Globalization;
using System.Text;
using System.Text.Json;
using Stratus.Cli.Client;
using Stratus.Cli.Tests.Support;

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

    /// <summary>Nine levels of ten aliases each: a few hundred bytes that expand to 10^9 scalars if aliases are followed.</summary>
    private static string AliasBomb()
    {
        var text = new StringBuilder("name: bomb\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var i = 1; i < 10; i++)
        {
            var previous = string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10));
            text.Append(CultureInfo.InvariantCulture, $"a{i}: &a{i} [{previous}]\n");
        }

        return text.ToString();
    }

    [Fact]
    public void Read_AliasBomb_IsRefusedBeforeItExpands()
    {
        File.WriteAllText(_file, AliasBomb());
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var error = Assert.Throws<SpecException>(() => Specs.Read(_file));

        Assert.Contains("not valid YAML or JSON at line 2", error.Message, StringComparison.Ordinal);
        Assert.Contains("anchors are not allowed (&a0)", error.Message, StringComparison.Ordinal);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 16 * 1024 * 1024, "the refusal allocated more than 16 MiB");
    }

    [Theory]
    [InlineData("name: risk\nmodel: *m\n", "aliases are not allowed (*m)")]
    [InlineData("name: &n risk\n", "anchors are not allowed (&n)")]
    public void Read_AnchorOrAlias_IsRefused(string text, string expected)
    {
        File.WriteAllText(_file, text);

        Assert.Contains(expected, Assert.Throws<SpecException>(() => Specs.Read(_file)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(20_000, true)]
    [InlineData(20_000, false)]
    public void Read_DeepNesting_IsRefusedWithoutOverflowingTheStack(int depth, bool flow)
    {
        // Flow style ([[[...]]]) and block style (compact nested sequences, "- - - v") are parsed apart.
        var text = flow
            ? "name: deep\nx: " + new string('[', depth) + new string(']', depth) + "\n"
            : "name: deep\nx:\n" + string.Concat(Enumerable.Repeat("- ", depth)) + "v\n";
        File.WriteAllText(_file, text);

        var error = Assert.Throws<SpecException>(() => Specs.Read(_file));

        Assert.Contains("nested deeper than 64 levels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NestingWithinTheLimit_IsRead()
    {
        var spec = Read("name: deep\nx: " + new string('[', 60) + "1" + new string(']', 60) + "\n");

        var node = spec.GetProperty("x");
        for (var i = 1; i < 60; i++)
        {
            node = Assert.Single(node.EnumerateArray().ToList());
        }

        Assert.Equal(1, Assert.Single(node.EnumerateArray().ToList()).GetInt32());
    }

    [Fact]
    public void Read_FileOverTheSizeLimit_IsRefusedUnread()
    {
        File.WriteAllText(_file, "name: big\npad: \"" + new string('x', (int)Specs.MaxSpecBytes) + "\"\n");

        var error = Assert.Throws<SpecException>(() => Specs.Read(_file));

        Assert.Contains($"more than a spec may have ({Specs.MaxSpecBytes})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_HostileSpec_ExitsWithInvalidArgumentsBeforeCallingTheServer()
    {
        File.WriteAllText(_file, AliasBomb());

        // The server address is closed: a spec read that got as far as calling it would exit Unreachable instead.
        var (exit, output) = await CliRunner.RunAsync("apply", "-f", _file, "--server", "http://127.0.0.1:1/", "--token", "x", "--config", _file + ".config.json");

        Assert.Equal(ExitCodes.InvalidArguments, exit);
        Assert.Contains("anchors are not allowed", Assert.Single(output.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void ToYaml_QuotesStringsThatWouldReadBackAsOtherTypes()
    {
        using var document = JsonDocument.Parse("""{"id":"123","flag":"true","empty":"","name":"risk","count":3,"none":null,"list":[1,"a"]}""");

        var yaml = Output.ToYaml(document.RootElement);

        Assert.Equal("id: \"123\"\nflag: \"true\"\nempty: \"\"\nname: risk\ncount: 3\nnone: null\nlist:\n- 1\n- a\n", yaml.Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
