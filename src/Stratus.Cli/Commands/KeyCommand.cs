using System.CommandLine;
using System.Globalization;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus key create/list/revoke</c>: inference keys of private deployments.</summary>
internal sealed class KeyCommand : Command
{
    public KeyCommand(IInteraction interaction, GlobalOptions global)
        : base("key", "Inference keys: callers of a private deployment send one to the gateway as 'Authorization: Bearer sk_...'.")
    {
        var createFor = new Argument<string>("deployment");
        var description = new Option<string>("--description") { Description = "Who or what the key is for." };
        var create = new Command("create", "Create a key; it is shown this once.") { createFor, description };
        create.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.CreateKeyAsync(parse.GetValue(createFor)!, parse.GetValue(description), cancellationToken), key =>
            {
                interaction.Line($"created key {key.Id} for {key.Deployment}; this is the only time it is shown:");
                interaction.Line(key.Key);
            });
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(create);

        var listFor = new Argument<string>("deployment");
        var list = new Command("list", "A deployment's keys (never the keys themselves).") { listFor };
        list.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.ListKeysAsync(parse.GetValue(listFor)!, cancellationToken), keys =>
            {
                var table = Output.Table("ID", "DEPLOYMENT", "DESCRIPTION", "CREATED", "REVOKED");
                foreach (var k in keys)
                {
                    table.Row(k.Id, k.Deployment, k.Description, k.CreatedAt.ToString("u", CultureInfo.InvariantCulture), k.RevokedAt?.ToString("u", CultureInfo.InvariantCulture));
                }

                session.Console.Write(table);
            });
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(list);

        var revokeFor = new Argument<string>("deployment");
        var id = new Argument<string>("id");
        var revoke = new Command("revoke", "Revoke a key: gateways refuse it within a second.") { revokeFor, id };
        revoke.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            await session.Client.RevokeKeyAsync(parse.GetValue(revokeFor)!, parse.GetValue(id)!, cancellationToken);
            interaction.Line($"revoked {parse.GetValue(id)}");
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(revoke);
    }
}
