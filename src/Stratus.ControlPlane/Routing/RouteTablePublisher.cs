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
        TaskCompletionSource wake;
        RouteTable published;
        lock (_lock)
        {
            var candidate = new RouteTable(_current.Version + 1, routes);
            if (candidate.SameRoutesAs(_current))
            {
                return _current;
            }

            _current = published = candidate;
            wake = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.SetResult();
        return published;
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
