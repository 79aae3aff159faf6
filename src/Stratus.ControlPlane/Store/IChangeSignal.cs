namespace Stratus.ControlPlane.Store;

/// <summary>
/// Tells every server of one store that desired state changed, so the leader reconciles at once rather than at its
/// next period, whichever server the change came through. Losing a signal costs only that wait: the leader's
/// periodic pass finds the change anyway.
/// </summary>
public interface IChangeSignal
{
    /// <summary>Signals every listener of the store (this server's included).</summary>
    Task SignalAsync(CancellationToken cancellationToken = default);

    /// <summary>Calls <paramref name="changed"/> on every signal until cancelled, listening again after a failure.</summary>
    Task ListenAsync(Action changed, CancellationToken cancellationToken);
}
