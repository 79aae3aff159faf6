namespace Stratus.Gateway;

/// <summary>
/// Calls the first of several control-plane servers that answers, starting with the one that answered last and
/// trying the others in order within the same call. Fails, with the last failure, only when every server has.
/// </summary>
public sealed class ServerFailover<T>
{
    private readonly IReadOnlyList<T> _servers;
    private int _current;

    public ServerFailover(IReadOnlyList<T> servers)
    {
        ArgumentOutOfRangeException.ThrowIfZero(servers.Count);
        _servers = servers;
    }

    /// <summary>The index of the server that answered last (the first, before any answered).</summary>
    public int Current => Volatile.Read(ref _current);

    /// <summary>Calls <paramref name="call"/> on each server in turn until one answers; it is told whether the server is another than the last to answer.</summary>
    public async Task<TResult> CallAsync<TResult>(Func<T, bool, Task<TResult>> call, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        var first = Current;
        for (var tried = 0; tried < _servers.Count; tried++)
        {
            var index = (first + tried) % _servers.Count;
            try
            {
                var result = await call(_servers[index], tried > 0);
                Volatile.Write(ref _current, index);
                return result;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                failure = e;
            }
        }

        throw failure!;
    }
}
