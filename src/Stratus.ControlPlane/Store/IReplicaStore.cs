using Stratus.Core.Deployments;

namespace Stratus.ControlPlane.Store;

/// <summary>Observed replicas: what the reconciler launched, where, and in which state. Every store passes the same contract tests on SQLite and PostgreSQL.</summary>
public interface IReplicaStore
{
    /// <summary>Every replica record, by deployment then id.</summary>
    Task<IReadOnlyList<ReplicaRecord>> ListReplicasAsync(CancellationToken cancellationToken = default);

    /// <summary>Inserts a replica's record, or updates its state, reason, endpoint, drain deadline and kind.</summary>
    Task PutReplicaAsync(ReplicaRecord replica, CancellationToken cancellationToken = default);

    Task DeleteReplicaAsync(string id, CancellationToken cancellationToken = default);
}
