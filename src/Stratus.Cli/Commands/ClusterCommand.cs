using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Core.Api;
using Stratus.Core.Scaling;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus cluster status</c>: which control-plane server leads, and the gateways that report to the server asked.</summary>
internal sealed class ClusterCommand : Command
{
    public ClusterCommand(IInteraction interaction, GlobalOptions global)
        : base("cluster", "The control plane as a cluster: which server leads, and the gateways that report their load.")
    {
        var status = new Command("status", "Whether the server asked leads, the lease (holder, epoch, expiry), and the gateways reporting to it.");
        status.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            var cluster = new ClusterStatus(await session.Client.GetLeaderAsync(cancellationToken), await session.Client.ListGatewaysAsync(cancellationToken));
            session.Render(cluster, c => Show(session, c));
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(status);
    }

    /// <summary>What <c>cluster status</c> shows, and writes with <c>-o json</c>.</summary>
    internal sealed record ClusterStatus(LeaderStatus Leader, IReadOnlyList<GatewayStatus> Gateways);

    private static void Show(ClientSession session, ClusterStatus cluster)
    {
        var leader = cluster.Leader;
        session.Console.WriteLine($"server {leader.Server}: {(leader.Leading ? "leads" : "follows")}");
        session.Console.WriteLine(leader.Leader is null
            ? "lease: never taken"
            : $"lease: held by {leader.Leader}, epoch {leader.Epoch}, expires {leader.ExpiresAt?.ToString("O", CultureInfo.InvariantCulture)}");
        var table = Output.Table("GATEWAY", "REGION", "FRESH", "LAST REPORT", "SEQUENCE", "IN FLIGHT");
        foreach (var g in cluster.Gateways)
        {
            table.Row(g.Gateway, g.Region ?? "-", g.Fresh ? "yes" : "no", g.LastReportAt.ToString("O", CultureInfo.InvariantCulture), g.Sequence.ToString(CultureInfo.InvariantCulture), g.InFlight.ToString(CultureInfo.InvariantCulture));
        }

        session.Console.Write(table);
    }
}
