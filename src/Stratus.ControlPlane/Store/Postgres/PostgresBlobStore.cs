using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>
/// Model bytes in PostgreSQL, as 1 MiB <c>bytea</c> chunks written in one transaction, so servers that share the
/// database share the models without a shared file system. Each server keeps a local cache of the blobs it has
/// read (verified by SHA-256 and size on the way in), which is where <see cref="LocalPathAsync"/> points.
/// </summary>
public sealed class PostgresBlobStore(PostgresDatabase database, string cacheDirectory) : IBlobStore
{
    public const int ChunkBytes = 1 << 20;

    public Task<StagedContent> StageAsync(Stream content, long maxBytes, CancellationToken cancellationToken = default) =>
        BlobFiles.WriteAsync(Staging, content, maxBytes, cancellationToken);

    // The blob's lock makes a second server committing the same bytes wait, then find them stored.
    public async Task CommitAsync(StagedContent staged, CancellationToken cancellationToken = default)
    {
        await database.WriteAsync(
            async (connection, transaction) =>
            {
                await ((IRelationalDatabase)database).LockAsync(connection, transaction, LockKind.Blobs, staged.Sha256, cancellationToken);
                if ((await Sql.QueryAsync(connection, transaction, "SELECT 1 FROM blobs WHERE sha256 = @sha;", _ => true, cancellationToken, ("@sha", staged.Sha256))).Count > 0)
                {
                    return false;
                }

                await using var file = new FileStream(staged.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
                var buffer = new byte[ChunkBytes];
                var seq = 0;
                int read;
                while ((read = await file.ReadAtLeastAsync(buffer, ChunkBytes, throwOnEndOfStream: false, cancellationToken)) > 0)
                {
                    await Sql.ExecuteAsync(connection, transaction, "INSERT INTO blob_chunks (sha256, seq, data) VALUES (@sha, @seq, @data);", cancellationToken, ("@sha", staged.Sha256), ("@seq", seq++), ("@data", read == ChunkBytes ? buffer : buffer[..read]));
                }

                await Sql.ExecuteAsync(connection, transaction, "INSERT INTO blobs (sha256, size_bytes, chunks, created_at) VALUES (@sha, @size, @chunks, clock_timestamp());", cancellationToken, ("@sha", staged.Sha256), ("@size", staged.Size), ("@chunks", seq));
                return true;
            },
            cancellationToken);

        // The staged bytes were hashed as they came in: they are this server's cached copy.
        BlobFiles.Place(staged.Path, BlobFiles.PathOf(cacheDirectory, staged.Sha256));
    }

    public async Task<bool> ContainsAsync(string sha256, CancellationToken cancellationToken = default) =>
        (await ((IRelationalDatabase)database).QueryAsync("SELECT 1 FROM blobs WHERE sha256 = @sha;", _ => true, cancellationToken, ("@sha", sha256))).Count > 0;

    public async Task<Stream> OpenReadAsync(string sha256, CancellationToken cancellationToken = default) =>
        new FileStream(await LocalPathAsync(sha256, cancellationToken), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);

    /// <summary>The cached file, written from the database first when this server has not read the blob yet.</summary>
    public async Task<string> LocalPathAsync(string sha256, CancellationToken cancellationToken = default)
    {
        var cached = BlobFiles.PathOf(cacheDirectory, sha256);
        if (File.Exists(cached))
        {
            return cached;
        }

        await using var connection = await database.ConnectAsync(cancellationToken);
        var size = (await Sql.QueryAsync(connection, null, "SELECT size_bytes FROM blobs WHERE sha256 = @sha;", reader => reader.GetInt64(0), cancellationToken, ("@sha", sha256)))
            .Cast<long?>().SingleOrDefault() ?? throw new FileNotFoundException($"no model with SHA-256 {sha256} in the database");
        var read = await BlobFiles.WriteAsync(Staging, ChunksAsync(connection, sha256, cancellationToken), long.MaxValue, cancellationToken);
        try
        {
            if (read.Sha256 != sha256 || read.Size != size)
            {
                throw new InvalidDataException($"the stored model {sha256} reads back as {read.Size} bytes with SHA-256 {read.Sha256}; its chunks are damaged");
            }

            return BlobFiles.Place(read.Path, cached);
        }
        finally
        {
            File.Delete(read.Path);
        }
    }

    private static async IAsyncEnumerable<ReadOnlyMemory<byte>> ChunksAsync(DbConnection connection, string sha256, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, null, "SELECT data FROM blob_chunks WHERE sha256 = @sha ORDER BY seq;", ("@sha", sha256));
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return await reader.GetFieldValueAsync<byte[]>(0, cancellationToken);
        }
    }

    private string Staging => Path.Combine(cacheDirectory, "staging");
}
