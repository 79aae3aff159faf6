using System.Collections.Concurrent;

namespace Stratus.Gateway;

/// <summary>
/// The measured latency to each region: an exponentially weighted moving average of real request times. A region
/// never measured, or measured longer ago than <see cref="RefreshAfter"/>, is due a measurement: the balancer sends
/// it one request (one at a time) so a region that became faster is noticed. Among equals the gateway's own region
/// comes first.
/// </summary>
public sealed class RegionLatencies(string? ownRegion, TimeProvider? time = null)
{
    /// <summary>Weight of the newest sample.</summary>
    public const double Alpha = 0.2;

    public static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Sample> _samples = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _probing = new(StringComparer.Ordinal);

    public string? OwnRegion => ownRegion;

    /// <summary>The region's average in milliseconds; 0 when it has none yet.</summary>
    public double Of(string region) => _samples.TryGetValue(region, out var sample) ? sample.Milliseconds : 0;

    public void Record(string region, TimeSpan elapsed)
    {
        var now = _time.GetUtcNow();
        _samples.AddOrUpdate(region, new Sample(elapsed.TotalMilliseconds, now), (_, old) => new Sample(old.Milliseconds + (Alpha * (elapsed.TotalMilliseconds - old.Milliseconds)), now));
        _probing.TryRemove(region, out _);
    }

    /// <summary>
    /// Claims the right to send one measuring request to a region that is due one; false when it is not due or another
    /// request is measuring it. A claim never answered for <see cref="RefreshAfter"/> lapses, so a request lost on the
    /// way can never keep a region from being measured again.
    /// </summary>
    public bool TryClaimMeasurement(string region)
    {
        var now = _time.GetUtcNow();
        var due = !_samples.TryGetValue(region, out var sample) || now - sample.At > RefreshAfter;
        if (!due)
        {
            return false;
        }

        if (_probing.TryAdd(region, now))
        {
            return true;
        }

        return _probing.TryGetValue(region, out var claimed) && now - claimed > RefreshAfter && _probing.TryUpdate(region, now, claimed);
    }

    /// <summary>A claimed measurement that produced no sample (the attempt failed): the region may be claimed again.</summary>
    public void Release(string region) => _probing.TryRemove(region, out _);

    public IReadOnlyDictionary<string, double> Snapshot() => _samples.ToDictionary(kv => kv.Key, kv => kv.Value.Milliseconds);

    private sealed record Sample(double Milliseconds, DateTimeOffset At);
}
