using System.Text.Json;
using Spectre.Console;
using Stratus.Client;
using YamlDotNet.RepresentationModel;

namespace Stratus.Cli.Client;

/// <summary>How client verbs print results: a table for people, JSON or YAML (the API's own schema) for scripts.</summary>
internal enum OutputFormat
{
    Table,
    Json,
    Yaml,
}

internal static class Output
{
    private static readonly JsonSerializerOptions Indented = new(StratusClient.Json) { WriteIndented = true };

    /// <summary>Prints <paramref name="value"/> as JSON or YAML, or hands it to <paramref name="table"/> for the table form.</summary>
    public static void Render<T>(IAnsiConsole console, OutputFormat format, T value, Action<T> table)
    {
        switch (format)
        {
            case OutputFormat.Json:
                console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, Indented));
                break;
            case OutputFormat.Yaml:
                console.Profile.Out.Writer.Write(ToYaml(JsonSerializer.SerializeToElement(value, StratusClient.Json)));
                break;
            default:
                table(value);
                break;
        }
    }

    /// <summary>
    /// Runs work under a spinner on a terminal; elsewhere (a pipe, a file, a CI log) prints the status once as a plain
    /// line, so no live rendering ever competes with the output.
    /// </summary>
    public static async Task<T> WhileAsync<T>(this IAnsiConsole console, string status, Func<Task<T>> work)
    {
        if (!console.Profile.Capabilities.Interactive || console.Profile.Out.Writer != System.Console.Out)
        {
            console.Profile.Out.Writer.WriteLine(status);
            return await work();
        }

        return await console.Status().StartAsync(Markup.Escape(status), _ => work());
    }

    public static Table Table(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(Markup.Escape(column)).NoWrap());
        }

        return table;
    }

    /// <summary>Adds a row of plain text (never read as markup), "-" for null.</summary>
    public static void Row(this Table table, params object?[] cells) =>
        table.AddRow([.. cells.Select(c => new Text(c switch
        {
            null => "-",
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => c.ToString() ?? "-",
        }))]);

    /// <summary>YAML of the same document the JSON form prints, so both carry exactly the same fields.</summary>
    public static string ToYaml(JsonElement element)
    {
        var stream = new YamlStream(new YamlDocument(ToNode(element)));
        using var writer = new StringWriter();
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static YamlNode ToNode(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => new YamlMappingNode(element.EnumerateObject().Select(p => new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(p.Name), ToNode(p.Value)))),
        JsonValueKind.Array => new YamlSequenceNode(element.EnumerateArray().Select(ToNode)),
        JsonValueKind.String => new YamlScalarNode(element.GetString()) { Style = NeedsQuotes(element.GetString()!) ? YamlDotNet.Core.ScalarStyle.DoubleQuoted : YamlDotNet.Core.ScalarStyle.Any },
        JsonValueKind.Null => new YamlScalarNode("null"),
        _ => new YamlScalarNode(element.GetRawText()),
    };

    /// <summary>A string that plain YAML would read back as something else (a number, a boolean, null, empty).</summary>
    private static bool NeedsQuotes(string value) =>
        value.Length == 0 || value is "null" or "~" or "true" or "false" or "yes" or "no" || double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out _);
}
