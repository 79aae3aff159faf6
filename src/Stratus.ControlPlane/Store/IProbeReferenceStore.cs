using Stratus.ControlPlane.Deployments.Consistency;

namespace Stratus.ControlPlane.Store;

/// <summary>
/// Reference answers per model file (SHA-256) and probe (SHA-256), kept durably so that a restarted control plane
/// checks new and adopted replicas against the same answers. The first reference written wins, atomically, even
/// when several replicas of one file are checked at once.
/// </summary>
public interface IProbeReferenceStore
{
    /// <summary>Stores <paramref name="candidate"/> unless the probe has a reference already; returns the one in force.</summary>
    Task<ProbeReference> SetIfAbsentAsync(string modelSha256, string probeSha256, ProbeReference candidate, CancellationToken cancellationToken = default);

    /// <summary>Every reference of a model file, by probe SHA-256.</summary>
    Task<IReadOnlyDictionary<string, ProbeReference>> ListAsync(string modelSha256, CancellationToken cancellationToken = default);
}
