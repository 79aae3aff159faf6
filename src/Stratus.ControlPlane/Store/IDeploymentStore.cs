using Stratus.Core.Deployments;

namespace Stratus.ControlPlane.Store;

/// <summary>Desired deployments: what users asked for. Every store passes the same contract tests on SQLite and PostgreSQL.</summary>
public interface IDeploymentStore
{
    /// <summary>Creates or replaces a deployment (the whole desired state).</summary>
    Task PutAsync(Deployment deployment, CancellationToken cancellationToken = default);

    /// <summary>Deletes a deployment; false when there was none.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every deployment, by name.</summary>
    Task<IReadOnlyList<Deployment>> ListAsync(CancellationToken cancellationToken = default);
}
