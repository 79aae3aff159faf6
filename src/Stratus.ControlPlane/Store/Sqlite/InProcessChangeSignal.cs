namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>The change signal of a store only one server opens (SQLite): the listeners are in this process.</summary>
public sealed class InProcessChangeSignal : IChangeSignal
{
    private event Action? Changed;

    public Task SignalAsync(CancellationToken cancellationToken = default)
    {
        Changed?.Invoke();
        return Task.CompletedTask;
    }

    public async Task ListenAsync(Action changed, CancellationToken cancellationToken)
    {
        Changed += changed;
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            Changed -= changed;
        }
    }
}
