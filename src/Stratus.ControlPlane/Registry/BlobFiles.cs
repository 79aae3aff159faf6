using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Stratus.ControlPlane.Registry;

/// <summary>
/// What every blob store does with local files: stream into a temporary file in a folder while hashing (so a model
/// of hundreds of MB never sits in memory), and move a finished file to its address atomically (a reader sees a whole
/// file or none).
/// </summary>
internal static class BlobFiles
{
    /// <summary>Where a blob lives under <paramref name="root"/>: <c>sha256/ab/abcd…</c>.</summary>
    public static string PathOf(string root, string sha256) => Path.Combine(root, "sha256", sha256[..2], sha256);

    /// <summary>Copies <paramref name="content"/> into a new file in <paramref name="folder"/>, hashing it; deletes the file and throws past <paramref name="maxBytes"/>.</summary>
    public static Task<StagedContent> WriteAsync(string folder, Stream content, long maxBytes, CancellationToken cancellationToken) =>
        WriteAsync(folder, ChunksOf(content, cancellationToken), maxBytes, cancellationToken);

    /// <summary>Writes <paramref name="chunks"/> into a new file in <paramref name="folder"/>, hashing them; deletes the file and throws past <paramref name="maxBytes"/> or when the disk is full (<see cref="StorageFullException"/>).</summary>
    public static async Task<StagedContent> WriteAsync(string folder, IAsyncEnumerable<ReadOnlyMemory<byte>> chunks, long maxBytes, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{Guid.NewGuid():N}.part");
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await foreach (var chunk in chunks.WithCancellation(cancellationToken))
                {
                    size += chunk.Length;
                    if (size > maxBytes)
                    {
                        throw new ModelRejectedException($"the model is larger than the limit of {maxBytes} bytes");
                    }

                    hash.AppendData(chunk.Span);
                    await file.WriteAsync(chunk, cancellationToken);
                }

                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }

            return new StagedContent(path, Convert.ToHexStringLower(hash.GetHashAndReset()), size);
        }
        catch (Exception e)
        {
            File.Delete(path);
            if (e is IOException io && StorageFullException.IsDiskFull(io))
            {
                throw new StorageFullException($"no space left for the model on the registry's disk ({io.Message})", io);
            }

            throw;
        }
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> ChunksOf(Stream content, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
        {
            yield return buffer.AsMemory(0, read);
        }
    }

    /// <summary>Moves a finished file to its address; identical content already there is kept and the copy dropped.</summary>
    public static string Place(string file, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (File.Exists(target))
        {
            File.Delete(file);
        }
        else
        {
            // Two writers of the same bytes can race here; replacing a file with identical content is harmless.
            File.Move(file, target, overwrite: true);
        }

        return target;
    }
}
