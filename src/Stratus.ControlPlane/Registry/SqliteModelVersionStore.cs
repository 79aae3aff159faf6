using System.Globalization;
using Stratus.ControlPlane.Store;
using Stratus.Core.Models;

namespace Stratus.ControlPlane.Registry;

/// <summary>
/// The registry's records of model versions (the bytes live in the <see cref="ContentStore"/>). Every store passes
/// <c>ModelVersionStoreContractTests</c>: above all, concurrent adds of one name get distinct, consecutive versions.
/// </summary>
public interface IModelVersionStore
{
    /// <summary>Records the next version of <paramref name="name"/> (1 for a new name), atomically.</summary>
    Task<ModelVersion> AddAsync(string name, string sha256, long sizeBytes, ModelSignature signature, string createdBy, CancellationToken cancellationToken = default);

    /// <summary>Every version, by name then version; or one name's versions, oldest first.</summary>
    Task<IReadOnlyList<ModelVersion>> ListAsync(string? name = null, CancellationToken cancellationToken = default);

    Task<ModelVersion?> GetAsync(string name, int version, CancellationToken cancellationToken = default);
}

/// <summary>Model versions in the SQLite file.</summary>
public sealed class SqliteModelVersionStore(SqliteDatabase database, TimeProvider time) : IModelVersionStore
{
    private const string Columns = "name, version, sha256, size_bytes, signature_json, created_at, created_by";

    public async Task<ModelVersion> AddAsync(string name, string sha256, long sizeBytes, ModelSignature signature, string createdBy, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);

        // The write lock is taken before the next number is read, so concurrent adds of one name get distinct versions.
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = $"""
            INSERT INTO model_versions ({Columns})
            VALUES ($name, (SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = $name), $sha, $size, $signature, $at, $by)
            RETURNING version;
            """;
        var at = time.GetUtcNow();
        insert.Parameters.AddWithValue("$name", name);
        insert.Parameters.AddWithValue("$sha", sha256);
        insert.Parameters.AddWithValue("$size", sizeBytes);
        insert.Parameters.AddWithValue("$signature", SignatureJson.Format(signature));
        insert.Parameters.AddWithValue("$at", at.ToString("O", CultureInfo.InvariantCulture));
        insert.Parameters.AddWithValue("$by", createdBy);
        var version = Convert.ToInt32(await insert.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        await transaction.CommitAsync(cancellationToken);
        return new ModelVersion(name, version, sha256, sizeBytes, signature, at, createdBy);
    }

    public async Task<IReadOnlyList<ModelVersion>> ListAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = name is null
            ? $"SELECT {Columns} FROM model_versions ORDER BY name, version;"
            : $"SELECT {Columns} FROM model_versions WHERE name = $name ORDER BY version;";
        command.Parameters.AddWithValue("$name", (object?)name ?? DBNull.Value);
        var versions = new List<ModelVersion>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            versions.Add(new ModelVersion(
                reader.GetString(0),
                reader.GetInt32(1),
                reader.GetString(2),
                reader.GetInt64(3),
                SignatureJson.Parse(reader.GetString(4)),
                DateTimeOffset.Parse(reader.GetString(5), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                reader.GetString(6)));
        }

        return versions;
    }

    public async Task<ModelVersion?> GetAsync(string name, int version, CancellationToken cancellationToken = default) =>
        (await ListAsync(name, cancellationToken)).FirstOrDefault(v => v.Version == version);
}
