using System.Collections.Concurrent;
using System.Net;

namespace Stratus.ControlPlane.Auth;

/// <summary>
/// Failed token checks per source address, so that guessing tokens is slow: after <see cref="Limit"/> failures from one
/// address within a <see cref="Window"/>, every call from it that carries a token is refused with 429 until the window
/// ends, without the token store being asked. Good tokens from that address wait too: an address that guesses is not
/// trusted for the rest of the window. The windows are fixed and kept in memory, per server.
/// </summary>
public sealed class FailedAuthentications(TimeProvider time, int limit = FailedAuthentications.DefaultLimit, TimeSpan? window = null)
{
    public const int DefaultLimit = 20;

    private readonly ConcurrentDictionary<IPAddress, (DateTimeOffset Start, int Failures)> _sources = new();

    public int Limit { get; } = limit;

    public TimeSpan Window { get; } = window ?? TimeSpan.FromMinutes(1);

    /// <summary>How long the address must wait before its next token is checked; null when it may be checked now.</summary>
    public TimeSpan? RetryAfter(IPAddress? source)
    {
        if (source is null || !_sources.TryGetValue(source, out var entry))
        {
            return null;
        }

        var left = entry.Start + Window - time.GetUtcNow();
        return entry.Failures >= Limit && left > TimeSpan.Zero ? left : null;
    }

    public void Failed(IPAddress? source)
    {
        if (source is null)
        {
            return;
        }

        var now = time.GetUtcNow();
        _sources.AddOrUpdate(source, _ => (now, 1), (_, old) => old.Start + Window <= now ? (now, 1) : (old.Start, old.Failures + 1));

        // Old windows are dropped now and then, so addresses that stopped calling are not kept for ever.
        if (_sources.Count > 10_000)
        {
            foreach (var (address, entry) in _sources)
            {
                if (entry.Start + Window <= now)
                {
                    _sources.TryRemove(address, out _);
                }
            }
        }
    }
}
