using System.CommandLine;
using Stratus.Cli.Client;
using Stratus.Cli.Interaction;
using Stratus.Core.Api;
using Stratus.Core.Deployments;

namespace Stratus.Cli.Commands;

/// <summary><c>stratus rollout status/promote/pause/resume/rollback NAME</c>.</summary>
internal sealed class RolloutCommand : Command
{
    public RolloutCommand(IInteraction interaction, GlobalOptions global)
        : base("rollout", "Rollouts of new model versions: status, and promote, pause, resume or roll back by hand.")
    {
        var statusName = new Argument<string>("name");
        var status = new Command("status", "The rollout's strategy, versions, step, state and the reason for it.") { statusName };
        status.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
        {
            session.Render(await session.Client.GetRolloutAsync(parse.GetValue(statusName)!, cancellationToken), r => Show(interaction, r));
            return ExitCodes.Success;
        }, cancellationToken));
        Subcommands.Add(status);

        foreach (var (verb, description) in new[]
        {
            ("promote", "Finish the rollout now: the new version takes all traffic."),
            ("pause", "Hold the rollout at its current step."),
            ("resume", "Carry on a paused rollout."),
            ("rollback", "Send all traffic back to the old version."),
        })
        {
            var name = new Argument<string>("name");
            var command = new Command(verb, description) { name };
            command.SetAction((parse, cancellationToken) => global.RunAsync(parse, interaction, async session =>
            {
                session.Render(await session.Client.RolloutActionAsync(parse.GetValue(name)!, verb, cancellationToken), r => Show(interaction, r));
                return ExitCodes.Success;
            }, cancellationToken));
            Subcommands.Add(command);
        }
    }

    internal static void Show(IInteraction interaction, Rollout rollout)
    {
        var weight = rollout.Steps.Count > 0 ? $", step {rollout.Step + 1} of {rollout.Steps.Count} ({rollout.Steps[Math.Min(rollout.Step, rollout.Steps.Count - 1)]}%)" : string.Empty;
        interaction.Line($"{rollout.Deployment}: {rollout.Strategy.ToJsonName()} from version {rollout.FromVersion} to {rollout.ToVersion}{(rollout.Strategy == RolloutStrategy.Canary ? weight : string.Empty)}: {rollout.State.ToJsonName()}");
        interaction.Line($"  {rollout.Reason}");
        if (rollout.Report is { } report)
        {
            interaction.Line($"  {report}");
        }

        if (rollout.Divergence is { } divergence)
        {
            interaction.Line($"  against version {rollout.FromVersion} on the probe set: {divergence}");
        }
    }
}
