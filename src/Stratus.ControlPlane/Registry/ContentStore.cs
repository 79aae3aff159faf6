using System.Security.Cryptography;

namespace Stratus.ControlPlane.Registry;

/// <summary>
/// Model files on disk, addressed by their SHA-256 (<c>sha256/ab/abcd…</c>). Uploads stream into a temporary file in
/// the same folder while being hashed, so a model of hundreds of MB never sits in memory, and the final rename is
/// atomic: a reader sees a whole file or none.
/// </summary>
public sealed class ContentStore(string root)
{
    public string Root { get; } = root;

    public string PathOf(string sha256) => Path.Combine(Root, "sha256", sha256[..2], sha256);

    public bool Contains(string sha256) => File.Exists(PathOf(sha256));

    /// <summary>Streams content to a temporary file, returning it with its hash and size; the caller commits or deletes it.</summary>
    public async Task<StagedContent> StageAsync(Stream content, long maxBytes, CancellationToken cancellationToken)
    {
        var staging = Path.Combine(Root, "staging");
        Directory.CreateDirectory(staging);
        var path = Path.Combine(staging, $"{Guid.NewGuid():N}.part");
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    size += read;
                    if (size > maxBytes)
                    {
                        throw new ModelRejectedException($"the model is larger than the limit of {maxBytes} bytes");
                    }

                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }

            return new StagedContent(path, Convert.ToHexStringLower(hash.GetHashAndReset()), size);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Moves staged content to its address; identical content already there is kept and the copy dropped.</summary>
    public string Commit(StagedContent staged)
    {
        var target = PathOf(staged.Sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (File.Exists(target))
        {
            File.Delete(staged.Path);
        }
        else
        {
            // Two pushes of the same bytes can race here; replacing a file with identical content is harmless.
            File.Move(staged.Path, target, overwrite: true);
        }

        return target;
    }
}

public sealed record StagedContent(string Path, string Sha256, long Size);

/// <summary>An upload the registry refuses, with the reason the caller sees.</summary>
public sealed class ModelRejectedException(string message, Exception? inner = null) : Exception(message, inner);
