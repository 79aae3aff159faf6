using System.Text.Json;
using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Deployments.Consistency;
using Stratus.ControlPlane.Store;
using Stratus.Core.Deployments;
using Stratus.Core.Rollouts;
using Stratus.Core.Scaling;

namespace Stratus.ControlPlane.Deployments.Rollouts;

/// <summary>
/// Drives rollouts, once a period, by writing desired state only (the reconciler and the gateways do the rest):
/// <list type="bullet">
/// <item>rolling: the deployment's version becomes the new one; new replicas are ready before old ones drain;</item>
/// <item>blue-green: the new version starts beside the old at weight 0, and all traffic switches once it is ready;</item>
/// <item>canary: the new version's weight follows the steps while <see cref="CanaryAnalysis"/> compares its error
/// rate (overall and per cloud) and p99 with the stable version's over each step (as the gateways report them); it
/// promotes after the last step and rolls back on its own, with the reason, as soon as the canary is worse;</item>
/// <item>shadow: the new version starts beside the old at weight 0 and gateways mirror live requests to it;
/// <see cref="ShadowAnalysis"/> compares its answers with the stable ones (errors, differences per output, arg-max
/// agreement) and promotes it or rolls it back, with the figures in the rollout's report.</item>
/// </list>
/// Promote, pause, resume and roll back are also available by hand. Every change is audited.
/// </summary>
public sealed partial class RolloutController(
    IDeploymentStateStore store,
    IAuditLog audit,
    ILoadView load,
    Action trigger,
    TimeProvider time,
    ILogger logger,
    Registry.ModelRegistry? registry = null,
    ConsistencyChecker? consistency = null)
{
    public Task RunAsync(TimeSpan period, CancellationToken cancellationToken) =>
        Periodic.RunAsync(time, period, TickAsync, e => LogTickFailed(logger, e), cancellationToken);

    public async Task TickAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var deployments = (await store.ListAsync(cancellationToken)).ToDictionary(d => d.Name);
        var replicas = await store.ListReplicasAsync(cancellationToken);
        foreach (var rollout in await store.ListRolloutsAsync(cancellationToken))
        {
            if (rollout.State != RolloutState.Progressing || !deployments.TryGetValue(rollout.Deployment, out var d))
            {
                continue;
            }

            int ReadyOf(int version) => replicas.Count(r => r.Deployment == d.Name && r.State == ReplicaState.Ready && (r.ModelVersion == 0 ? d.ModelVersion : r.ModelVersion) == version);
            if (rollout.Divergence is null && registry is not null && consistency is not null &&
                await registry.GetAsync(d.Model, rollout.FromVersion, cancellationToken) is { } from &&
                await registry.GetAsync(d.Model, rollout.ToVersion, cancellationToken) is { } to &&
                await consistency.DivergenceAsync(from.Sha256, to.Sha256, cancellationToken) is { } divergence)
            {
                // Reported once both versions have answered the probe set.
                await store.PutRolloutAsync(rollout with { Divergence = divergence }, cancellationToken);
                await audit.AppendAsync("rollout", "rollout.divergence", d.Name, null, JsonSerializer.Serialize(new { from = rollout.FromVersion, to = rollout.ToVersion, divergence }), cancellationToken);
                continue;
            }

            switch (rollout.Strategy)
            {
                case RolloutStrategy.Rolling when d.ModelVersion != rollout.ToVersion || d.Traffic.Count > 0:
                    await SetAsync(d, d with { ModelVersion = rollout.ToVersion, Traffic = [] }, "rollout.rolling", cancellationToken);
                    break;
                case RolloutStrategy.Rolling when ReadyOf(rollout.ToVersion) >= d.Replicas:
                    await FinishAsync(rollout, RolloutState.Promoted, $"all {d.Replicas} replicas run version {rollout.ToVersion}", cancellationToken);
                    break;
                case RolloutStrategy.BlueGreen:
                    TrafficSplit[] staged = [new(rollout.FromVersion, 100), new(rollout.ToVersion, 0, rollout.Replicas)];
                    if (!d.Traffic.SequenceEqual(staged) && d.ModelVersion == rollout.FromVersion)
                    {
                        await SetAsync(d, d with { Traffic = staged }, "rollout.stage", cancellationToken);
                    }
                    else if (ReadyOf(rollout.ToVersion) >= rollout.Replicas)
                    {
                        await SetAsync(d, d with { ModelVersion = rollout.ToVersion, Traffic = [], Replicas = rollout.Replicas }, "rollout.switch", cancellationToken);
                        await FinishAsync(rollout, RolloutState.Promoted, $"switched all traffic to version {rollout.ToVersion} once its {rollout.Replicas} replica(s) were ready", cancellationToken);
                    }

                    break;
                case RolloutStrategy.Canary:
                    await CanaryAsync(rollout, d, ReadyOf(rollout.ToVersion), now, cancellationToken);
                    break;
                case RolloutStrategy.Shadow:
                    await ShadowAsync(rollout, d, ReadyOf(rollout.ToVersion), now, cancellationToken);
                    break;
            }
        }
    }

    private async Task CanaryAsync(Rollout rollout, Deployment d, int canaryReady, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var weight = rollout.Steps[Math.Clamp(rollout.Step, 0, rollout.Steps.Count - 1)];
        TrafficSplit[] wanted = [new(rollout.FromVersion, 100 - weight), new(rollout.ToVersion, weight, rollout.Replicas)];
        if (!await InStepAsync(rollout, d, wanted, canaryReady > 0, canaryReady == 0 ? $"starting version {rollout.ToVersion} at {weight}%" : rollout.Reason, "rollout.weight", now, cancellationToken))
        {
            return;
        }

        var policy = new CanaryPolicy
        {
            Steps = rollout.Steps,
            StepDuration = rollout.StepDuration,
            MinRequests = rollout.MinRequests,
            MaxLatencyRatio = rollout.MaxLatencyRatio,
            LatencySlack = rollout.LatencySlack,
            MaxErrorRateIncrease = rollout.MaxErrorRateIncrease,
            MinRequestsPerCloud = Math.Min(20, rollout.MinRequests),
        };
        var verdict = CanaryAnalysis.Judge(
            policy,
            rollout.Step,
            now - rollout.StepStartedAt,
            load.ResultsSince(d.Name, rollout.FromVersion, rollout.StepStartedAt),
            load.ResultsSince(d.Name, rollout.ToVersion, rollout.StepStartedAt),
            load.ResultsByCloudSince(d.Name, rollout.ToVersion, rollout.StepStartedAt));
        switch (verdict.Action)
        {
            case CanaryAction.Wait:
                await store.PutRolloutAsync(rollout with { Reason = verdict.Reason }, cancellationToken);
                break;
            case CanaryAction.Advance:
                await store.PutRolloutAsync(rollout with { Step = rollout.Step + 1, StepStartedAt = now, Reason = verdict.Reason }, cancellationToken);
                await audit.AppendAsync("rollout", "rollout.advance", d.Name, null, JsonSerializer.Serialize(new { weight = verdict.Weight, reason = verdict.Reason }), cancellationToken);
                break;
            case CanaryAction.Promote:
                await PromoteAsync(rollout, d, verdict.Reason, cancellationToken);
                break;
            case CanaryAction.RollBack:
                await RollBackAsync(rollout, d, verdict.Reason, cancellationToken);
                break;
        }
    }

    /// <summary>
    /// A shadow rollout: the new version runs beside the old at weight 0 with its own replicas and receives mirrored
    /// requests; once they are ready, the comparison clock starts, and the analysis promotes (the new version takes
    /// all traffic, as in a blue-green switch) or rolls back.
    /// </summary>
    private async Task ShadowAsync(Rollout rollout, Deployment d, int shadowReady, DateTimeOffset now, CancellationToken cancellationToken)
    {
        TrafficSplit[] staged = [new(rollout.FromVersion, 100), new(rollout.ToVersion, 0, rollout.Replicas) { Mirror = rollout.Mirror }];
        if (!await InStepAsync(rollout, d, staged, shadowReady >= rollout.Replicas, $"starting {rollout.Replicas} shadow replica(s) of version {rollout.ToVersion}", "rollout.stage", now, cancellationToken))
        {
            return;
        }

        var policy = new ShadowPolicy
        {
            Duration = rollout.StepDuration,
            MinRequests = rollout.MinRequests,
            MaxErrorRateIncrease = rollout.MaxErrorRateIncrease,
            AbsoluteTolerance = rollout.Mirror.AbsoluteTolerance,
            RelativeTolerance = rollout.Mirror.RelativeTolerance,
            MinArgmaxAgreement = rollout.MinArgmaxAgreement,
        };
        var summary = load.ShadowSince(d.Name, rollout.ToVersion, rollout.StepStartedAt);
        var verdict = ShadowAnalysis.Judge(policy, now - rollout.StepStartedAt, summary);
        var report = ShadowAnalysis.Describe(summary);
        rollout = rollout with { Report = report };
        switch (verdict.Action)
        {
            case ShadowAction.Wait:
                await store.PutRolloutAsync(rollout with { Reason = verdict.Reason }, cancellationToken);
                break;
            case ShadowAction.Promote:
                await audit.AppendAsync("rollout", "rollout.shadow", d.Name, null, JsonSerializer.Serialize(new { version = rollout.ToVersion, verdict = "promote", verdict.Reason, report }), cancellationToken);
                await SetAsync(d, d with { ModelVersion = rollout.ToVersion, Traffic = [], Replicas = rollout.Replicas }, "rollout.promote", cancellationToken);
                await FinishAsync(rollout, RolloutState.Promoted, verdict.Reason, cancellationToken);
                break;
            case ShadowAction.RollBack:
                await audit.AppendAsync("rollout", "rollout.shadow", d.Name, null, JsonSerializer.Serialize(new { version = rollout.ToVersion, verdict = "rollback", verdict.Reason, report }), cancellationToken);
                await RollBackAsync(rollout, d, verdict.Reason, cancellationToken);
                break;
        }
    }

    /// <summary>
    /// Puts the deployment's traffic in the rollout's split and, until the new version is <paramref name="ready"/> in
    /// it, holds the step's clock at now with <paramref name="waiting"/> as the reason; true once the analysis may
    /// judge.
    /// </summary>
    private async Task<bool> InStepAsync(Rollout rollout, Deployment d, TrafficSplit[] wanted, bool ready, string waiting, string action, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var split = d.Traffic.SequenceEqual(wanted);
        if (split && ready)
        {
            return true;
        }

        if (!split)
        {
            await SetAsync(d, d with { Traffic = wanted }, action, cancellationToken);
        }

        await store.PutRolloutAsync(rollout with { StepStartedAt = now, Reason = waiting }, cancellationToken);
        return false;
    }

    /// <summary>promote, pause, resume or rollback, by hand.</summary>
    public async Task<Rollout?> ActAsync(string deployment, string action, CancellationToken cancellationToken)
    {
        var rollout = (await store.ListRolloutsAsync(cancellationToken)).FirstOrDefault(r => r.Deployment == deployment);
        var d = (await store.ListAsync(cancellationToken)).FirstOrDefault(x => x.Name == deployment);
        if (rollout is null || d is null || rollout.State is RolloutState.Promoted or RolloutState.RolledBack)
        {
            return null;
        }

        switch (action)
        {
            case "promote":
                await PromoteAsync(rollout, d, "promoted by hand", cancellationToken);
                break;
            case "rollback":
                await RollBackAsync(rollout, d, "rolled back by hand", cancellationToken);
                break;
            case "pause":
                await store.PutRolloutAsync(rollout with { State = RolloutState.Paused, Reason = "paused by hand" }, cancellationToken);
                break;
            case "resume":
                await store.PutRolloutAsync(rollout with { State = RolloutState.Progressing, StepStartedAt = time.GetUtcNow(), Reason = "resumed by hand" }, cancellationToken);
                break;
            default:
                throw new ArgumentException($"unknown rollout action '{action}': promote, pause, resume or rollback", nameof(action));
        }

        return (await store.ListRolloutsAsync(cancellationToken)).First(r => r.Deployment == deployment);
    }

    private async Task PromoteAsync(Rollout rollout, Deployment d, string reason, CancellationToken cancellationToken)
    {
        await SetAsync(d, d with { ModelVersion = rollout.ToVersion, Traffic = [] }, "rollout.promote", cancellationToken);
        await FinishAsync(rollout, RolloutState.Promoted, reason, cancellationToken);
    }

    private async Task RollBackAsync(Rollout rollout, Deployment d, string reason, CancellationToken cancellationToken)
    {
        LogRolledBack(logger, d.Name, rollout.ToVersion, reason);
        await SetAsync(d, d with { ModelVersion = rollout.FromVersion, Traffic = [] }, "rollout.rollback", cancellationToken);
        await FinishAsync(rollout, RolloutState.RolledBack, reason, cancellationToken);
    }

    private async Task FinishAsync(Rollout rollout, RolloutState state, string reason, CancellationToken cancellationToken) =>
        await store.PutRolloutAsync(rollout with { State = state, Reason = reason }, cancellationToken);

    private async Task SetAsync(Deployment before, Deployment after, string action, CancellationToken cancellationToken)
    {
        await store.PutAsync(after, cancellationToken);
        await audit.AppendAsync("rollout", action, after.Name, JsonSerializer.Serialize(new { before.ModelVersion, before.Traffic }), JsonSerializer.Serialize(new { after.ModelVersion, after.Traffic }), cancellationToken);
        trigger();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rolled back {Deployment} from version {Version}: {Reason}")]
    private static partial void LogRolledBack(ILogger logger, string deployment, int version, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "A rollout tick failed; the next one retries")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
