using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Client;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus infer NAME --input JSON</c>: one v2 inference request through the global endpoint.</summary>
internal sealed class InferCommand : Command
{
    private const int ShownValues = 16;

    public InferCommand(IInteraction interaction, GlobalOptions global)
        : base("infer", "Send a v2 inference request to a deployment through the gateway and print the answer.")
    {
        var name = new Argument<string>("name") { Description = "Deployment name." };
        var input = new Option<string>("--input", "-i") { Description = "The v2 request body as JSON, or @file to read it from a file.", Required = true };
        var version = new Option<int?>("--version") { Description = "Ask for one model version." };
        var key = new Option<string>("--key") { Description = "One of the deployment's inference keys, if it is private (else $STRATUS_KEY)." };
        Arguments.Add(name);
        Options.Add(input);
        Options.Add(version);
        Options.Add(key);
        SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var body = parse.GetValue(input)!;
            if (body.StartsWith('@'))
            {
                var path = body[1..];
                if (!File.Exists(path))
                {
                    interaction.Error($"no such file: {path}");
                    return ExitCodes.InvalidArguments;
                }

                body = await File.ReadAllTextAsync(path, cancellationToken);
            }

            using var client = new InferenceClient(session.Gateway, parse.GetValue(key) ?? Environment.GetEnvironmentVariable("STRATUS_KEY"), session.Tls?.CreateHandler());
            using var answer = await client.InferAsync(parse.GetValue(name)!, body, parse.GetValue(version), cancellationToken);
            session.Render(answer.RootElement, root => Table(session, root));
            return ExitCodes.Success;
        }, cancellationToken));
    }

    private static void Table(ClientSession session, JsonElement root)
    {
        var model = root.TryGetProperty("model_name", out var m) ? m.GetString() : "?";
        var version = root.TryGetProperty("model_version", out var v) ? v.GetString() : "?";
        session.Console.WriteLine($"{model} version {version}");
        var table = Output.Table("OUTPUT", "DATATYPE", "SHAPE", "DATA");
        foreach (var output in root.GetProperty("outputs").EnumerateArray())
        {
            var data = output.TryGetProperty("data", out var d) ? d.EnumerateArray().Select(x => x.GetRawText()).ToList() : [];
            table.Row(
                output.GetProperty("name").GetString(),
                output.GetProperty("datatype").GetString(),
                "[" + string.Join(",", output.GetProperty("shape").EnumerateArray().Select(x => x.GetRawText())) + "]",
                string.Join(" ", data.Take(ShownValues)) + (data.Count > ShownValues ? $" … ({data.Count} values)" : string.Empty));
        }

        session.Console.Write(table);
    }
}
