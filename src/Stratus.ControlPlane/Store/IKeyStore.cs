using Stratus.Core.Deployments;

namespace Stratus.ControlPlane.Store;

/// <summary>Deployments' inference keys, as hashes. Every store passes the same contract tests on SQLite and PostgreSQL.</summary>
public interface IKeyStore
{
    /// <summary>Records a key's hash for a deployment.</summary>
    Task AddKeyAsync(DeploymentKey key, CancellationToken cancellationToken = default);

    /// <summary>Revokes a live key; false when the deployment has no such live key.</summary>
    Task<bool> RevokeKeyAsync(string deployment, string id, CancellationToken cancellationToken = default);

    /// <summary>Every key, revoked ones included, oldest first.</summary>
    Task<IReadOnlyList<DeploymentKey>> ListKeysAsync(CancellationToken cancellationToken = default);
}
