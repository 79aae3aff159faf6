using Stratus.Core.Routing;

namespace Stratus.Gateway;

/// <summary>
/// Route tables from the first of several sources (control-plane servers) that answers (<see cref="ServerFailover{T}"/>):
/// it stays with that source while it answers, and when a call to it fails, tries the others in order within the
/// same call. A newly chosen source is first asked for its current table rather than for one newer than the version
/// the gateway has (servers that share a store publish the same versions), so the switch never waits out a
/// long-poll. Fails only when every source has.
/// </summary>
public sealed class FailoverRouteSource(IReadOnlyList<IRouteSource> sources) : IRouteSource
{
    private readonly ServerFailover<IRouteSource> _sources = new(sources);
    private bool _switched;

    /// <summary>The index of the source followed now.</summary>
    public int Current => _sources.Current;

    public async Task<RouteTable> WaitForNewerAsync(long afterVersion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var table = await _sources.CallAsync((source, other) => source.WaitForNewerAsync(_switched || other ? 0 : afterVersion, timeout, cancellationToken), cancellationToken);
            _switched = false;
            return table;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Every source failed: whichever answers next is asked for its current table.
            _switched = true;
            throw;
        }
    }
}
