using Stratus.Core.Routing;

namespace Stratus.Gateway.Tests;

/// <summary>A route source the test publishes to, with a long-poll like the control plane's, that can be made to fail.</summary>
internal sealed class ScriptedRoutes : IRouteSource
{
    private readonly Lock _lock = new();
    private RouteTable _current = RouteTable.Empty;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failures;

    private volatile bool _fail;

    public int Failures => Volatile.Read(ref _failures);

    /// <summary>From now on every call fails, and a waiting one wakes to fail.</summary>
    public void Break()
    {
        _fail = true;
        TaskCompletionSource wake;
        lock (_lock)
        {
            wake = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.SetResult();
    }

    /// <summary>Calls answer again.</summary>
    public void Mend() => _fail = false;

    public long Publish(IReadOnlyList<Route> routes)
    {
        TaskCompletionSource wake;
        lock (_lock)
        {
            _current = new RouteTable(_current.Version + 1, routes);
            wake = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.SetResult();
        return _current.Version;
    }

    public async Task<RouteTable> WaitForNewerAsync(long afterVersion, TimeSpan timeout, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_fail)
            {
                Interlocked.Increment(ref _failures);
                throw new HttpRequestException("control plane unreachable");
            }

            Task changed;
            lock (_lock)
            {
                if (_current.Version > afterVersion)
                {
                    return _current;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(timeout, cancellationToken);
        }
    }
}
