using Stratus.Core.Routing;

namespace Stratus.Gateway;

/// <summary>
/// Route tables from the first of several sources (control-plane servers) that answers: it stays with that source
/// while it answers, and when a call to it fails, tries the others in order within the same call. A newly chosen
/// source is first asked for its current table rather than for one newer than the version the gateway has (servers
/// that share a store publish the same versions), so the switch never waits out a long-poll. Fails only when every
/// source has.
/// </summary>
public sealed class FailoverRouteSource : IRouteSource
{
    private readonly IReadOnlyList<IRouteSource> _sources;
    private int _current;
    private bool _switched;

    public FailoverRouteSource(IReadOnlyList<IRouteSource> sources)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sources.Count);
        _sources = sources;
    }

    /// <summary>The index of the source followed now.</summary>
    public int Current => Volatile.Read(ref _current);

    public async Task<RouteTable> WaitForNewerAsync(long afterVersion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        var first = Current;
        for (var tried = 0; tried < _sources.Count; tried++)
        {
            var index = (first + tried) % _sources.Count;
            try
            {
                var table = await _sources[index].WaitForNewerAsync(_switched || tried > 0 ? 0 : afterVersion, timeout, cancellationToken);
                _switched = false;
                return table;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                failure = e;
                Volatile.Write(ref _current, (index + 1) % _sources.Count);
                _switched = true;
            }
        }

        throw failure!;
    }
}
