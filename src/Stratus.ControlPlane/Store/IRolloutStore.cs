using Stratus.Core.Deployments;

namespace Stratus.ControlPlane.Store;

/// <summary>Deployments' rollouts from one model version to another. Every store passes the same contract tests on SQLite and PostgreSQL.</summary>
public interface IRolloutStore
{
    /// <summary>Creates or replaces a deployment's rollout.</summary>
    Task PutRolloutAsync(Rollout rollout, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<Rollout>> ListRolloutsAsync(CancellationToken cancellationToken = default);
}
