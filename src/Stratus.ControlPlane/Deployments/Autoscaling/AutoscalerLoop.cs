using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Store;
using Stratus.Core.Clouds;
using Stratus.Core.Deployments;
using Stratus.Core.Scaling;

namespace Stratus.ControlPlane.Deployments.Autoscaling;

/// <summary>
/// Once a period, samples each autoscaled deployment's load (requests in flight and completed, summed over the gateways that
/// report), asks the <see cref="Autoscaler"/> for the replica count, and writes a changed count as the deployment's
/// desired state (audited as <c>deployment.autoscale</c> with the reason); the reconciler then acts, placing new
/// replicas where the planner says. The last decision per deployment is kept for the API.
/// </summary>
public sealed partial class AutoscalerLoop(IDeploymentStateStore store, IAuditLog audit, ILoadView load, IReadOnlyList<CloudSpec> clouds, Action trigger, TimeProvider time, ILogger logger)
{
    private readonly Dictionary<string, List<LoadSample>> _samples = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AutoscalerState> _states = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Completed, DateTimeOffset At)> _last = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, AutoscaleDecision> Decisions { get; } = new(StringComparer.Ordinal);

    public Task RunAsync(TimeSpan period, CancellationToken cancellationToken) =>
        Periodic.RunAsync(time, period, TickAsync, e => LogTickFailed(logger, e), cancellationToken);

    public async Task TickAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var replicas = await store.ListReplicasAsync(cancellationToken);
        foreach (var deployment in await store.ListAsync(cancellationToken))
        {
            if (deployment.Autoscaling is not { } spec)
            {
                continue;
            }

            var (inFlight, completed) = load.Read(deployment.Name);
            var qps = _last.TryGetValue(deployment.Name, out var last) && now > last.At ? (completed - last.Completed) / (now - last.At).TotalSeconds : 0;
            _last[deployment.Name] = (completed, now);
            var samples = _samples.TryGetValue(deployment.Name, out var list) ? list : _samples[deployment.Name] = [];
            samples.Add(new LoadSample(now, inFlight, qps));
            samples.RemoveAll(s => s.At < now - spec.StableWindow - spec.ScaleDownDelay - (spec.ScaleToZeroAfter ?? TimeSpan.Zero));

            var ready = replicas.Count(r => r.Deployment == deployment.Name && r.State == ReplicaState.Ready);
            var capacity = clouds.Sum(c => c.Capacity.GetValueOrDefault(deployment.Shape));
            var decision = Autoscaler.Decide(spec, samples, deployment.Replicas, ready, capacity, _states.GetValueOrDefault(deployment.Name) ?? AutoscalerState.Initial, now);
            _states[deployment.Name] = decision.State;
            Decisions[deployment.Name] = decision;
            if (decision.Replicas != deployment.Replicas)
            {
                LogScaled(logger, deployment.Name, deployment.Replicas, decision.Replicas, decision.Reason);
                await store.PutAsync(deployment with { Replicas = decision.Replicas }, cancellationToken);
                await audit.AppendAsync("autoscaler", "deployment.autoscale", deployment.Name, $"{{\"replicas\":{deployment.Replicas}}}", System.Text.Json.JsonSerializer.Serialize(new { replicas = decision.Replicas, reason = decision.Reason }), cancellationToken);
                trigger();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Autoscaled {Deployment} from {From} to {To}: {Reason}")]
    private static partial void LogScaled(ILogger logger, string deployment, int from, int to, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "An autoscaler tick failed; the next one retries")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
