using Stratus.ControlPlane.Registry;
using Stratus.Core.Models;

namespace Stratus.ControlPlane.Store;

/// <summary>
/// The registry's records of model versions and their sample requests (the bytes of the models live in the
/// <see cref="IBlobStore"/>). Every store passes <c>ModelVersionStoreContractTests</c>: above all, concurrent adds of
/// one name get distinct, consecutive versions, and a version's samples are added with it or not at all.
/// </summary>
public interface IModelVersionStore
{
    /// <summary>Records the next version of <paramref name="name"/> (1 for a new name) with its samples, atomically.</summary>
    Task<ModelVersion> AddAsync(string name, string sha256, long sizeBytes, ModelSignature signature, string createdBy, IReadOnlyList<SampleRequest>? samples = null, CancellationToken cancellationToken = default);

    /// <summary>Every version, by name then version; or one name's versions, oldest first.</summary>
    Task<IReadOnlyList<ModelVersion>> ListAsync(string? name = null, CancellationToken cancellationToken = default);

    Task<ModelVersion?> GetAsync(string name, int version, CancellationToken cancellationToken = default);

    /// <summary>Adds samples to a version, skipping any it already has (same SHA-256); returns how many were new.</summary>
    Task<int> AddSamplesAsync(string name, int version, IReadOnlyList<SampleRequest> samples, CancellationToken cancellationToken = default);

    /// <summary>A version's samples in the order they were added.</summary>
    Task<IReadOnlyList<ModelSample>> ListSamplesAsync(string name, int version, CancellationToken cancellationToken = default);
}
