using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Routing;

/// <summary>
/// Holds the current route table and wakes gateways waiting for a newer one (the long-poll behind the route-table
/// watch). Versions start from the clock at start-up, so a gateway that held a version from before a control-plane
/// restart still sees the first table of the new process as newer.
/// </summary>
public sealed class RouteTablePublisher(TimeProvider time) : IRouteSource
{
    private readonly Lock _lock = new();
    private RouteTable _current = RouteTable.Empty with { Version = time.GetUtcNow().ToUnixTimeMilliseconds() };
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _served;

    public RouteTable Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>Publishes routes; the version moves only if they differ from the current ones.</summary>
    public RouteTable Publish(IReadOnlyList<Route> routes)
    {
        lock (_lock)
        {
            var candidate = new RouteTable(_current.Version + 1, routes);
            if (candidate.SameRoutesAs(_current))
            {
                return _current;
            }

            Replace(candidate);
            return candidate;
        }
    }

    /// <summary>
    /// Serves a table published elsewhere (the leader's, read from the route store) with its own version: if it is
    /// newer than the current one, or when nothing was served yet (the start-up table's clock version says nothing
    /// about the store's). False when it was not taken.
    /// </summary>
    public bool Adopt(RouteTable table)
    {
        lock (_lock)
        {
            if (table.Version <= _current.Version && _served)
            {
                return false;
            }

            Replace(table);
            return true;
        }
    }

    /// <summary>Makes <paramref name="table"/> current and wakes the waiting gateways; called under the lock.</summary>
    private void Replace(RouteTable table)
    {
        _current = table;
        _served = true;
        var wake = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        wake.SetResult();
    }

    /// <summary>Returns as soon as the table is newer than <paramref name="afterVersion"/>, or the current one at the timeout.</summary>
    public async Task<RouteTable> WaitForNewerAsync(long afterVersion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_current.Version > afterVersion)
                {
                    return _current;
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Current;
            }
        }
    }
}
