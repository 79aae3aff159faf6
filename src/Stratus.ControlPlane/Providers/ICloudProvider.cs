namespace Stratus.ControlPlane.Providers;

/// <summary>What to run: one replica of a model version, with the artifact the registry holds and its checksum.</summary>
public sealed record ReplicaLaunch(string ReplicaId, string ModelName, string ModelVersion, string ArtifactPath, string Sha256, string Shape)
{
    /// <summary>The name the replica serves the model under (its deployment's name); the model's own name when null.</summary>
    public string? ServedName { get; init; }

    /// <summary>Launch as a spot (preemptible) instance where the cloud has them; local clouds run both kinds alike.</summary>
    public bool Spot { get; init; }

    /// <summary>Real requests (the version's samples) the replica warms up with before it reports ready; zeros when empty.</summary>
    public IReadOnlyList<string> WarmUpRequests { get; init; } = [];
}

/// <summary>A replica a provider runs, and where it answers: null while it is still starting.</summary>
public sealed record ReplicaHandle(string ReplicaId, string Cloud, string Shape, Uri? Endpoint)
{
    public bool IsReady => Endpoint is not null && Exited is null;

    /// <summary>
    /// Why a replica the cloud still holds no longer runs ("container exited with code 137"): a container or pod
    /// that ended and is not coming back by itself. The reconciler records the reason and replaces the replica.
    /// </summary>
    public string? Exited { get; init; }
}

/// <summary>
/// How far a failed launch reaches, so the planner blocks the right thing. The cloud's own faults (no capacity, a
/// refusal, an outage, a broken artifact store or process launcher) block this shape here, the region, or the cloud
/// for every deployment. Faults of what was launched (the model failed to load, the replica crashed at start, was not
/// ready in time, or failed its consistency check) are <see cref="Deployment"/>: they back off that deployment in
/// that cloud only.
/// </summary>
public enum ProvisioningScope
{
    Shape,
    Region,
    Cloud,
    Deployment,
}

/// <summary>A launch the cloud refused or that failed, with its scope and reason.</summary>
public sealed class ProvisioningException(ProvisioningScope scope, string message, Exception? inner = null) : Exception(message, inner)
{
    public ProvisioningScope Scope { get; } = scope;
}

/// <summary>One cloud's way to run replicas. Every provider passes the same contract suite.</summary>
public interface ICloudProvider : IAsyncDisposable
{
    string CloudName { get; }

    /// <summary>Starts a replica and returns once it is ready; throws <see cref="ProvisioningException"/> when the cloud will not.</summary>
    Task<ReplicaHandle> LaunchAsync(ReplicaLaunch launch, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stops a replica gracefully: it is asked to stop, finishes the requests it holds, and is killed only if it is
    /// still there after a grace period. Stopping one that is gone is not an error.
    /// </summary>
    Task StopAsync(string replicaId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The replicas running now, including ones started before this process (how a restarted control plane adopts
    /// them) and ones still starting (without an endpoint), so that nobody launches a second one in their place.
    /// Throws <see cref="ProvisioningException"/> of scope <see cref="ProvisioningScope.Cloud"/> when the cloud cannot
    /// be asked (its API is unreachable): the cloud is then treated as down, as in an outage.
    /// </summary>
    Task<IReadOnlyList<ReplicaHandle>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>The last <paramref name="lines"/> lines the replica wrote (stdout and stderr); null when the cloud has no such replica.</summary>
    Task<string?> LogsAsync(string replicaId, int lines, CancellationToken cancellationToken = default);

    /// <summary>Stops every replica of the cloud, including any still starting, each gracefully and all at once (<c>stratus up</c> on Ctrl+C).</summary>
    Task StopAllAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// A cloud whose faults can be emulated: an outage (<c>stratus cloud outage</c> / <c>restore</c>) and refused launches
/// (<c>stratus cloud refuse</c> / <c>accept</c>, as when a cloud has no capacity or quota left). Local clouds.
/// </summary>
public interface IOutageEmulation
{
    bool IsOut { get; }

    /// <summary>What launches are refused now, as "shape cpu-small" or "every shape (region)"; null when none.</summary>
    string? Refusing { get; }

    /// <summary>Kills every replica at once and refuses launches until <see cref="Restore"/>.</summary>
    Task OutageAsync(CancellationToken cancellationToken = default);

    void Restore();

    /// <summary>Refuses launches (of one shape, or of all when null) with a refusal of the given scope; running replicas stay.</summary>
    void Refuse(ProvisioningScope scope, string? shape);

    void Accept();

    /// <summary>The faults its replicas emulate now (one deployment's version failing a share of requests).</summary>
    IReadOnlyList<Stratus.Inference.Server.EmulatedFault> Faults { get; }

    /// <summary>
    /// Makes the replicas of one deployment's model version in this cloud, running or launched later, fail a share of
    /// their inference requests (0 ends it): a fault of this cloud that only that version meets.
    /// </summary>
    void Fault(string deployment, int version, double errorRate);

    void ClearFaults();
}
