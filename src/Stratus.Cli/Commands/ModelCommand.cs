using System.CommandLine;
using Spectre.Console;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Client;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus model push/list/show</c>.</summary>
internal sealed class ModelCommand : Command
{
    public ModelCommand(IInteraction interaction, GlobalOptions global)
        : base("model", "Push models to the registry and look at them.")
    {
        var file = new Argument<FileInfo>("file") { Description = "The .onnx file." };
        var name = new Option<string>("--name") { Description = "Model name (a lower-case DNS label); defaults to the file's name." };
        var push = new Command("push", "Upload a model: validated in ONNX Runtime, stored by SHA-256, given the next version.") { file, name };
        push.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, session => PushAsync(session, parse.GetValue(file)!, parse.GetValue(name), cancellationToken), cancellationToken));
        Subcommands.Add(push);

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
    }

    private static async Task<int> PushAsync(ClientSession session, FileInfo file, string? name, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            throw new StratusApiException(System.Net.HttpStatusCode.BadRequest, "no such file", file.FullName);
        }

        name ??= Path.GetFileNameWithoutExtension(file.Name).ToLowerInvariant();
        await using var stream = file.OpenRead();
        ModelVersionInfo pushed;
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
                    var result = await session.Client.PushModelAsync(name, stream, progress, cancellationToken);
                    task.Description = $"pushed {Markup.Escape(file.Name)}";
                    return result;
                });
        }
        else
        {
            pushed = await session.Client.PushModelAsync(name, stream, null, cancellationToken);
        }

        session.Render(pushed, m =>
        {
            session.Console.WriteLine($"{m.Name} version {m.Version}  sha256 {m.Sha256}  {Bytes(m.SizeBytes)}");
            Signature(session.Console, m);
        });
        return ExitCodes.Success;
    }

    private static Action<IReadOnlyList<ModelVersionInfo>> VersionsTable(IAnsiConsole console) => versions =>
    {
        var table = Output.Table("NAME", "VERSION", "SHA256", "SIZE", "CREATED", "BY");
        foreach (var v in versions)
        {
            table.Row(v.Name, v.Version, v.Sha256[..12], Bytes(v.SizeBytes), v.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), v.CreatedBy);
        }

        console.Write(table);
    };

    private static void ShowVersion(IAnsiConsole console, ModelVersionInfo version)
    {
        VersionsTable(console)([version]);
        Signature(console, version);
    }

    private static void Signature(IAnsiConsole console, ModelVersionInfo version)
    {
        var table = Output.Table("", "TENSOR", "DATATYPE", "SHAPE");
        foreach (var input in version.Signature.Inputs)
        {
            table.Row("input", input.Name, input.DataType, "[" + string.Join(",", input.Shape) + "]");
        }

        foreach (var output in version.Signature.Outputs)
        {
            table.Row("output", output.Name, output.DataType, "[" + string.Join(",", output.Shape) + "]");
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

    /// <summary>Reports on the sending thread, in order (Progress&lt;T&gt; would post, possibly out of order).</summary>
    private sealed class InlineProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
