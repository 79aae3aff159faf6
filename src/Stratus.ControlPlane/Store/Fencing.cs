namespace Stratus.ControlPlane.Store;

/// <summary>What a leader's writes carry: the lease they depend on, its holder and the epoch it was held at.</summary>
public sealed record FencingToken(string Lease, string Holder, long Epoch);

/// <summary>A write refused because the lease it was fenced on is no longer held at its epoch (another server leads now).</summary>
public sealed class FencedException(FencingToken token)
    : Exception($"fenced: this server no longer holds the '{token.Lease}' lease at epoch {token.Epoch}")
{
    public FencingToken Token { get; } = token;
}

/// <summary>
/// The fencing token in force for the current asynchronous flow. The leader's loops (reconciler, autoscaler, rollout
/// controller) run under <see cref="Enter"/>; every store write made while a token is in force checks, in the same
/// transaction as the write, that the lease is still held by that holder at that epoch and not expired, and throws
/// <see cref="FencedException"/> (writing nothing) otherwise. So an old leader that was paused past its lease and
/// wakes up cannot change anything. Writes with no token (the API's, from any server) are not fenced.
/// </summary>
public static class Fencing
{
    private static readonly AsyncLocal<FencingToken?> InForce = new();

    public static FencingToken? Current => InForce.Value;

    /// <summary>Fences the writes of this flow (and what it starts) on <paramref name="token"/> until disposed.</summary>
    public static IDisposable Enter(FencingToken token)
    {
        var previous = InForce.Value;
        InForce.Value = token;
        return new Scope(previous);
    }

    /// <summary>
    /// For a side effect that is no store write (stopping a process): throws <see cref="FencedException"/> unless the
    /// token in force is still the lease's holder and epoch, unexpired by this server's clock. Not atomic with the
    /// effect, unlike the writes' check, but it closes all but a moment of the window. Nothing to check without a token.
    /// </summary>
    public static async Task EnsureHeldAsync(ILeaseStore leases, TimeProvider time, CancellationToken cancellationToken)
    {
        if (Current is not { } token)
        {
            return;
        }

        var lease = await leases.GetAsync(token.Lease, cancellationToken);
        if (lease is null || lease.Holder != token.Holder || lease.Epoch != token.Epoch || lease.ExpiresAt <= time.GetUtcNow())
        {
            throw new FencedException(token);
        }
    }

    private sealed class Scope(FencingToken? previous) : IDisposable
    {
        public void Dispose() => InForce.Value = previous;
    }
}
