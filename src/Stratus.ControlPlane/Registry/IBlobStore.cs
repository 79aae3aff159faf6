namespace Stratus.ControlPlane.Registry;

/// <summary>
/// Where the registry keeps model bytes, addressed by their SHA-256 (lower-case hex). Uploads are staged locally while
/// hashed, then committed; readers get a stream or, for ONNX Runtime and the providers that copy artifacts, a local
/// file. Implementations: <see cref="DirectoryBlobStore"/> (a folder, which several servers may share) and
/// <c>PostgresBlobStore</c> (the database the servers share).
/// </summary>
public interface IBlobStore
{
    /// <summary>Streams content to a local temporary file while hashing it, refusing it past <paramref name="maxBytes"/>; the caller commits or deletes it.</summary>
    Task<StagedContent> StageAsync(Stream content, long maxBytes, CancellationToken cancellationToken = default);

    /// <summary>Stores staged content at its address; identical content already there is kept. The staged file may be moved away.</summary>
    Task CommitAsync(StagedContent staged, CancellationToken cancellationToken = default);

    Task<bool> ContainsAsync(string sha256, CancellationToken cancellationToken = default);

    /// <summary>The blob's bytes; throws <see cref="FileNotFoundException"/> when there is no such blob.</summary>
    Task<Stream> OpenReadAsync(string sha256, CancellationToken cancellationToken = default);

    /// <summary>A local file holding the blob, materialised into a local cache first when the blobs are remote.</summary>
    Task<string> LocalPathAsync(string sha256, CancellationToken cancellationToken = default);
}

/// <summary>An upload staged in a local file, with its SHA-256 and size.</summary>
public sealed record StagedContent(string Path, string Sha256, long Size);

/// <summary>An upload the registry refuses, with the reason the caller sees.</summary>
public sealed class ModelRejectedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The model store's disk is full (or the caller's quota spent): the push is refused with 507 and its staging file
/// is gone, so nothing half-written is left behind.
/// </summary>
public sealed class StorageFullException(string message, Exception inner) : Exception(message, inner)
{
    /// <summary>ENOSPC and EDQUOT on Unix; ERROR_DISK_FULL and ERROR_HANDLE_DISK_FULL on Windows.</summary>
    public static bool IsDiskFull(IOException e) => e.HResult is 28 or 122 or unchecked((int)0x80070070) or unchecked((int)0x80070027);
}
