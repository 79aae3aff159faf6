namespace Stratus.ControlPlane.Registry;

/// <summary>
/// Model files in a folder, addressed by their SHA-256 (<c>sha256/ab/abcd…</c>). Uploads are staged in the same
/// folder and renamed into place, so several servers may share the folder (an NFS mount, say): a reader sees a whole
/// file or none, and two servers committing the same bytes leave one file.
/// </summary>
public sealed class DirectoryBlobStore(string root) : IBlobStore
{
    public string Root { get; } = root;

    public string PathOf(string sha256) => BlobFiles.PathOf(Root, sha256);

    public Task<StagedContent> StageAsync(Stream content, long maxBytes, CancellationToken cancellationToken = default) =>
        BlobFiles.WriteAsync(Path.Combine(Root, "staging"), content, maxBytes, cancellationToken);

    public Task CommitAsync(StagedContent staged, CancellationToken cancellationToken = default)
    {
        BlobFiles.Place(staged.Path, PathOf(staged.Sha256));
        return Task.CompletedTask;
    }

    public Task<bool> ContainsAsync(string sha256, CancellationToken cancellationToken = default) => Task.FromResult(File.Exists(PathOf(sha256)));

    public async Task<Stream> OpenReadAsync(string sha256, CancellationToken cancellationToken = default) =>
        new FileStream(await LocalPathAsync(sha256, cancellationToken), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);

    public Task<string> LocalPathAsync(string sha256, CancellationToken cancellationToken = default) =>
        File.Exists(PathOf(sha256)) ? Task.FromResult(PathOf(sha256)) : Task.FromException<string>(new FileNotFoundException($"no model file with SHA-256 {sha256} in {Root}", PathOf(sha256)));
}
