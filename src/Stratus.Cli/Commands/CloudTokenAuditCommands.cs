using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Core.Clouds;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus cloud list/outage/restore</c>.</summary>
internal sealed class CloudCommand : Command
{
    public CloudCommand(IInteraction interaction, GlobalOptions global)
        : base("cloud", "Clouds: regions, capacity, prices, replicas; emulated outages and refusals of local and docker clouds.")
    {
        var list = new Command("list", "Every cloud with its region, jurisdiction, capacity, prices, replicas and state.");
        list.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.ListCloudsAsync(cancellationToken), clouds => Table(session, clouds));
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(list);

        foreach (var (verb, description, outage) in new[]
        {
            ("outage", "Take a local or docker cloud down: its replicas (processes, containers) die at once and launches are refused until restored.", true),
            ("restore", "End a local or docker cloud's emulated outage.", false),
        })
        {
            var name = new Argument<string>("name") { Description = "Cloud name." };
            var command = new Command(verb, description) { name };
            command.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
            {
                var cloud = outage
                    ? await session.Client.OutageAsync(parse.GetValue(name)!, cancellationToken)
                    : await session.Client.RestoreAsync(parse.GetValue(name)!, cancellationToken);
                session.Render(cloud, c => Table(session, [c]));
                return ExitCodes.Success;
            }, cancellationToken));
            Subcommands.Add(command);
        }

        Subcommands.Add(Refuse(interaction, global));
        Subcommands.Add(Accept(interaction, global));
        Subcommands.Add(Fault(interaction, global));
    }

    private static Command Fault(IInteraction interaction, GlobalOptions global)
    {
        var name = new Argument<string>("name") { Description = "Cloud name." };
        var deployment = new Option<string>("--deployment") { Description = "The deployment whose replicas in this cloud meet the fault." };
        var version = new Option<int?>("--version") { Description = "Only its replicas of this model version." };
        var rate = new Option<double>("--error-rate") { Description = "Share of inference requests they fail with 500 (0 ends the fault).", DefaultValueFactory = _ => 1 };
        var clear = new Option<bool>("--clear") { Description = "End every emulated fault of the cloud." };
        var command = new Command("fault", "Emulate a fault of a local or docker cloud that only one deployment's version meets: its replicas there fail a share of requests.") { name, deployment, version, rate, clear };
        command.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            if (parse.GetValue(clear))
            {
                session.Render(await session.Client.ClearFaultsAsync(parse.GetValue(name)!, cancellationToken), c => Table(session, [c]));
                return ExitCodes.Success;
            }

            if (parse.GetValue(deployment) is not { } target || parse.GetValue(version) is not { } v)
            {
                interaction.Error("give --deployment and --version (or --clear)");
                return ExitCodes.InvalidArguments;
            }

            session.Render(await session.Client.FaultAsync(parse.GetValue(name)!, target, v, parse.GetValue(rate), cancellationToken), c => Table(session, [c]));
            return ExitCodes.Success;
        }, cancellationToken));
        return command;
    }

    private static Command Refuse(IInteraction interaction, GlobalOptions global)
    {
        var name = new Argument<string>("name") { Description = "Cloud name." };
        var shape = new Option<string>("--shape") { Description = "Refuse only this shape (default: every shape)." };
        var scope = new Option<string>("--scope") { Description = "How far the refusal reaches: shape, region or cloud.", DefaultValueFactory = _ => "shape" };
        var command = new Command("refuse", "Make a local or docker cloud refuse launches, as one out of capacity or quota would; running replicas stay.") { name, shape, scope };
        command.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var cloud = await session.Client.RefuseAsync(parse.GetValue(name)!, parse.GetValue(shape), parse.GetValue(scope)!, cancellationToken);
            session.Render(cloud, c => Table(session, [c]));
            return ExitCodes.Success;
        }, cancellationToken));
        return command;
    }

    private static Command Accept(IInteraction interaction, GlobalOptions global)
    {
        var name = new Argument<string>("name") { Description = "Cloud name." };
        var command = new Command("accept", "Let a local or docker cloud accept launches again.") { name };
        command.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var cloud = await session.Client.AcceptAsync(parse.GetValue(name)!, cancellationToken);
            session.Render(cloud, c => Table(session, [c]));
            return ExitCodes.Success;
        }, cancellationToken));
        return command;
    }

    private static void Table(ClientSession session, IReadOnlyList<CloudStatus> clouds)
    {
        var table = Output.Table("CLOUD", "REGION", "JURISDICTION", "STATE", "REPLICAS", "CAPACITY", "$/HOUR ON-DEMAND (SPOT)", "LATENCY");
        foreach (var c in clouds)
        {
            table.Row(
                c.Name,
                c.Region,
                c.Jurisdiction,
                c.Refusing is null ? c.State : $"{c.State}, refusing {c.Refusing}",
                $"{c.ReadyReplicas} ready / {c.Replicas}",
                string.Join(", ", c.Capacity.Select(kv => $"{kv.Key} {kv.Value}")),
                string.Join(", ", c.Prices.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value.OnDemandPerHour:0.000} ({kv.Value.SpotPerHour:0.000})"))),
                $"{c.LatencyMs} ms");
        }

        session.Console.Write(table);
        foreach (var c in clouds)
        {
            foreach (var block in c.Blocked)
            {
                session.Console.WriteLine($"{c.Name}: {block}");
            }

            foreach (var fault in c.Faults)
            {
                session.Console.WriteLine($"{c.Name}: emulated fault: {fault}");
            }
        }
    }
}

/// <summary><c>stratus token create/list/revoke</c>.</summary>
internal sealed class TokenCommand : Command
{
    public TokenCommand(IInteraction interaction, GlobalOptions global)
        : base("token", "API tokens and their roles (admin, deployer, viewer).")
    {
        var role = new Option<string>("--role") { Description = "admin, deployer or viewer.", Required = true };
        var description = new Option<string>("--description") { Description = "What the token is for." };
        var create = new Command("create", "Create a token; its secret is shown this once.") { role, description };
        create.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.CreateTokenAsync(parse.GetValue(role)!, parse.GetValue(description), cancellationToken), token =>
            {
                interaction.Line($"created {token.Role} token {token.Id}; this is the only time its secret is shown:");
                interaction.Line(token.Token);
            });
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(create);

        var list = new Command("list", "Tokens (never their secrets).");
        list.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.ListTokensAsync(cancellationToken), tokens =>
            {
                var table = Output.Table("ID", "ROLE", "DESCRIPTION", "CREATED", "REVOKED");
                foreach (var t in tokens)
                {
                    table.Row(t.Id, t.Role, t.Description, t.CreatedAt.ToString("u", CultureInfo.InvariantCulture), t.RevokedAt?.ToString("u", CultureInfo.InvariantCulture));
                }

                session.Console.Write(table);
            });
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(list);

        var id = new Argument<string>("id") { Description = "The token's id (from 'token list')." };
        var revoke = new Command("revoke", "Revoke a token: it stops working at once.") { id };
        revoke.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            await session.Client.RevokeTokenAsync(parse.GetValue(id)!, cancellationToken);
            interaction.Line($"revoked {parse.GetValue(id)}");
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(revoke);
    }
}

/// <summary><c>stratus audit list/verify</c>.</summary>
internal sealed class AuditCommand : Command
{
    public AuditCommand(IInteraction interaction, GlobalOptions global)
        : base("audit", "The hash-chained audit log of every change.")
    {
        var after = new Option<long>("--after") { Description = "Only entries after this sequence number." };
        var list = new Command("list", "Audit entries: who changed what, when, before and after.") { after };
        list.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.ListAuditAsync(parse.GetValue(after), cancellationToken), entries =>
            {
                var table = Output.Table("SEQ", "AT", "ACTOR", "ACTION", "TARGET");
                foreach (var e in entries)
                {
                    table.Row(e.Sequence, e.At.ToString("u", CultureInfo.InvariantCulture), e.Actor, e.Action, e.Target);
                }

                session.Console.Write(table);
            });
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(list);

        var verify = new Command("verify", "Walk the hash chain; exits 1 and names the first bad entry if any was edited or deleted.");
        verify.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var result = await session.Client.VerifyAuditAsync(cancellationToken);
            session.Render(result, r => interaction.Line(r.Intact
                ? $"intact: {r.Entries} entries, head {Convert.ToHexStringLower(r.HeadHash)}"
                : $"BROKEN at entry {r.FirstBadSequence}: {r.Reason}"));
            return result.Intact ? ExitCodes.Success : ExitCodes.Failure;
        }, cancellationToken));
        Subcommands.Add(verify);
    }
}
