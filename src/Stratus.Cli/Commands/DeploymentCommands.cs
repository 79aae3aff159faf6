using System.CommandLine;
using Spectre.Console;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Client;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus deploy NAME</c>: create or update a deployment from flags.</summary>
internal sealed class DeployCommand : Command
{
    public DeployCommand(IInteraction interaction, GlobalOptions global)
        : base("deploy", "Create or update a deployment and wait until its replicas are ready.")
    {
        var name = new Argument<string>("name") { Description = "Deployment name; also the model's unless --model says otherwise." };
        var model = new Option<string>("--model") { Description = "Model to serve (default: the deployment's name)." };
        var version = new Option<int?>("--version") { Description = "Model version (default: the latest)." };
        var replicas = new Option<int>("--replicas") { Description = "How many replicas.", DefaultValueFactory = _ => 1 };
        var shape = new Option<string>("--shape") { Description = "Replica shape, as clouds.yaml names them (default cpu-small)." };
        var waiting = WaitOptions.Create();
        Arguments.Add(name);
        Options.Add(model);
        Options.Add(version);
        Options.Add(replicas);
        Options.Add(shape);
        waiting.AddTo(this);
        SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var deployment = await session.Client.DeployAsync(parse.GetValue(name)!, parse.GetValue(model) ?? parse.GetValue(name)!, parse.GetValue(version), parse.GetValue(replicas), parse.GetValue(shape), cancellationToken);
            return await waiting.AfterChangeAsync(parse, session, deployment, cancellationToken);
        }, cancellationToken));
    }
}

/// <summary><c>stratus apply -f spec.yaml</c>: a deployment spec in YAML or JSON, the API's own schema.</summary>
internal sealed class ApplyCommand : Command
{
    public ApplyCommand(IInteraction interaction, GlobalOptions global)
        : base("apply", "Create or update a deployment from a spec file (YAML or JSON: name, model, version, replicas, shape).")
    {
        var file = new Option<FileInfo>("--file", "-f") { Description = "The spec file.", Required = true };
        var waiting = WaitOptions.Create();
        Options.Add(file);
        waiting.AddTo(this);
        SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var path = parse.GetValue(file)!;
            string json;
            string name;
            try
            {
                (json, name) = Specs.Read(path.FullName);
            }
            catch (Exception e) when (e is SpecException or IOException)
            {
                interaction.Error(e.Message);
                return ExitCodes.InvalidArguments;
            }

            var deployment = await session.Client.ApplyAsync(name, json, cancellationToken);
            return await waiting.AfterChangeAsync(parse, session, deployment, cancellationToken);
        }, cancellationToken));
    }
}

/// <summary><c>stratus deployment list/get/scale/delete</c>.</summary>
internal sealed class DeploymentCommand : Command
{
    public DeploymentCommand(IInteraction interaction, GlobalOptions global)
        : base("deployment", "List, inspect, scale and delete deployments.")
    {
        var list = new Command("list", "Deployments with their ready replicas and clouds.");
        list.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.ListDeploymentsAsync(cancellationToken), deployments =>
            {
                var table = Output.Table("NAME", "MODEL", "VERSION", "READY", "SHAPE", "CLOUDS");
                foreach (var d in deployments)
                {
                    table.Row(
                        d.Deployment.Name,
                        d.Deployment.Model,
                        d.Deployment.ModelVersion,
                        $"{d.ReadyReplicas}/{d.Deployment.Replicas}",
                        d.Deployment.Shape,
                        string.Join(", ", d.Replicas.Where(r => r.State == "ready").GroupBy(r => r.Cloud).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} ({g.Count()})")));
                }

                session.Console.Write(table);
            });
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(list);

        var getName = new Argument<string>("name");
        var get = new Command("get", "One deployment and each replica's state (pending, starting, ready, draining, failed with its reason).") { getName };
        get.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.GetDeploymentAsync(parse.GetValue(getName)!, cancellationToken), status => Show(session.Console, status));
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(get);

        var scaleName = new Argument<string>("name");
        var replicas = new Option<int>("--replicas") { Description = "The new replica count.", Required = true };
        var waiting = WaitOptions.Create();
        var scale = new Command("scale", "Set a deployment's replica count.") { scaleName, replicas };
        waiting.AddTo(scale);
        scale.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var deployment = await session.Client.ScaleAsync(parse.GetValue(scaleName)!, parse.GetValue(replicas), cancellationToken);
            return await waiting.AfterChangeAsync(parse, session, deployment, cancellationToken);
        }, cancellationToken));
        Subcommands.Add(scale);

        var deleteName = new Argument<string>("name");
        var delete = new Command("delete", "Delete a deployment: its replicas leave the route table, drain, and stop.") { deleteName };
        delete.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            await session.Client.DeleteDeploymentAsync(parse.GetValue(deleteName)!, cancellationToken);
            interaction.Line($"deleted {parse.GetValue(deleteName)}; its replicas drain and stop");
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(delete);
    }

    internal static void Show(IAnsiConsole console, DeploymentStatusInfo status)
    {
        var d = status.Deployment;
        console.WriteLine($"{d.Name}: model {d.Model} version {d.ModelVersion}, {status.ReadyReplicas}/{d.Replicas} ready, shape {d.Shape}");
        var table = Output.Table("REPLICA", "CLOUD", "STATE", "ENDPOINT", "REASON");
        foreach (var r in status.Replicas)
        {
            table.Row(r.Id, r.Cloud, r.State, r.Endpoint, r.Reason);
        }

        console.Write(table);
    }
}

/// <summary>--no-wait and --timeout, and what a changing verb does after the change.</summary>
internal sealed record WaitOptions(Option<bool> NoWait, Option<int> TimeoutSeconds)
{
    public static WaitOptions Create() => new(
        new Option<bool>("--no-wait") { Description = "Return once the change is stored, without waiting for ready replicas." },
        new Option<int>("--timeout") { Description = "Seconds to wait for ready replicas.", DefaultValueFactory = _ => 120 });

    public void AddTo(Command command)
    {
        command.Options.Add(NoWait);
        command.Options.Add(TimeoutSeconds);
    }

    public async Task<int> AfterChangeAsync(ParseResult parse, ClientSession session, DeploymentInfo deployment, CancellationToken cancellationToken)
    {
        if (!parse.GetValue(NoWait))
        {
            var timeout = TimeSpan.FromSeconds(parse.GetValue(TimeoutSeconds));
            if (session.Format == OutputFormat.Table)
            {
                await session.Console.WhileAsync(
                    $"waiting for {deployment.Replicas} ready replica(s) of {deployment.Name}",
                    () => session.Client.WaitForReadyAsync(deployment.Name, deployment.Replicas, timeout, cancellationToken));
            }
            else
            {
                await session.Client.WaitForReadyAsync(deployment.Name, deployment.Replicas, timeout, cancellationToken);
            }
        }

        var status = await session.Client.GetDeploymentAsync(deployment.Name, cancellationToken);
        session.Render(status, s => DeploymentCommand.Show(session.Console, s));
        return ExitCodes.Success;
    }
}
