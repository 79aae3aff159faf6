using System.CommandLine;
using Spectre.Console;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Client;
using Stratus.ControlPlane.Registry;
using Stratus.Core.Models;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus model push/pull/list/show</c>.</summary>
internal sealed class ModelCommand : Command
{
    public ModelCommand(IInteraction interaction, GlobalOptions global)
        : base("model", "Push models to the registry and look at them.")
    {
        var file = new Argument<FileInfo>("file") { Description = "The .onnx file." };
        var name = new Option<string>("--name") { Description = "Model name (a lower-case DNS label); defaults to the file's name." };
        var samples = new Option<FileInfo[]>("--sample") { Description = "A real v2 inference request (JSON) stored with the version as its probe set; repeatable." };
        var push = new Command("push", "Upload a model: validated in ONNX Runtime, stored by SHA-256, given the next version.") { file, name, samples };
        push.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session => await PushAsync(session, parse.GetValue(file)!, parse.GetValue(name), await ReadSamplesAsync(parse.GetValue(samples) ?? [], cancellationToken), cancellationToken), cancellationToken));
        Subcommands.Add(push);

        var sampleName = new Argument<string>("name") { Description = "Model name." };
        var sampleVersion = new Argument<int>("version") { Description = "Model version." };
        var sampleFiles = new Argument<FileInfo[]>("files") { Description = "v2 inference requests (JSON), one per file; a file may also hold an array of them." };
        var addSamples = new Command("add", "Add sample requests to a model version: its probe set, checked against its signature.") { sampleName, sampleVersion, sampleFiles };
        addSamples.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var added = await session.Client.AddSamplesAsync(parse.GetValue(sampleName)!, parse.GetValue(sampleVersion), await ReadSamplesAsync(parse.GetValue(sampleFiles) ?? [], cancellationToken), cancellationToken);
            session.Render(added, m => session.Console.WriteLine($"{m.Name} version {m.Version} has {m.Samples} sample(s)"));
            return ExitCodes.Success;
        }, cancellationToken));
        var listName = new Argument<string>("name") { Description = "Model name." };
        var listVersion = new Argument<int>("version") { Description = "Model version." };
        var listSamples = new Command("list", "A model version's sample requests: where each came from and its inputs.") { listName, listVersion };
        listSamples.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.ListSamplesAsync(parse.GetValue(listName)!, parse.GetValue(listVersion), cancellationToken), list =>
            {
                var table = Output.Table("#", "SOURCE", "SHA256", "CREATED", "INPUTS");
                foreach (var sample in list)
                {
                    var inputs = sample.Request.TryGetProperty("inputs", out var i) ? string.Join(", ", i.EnumerateArray().Select(t => $"{t.GetProperty("name").GetString()} {t.GetProperty("datatype").GetString()} [{string.Join(",", t.GetProperty("shape").EnumerateArray())}]")) : string.Empty;
                    table.Row(sample.Seq, sample.Source, sample.Sha256[..12], sample.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), inputs);
                }

                session.Console.Write(table);
            });
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(new Command("sample", "Sample requests of a model version: the probe set of the consistency check.") { addSamples, listSamples });

        var pulled = new Argument<string>("name") { Description = "Model name." };
        var pullVersion = new Option<int>("--version") { Description = "The version to fetch.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Where to write the .onnx file (replaced only once the download is verified).", Required = true };
        var expected = new Option<string>("--sha256") { Description = "Refuse the download unless its SHA-256 is this one (lower-case hex), besides the registry's own." };
        var pull = new Command("pull", "Download a model version, verified by SHA-256; a mismatch fails and leaves no file.") { pulled, pullVersion, output, expected };
        pull.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var target = parse.GetValue(output)!;
            try
            {
                var sha256 = await session.Client.PullModelAsync(parse.GetValue(pulled)!, parse.GetValue(pullVersion), target.FullName, parse.GetValue(expected), cancellationToken);
                session.Render(new PulledModel(parse.GetValue(pulled)!, parse.GetValue(pullVersion), target.FullName, sha256), p => session.Console.WriteLine($"{p.Name} version {p.Version}  sha256 {p.Sha256}  -> {p.Path}"));
                return ExitCodes.Success;
            }
            catch (InvalidDataException e)
            {
                interaction.Error(e.Message);
                return ExitCodes.Failure;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                interaction.Error($"cannot write {target.FullName}: {e.Message}");
                return ExitCodes.Failure;
            }
        }, cancellationToken));
        Subcommands.Add(pull);

        var list = new Command("list", "Every model version in the registry.");
        list.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.ListModelsAsync(cancellationToken), VersionsTable(session.Console));
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(list);

        var shown = new Argument<string>("name") { Description = "Model name." };
        var version = new Option<int?>("--version") { Description = "One version (default: every version, and the latest's signature)." };
        var show = new Command("show", "A model's versions and signature.") { shown, version };
        show.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            if (parse.GetValue(version) is { } v)
            {
                session.Render(await session.Client.GetModelVersionAsync(parse.GetValue(shown)!, v, cancellationToken), m => ShowVersion(session.Console, m));
            }
            else
            {
                session.Render(await session.Client.GetModelAsync(parse.GetValue(shown)!, cancellationToken), versions =>
                {
                    VersionsTable(session.Console)(versions);
                    Signature(session.Console, versions[^1]);
                });
            }

            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(show);
        Subcommands.Add(Inspect(interaction));
    }

    /// <summary>
    /// <c>stratus model inspect --json FILE</c>, hidden: what the control plane runs in a child process to validate a
    /// pushed model with memory and time limits (<see cref="ModelInspection"/>); one JSON object on its output.
    /// </summary>
    private static Command Inspect(IInteraction interaction)
    {
        var file = new Argument<FileInfo>("file") { Description = "The .onnx file." };
        var json = new Option<bool>("--json") { Description = "Write the signature, or why the model cannot be served, as JSON (the only form).", Required = true };
        var memoryLimit = new Option<long?>("--memory-limit-bytes") { Description = "Cap this process's private writable memory (RLIMIT_DATA) before loading." };
        var inspect = new Command("inspect", "Load a model in ONNX Runtime and write its signature as JSON.") { file, json, memoryLimit };
        inspect.Hidden = true;
        inspect.SetAction(parse =>
        {
            using var output = new StringWriter();
            var code = ModelInspection.Run(parse.GetValue(file)!.FullName, parse.GetValue(memoryLimit), output);
            interaction.Line(output.ToString());
            return code;
        });
        return inspect;
    }

    /// <summary>Each file as sample request bodies: one request, or an array of them.</summary>
    private static async Task<IReadOnlyList<string>> ReadSamplesAsync(IReadOnlyList<FileInfo> files, CancellationToken cancellationToken)
    {
        var samples = new List<string>();
        foreach (var file in files)
        {
            if (!file.Exists)
            {
                throw new StratusApiException(System.Net.HttpStatusCode.BadRequest, "no such file", file.FullName);
            }

            var text = await File.ReadAllTextAsync(file.FullName, cancellationToken);
            try
            {
                using var document = System.Text.Json.JsonDocument.Parse(text);
                samples.AddRange(document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Array ? document.RootElement.EnumerateArray().Select(e => e.GetRawText()) : [text]);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new StratusApiException(System.Net.HttpStatusCode.BadRequest, "sample is not JSON", $"{file.FullName}: {e.Message}");
            }
        }

        return samples;
    }

    private static async Task<int> PushAsync(ClientSession session, FileInfo file, string? name, IReadOnlyList<string> samples, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            throw new StratusApiException(System.Net.HttpStatusCode.BadRequest, "no such file", file.FullName);
        }

        name ??= Path.GetFileNameWithoutExtension(file.Name).ToLowerInvariant();
        await using var stream = file.OpenRead();
        ModelVersion pushed;
        if (session.Format == OutputFormat.Table && session.Console.Profile.Capabilities.Interactive)
        {
            pushed = await session.Console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask($"push {Markup.Escape(file.Name)}", maxValue: Math.Max(1, file.Length));
                    var progress = new InlineProgress(sent =>
                    {
                        task.Value = sent;
                        if (sent >= file.Length)
                        {
                            task.Description = "validating in ONNX Runtime";
                        }
                    });
                    var result = await session.Client.PushModelAsync(name, stream, samples, progress, cancellationToken);
                    task.Description = $"pushed {Markup.Escape(file.Name)}";
                    return result;
                });
        }
        else
        {
            pushed = await session.Client.PushModelAsync(name, stream, samples, null, cancellationToken);
        }

        session.Render(pushed, m =>
        {
            session.Console.WriteLine($"{m.Name} version {m.Version}  sha256 {m.Sha256}  {Bytes(m.SizeBytes)}{(m.Samples > 0 ? $"  {m.Samples} sample(s)" : string.Empty)}");
            Signature(session.Console, m);
        });
        return ExitCodes.Success;
    }

    private static Action<IReadOnlyList<ModelVersion>> VersionsTable(IAnsiConsole console) => versions =>
    {
        var table = Output.Table("NAME", "VERSION", "SHA256", "SIZE", "SAMPLES", "CREATED", "BY");
        foreach (var v in versions)
        {
            table.Row(v.Name, v.Version, v.Sha256[..12], Bytes(v.SizeBytes), v.Samples, v.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), v.CreatedBy);
        }

        console.Write(table);
    };

    private static void ShowVersion(IAnsiConsole console, ModelVersion version)
    {
        VersionsTable(console)([version]);
        Signature(console, version);
    }

    private static void Signature(IAnsiConsole console, ModelVersion version)
    {
        var table = Output.Table("", "TENSOR", "DATATYPE", "SHAPE");
        foreach (var input in version.Signature.Inputs)
        {
            table.Row("input", input.Name, input.DataType.ToWireName(), "[" + string.Join(",", input.Shape) + "]");
        }

        foreach (var output in version.Signature.Outputs)
        {
            table.Row("output", output.Name, output.DataType.ToWireName(), "[" + string.Join(",", output.Shape) + "]");
        }

        console.Write(table);
    }

    internal static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.0} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.00} GiB",
    };

    /// <summary>What <c>model pull</c> wrote, for <c>--output json</c>.</summary>
    private sealed record PulledModel(string Name, int Version, string Path, string Sha256);

    /// <summary>Reports on the sending thread, in order (Progress&lt;T&gt; would post, possibly out of order).</summary>
    private sealed class InlineProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
