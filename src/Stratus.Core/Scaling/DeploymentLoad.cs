using System.Collections.Concurrent;

namespace Stratus.Core.Scaling;

/// <summary>
/// Requests in flight and completed, per deployment, as a gateway sees them (requests held while a deployment scales
/// from zero count as in flight). The autoscaler samples it; a gateway and a control plane in one process
/// (<c>stratus up</c>) share one.
/// </summary>
public sealed class DeploymentLoad
{
    private readonly ConcurrentDictionary<string, Counters> _counters = new(StringComparer.Ordinal);

    public void Started(string deployment) => Interlocked.Increment(ref _counters.GetOrAdd(deployment, _ => new Counters()).InFlight);

    public void Finished(string deployment)
    {
        var counters = _counters.GetOrAdd(deployment, _ => new Counters());
        Interlocked.Decrement(ref counters.InFlight);
        Interlocked.Increment(ref counters.Completed);
    }

    /// <summary>Requests in flight now, and completed since the start.</summary>
    public (long InFlight, long Completed) Read(string deployment) =>
        _counters.TryGetValue(deployment, out var c) ? (Interlocked.Read(ref c.InFlight), Interlocked.Read(ref c.Completed)) : (0, 0);

    private sealed class Counters
    {
        public long InFlight;
        public long Completed;
    }
}
