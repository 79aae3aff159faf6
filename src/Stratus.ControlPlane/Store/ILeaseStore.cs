namespace Stratus.ControlPlane.Store;

/// <summary>A named lease and who holds it: the epoch grows by one each time the lease changes hands (the fencing token).</summary>
public sealed record Lease(string Name, string Holder, long Epoch, DateTimeOffset ExpiresAt);

/// <summary>
/// Leases in the database, with the database's own clock deciding expiry (so servers whose clocks disagree still
/// agree on who leads). Every store passes <c>LeaseStoreContractTests</c> on SQLite and PostgreSQL.
/// </summary>
public interface ILeaseStore
{
    /// <summary>
    /// Takes or renews the lease for <paramref name="ttl"/>: succeeds when nobody holds it, when it has expired, or
    /// when <paramref name="holder"/> holds it already (a renewal keeps the epoch; a takeover increments it, so the
    /// first holder ever has epoch 1). Null when another holder's lease is live. Atomic against concurrent callers.
    /// </summary>
    Task<Lease?> TryAcquireAsync(string name, string holder, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>The lease as stored (live or expired); null when it was never taken.</summary>
    Task<Lease?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Gives the lease up at once if <paramref name="holder"/> holds it (it expires now; the epoch stays).</summary>
    Task ReleaseAsync(string name, string holder, CancellationToken cancellationToken = default);
}
