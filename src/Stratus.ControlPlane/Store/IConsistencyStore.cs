using Stratus.Core.Deployments;

namespace Stratus.ControlPlane.Store;

/// <summary>What the consistency check of each deployment's model versions found. Every store passes the same contract tests on SQLite and PostgreSQL.</summary>
public interface IConsistencyStore
{
    /// <summary>Records what a version's consistency check found; false when the note was already that (nothing written).</summary>
    Task<bool> PutConsistencyAsync(ConsistencyNote note, CancellationToken cancellationToken = default);

    /// <summary>Every deployment's consistency notes, by deployment then version.</summary>
    Task<IReadOnlyList<ConsistencyNote>> ListConsistencyAsync(CancellationToken cancellationToken = default);
}
