using System.Globalization;
using Microsoft.Data.Sqlite;
using Stratus.ControlPlane.Registry;
using Stratus.Core.Models;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>Model versions and their samples in the SQLite file.</summary>
public sealed class SqliteModelVersionStore(SqliteDatabase database, TimeProvider time) : IModelVersionStore
{
    private const string Columns = "name, version, sha256, size_bytes, signature_json, created_at, created_by, (SELECT COUNT(*) FROM model_samples s WHERE s.model = v.name AND s.version = v.version)";

    // The write lock is taken before the next number is read, so concurrent adds of one name get distinct versions.
    public Task<ModelVersion> AddAsync(string name, string sha256, long sizeBytes, ModelSignature signature, string createdBy, IReadOnlyList<SampleRequest>? samples = null, CancellationToken cancellationToken = default) => database.WriteAsync(
        async (connection, transaction) =>
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO model_versions (name, version, sha256, size_bytes, signature_json, created_at, created_by)
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
            var added = await InsertSamplesAsync(connection, transaction, name, version, samples ?? [], at, cancellationToken);
            return new ModelVersion(name, version, sha256, sizeBytes, signature, at, createdBy) { Samples = added };
        },
        cancellationToken);

    public Task<int> AddSamplesAsync(string name, int version, IReadOnlyList<SampleRequest> samples, CancellationToken cancellationToken = default) =>
        database.WriteAsync((connection, transaction) => InsertSamplesAsync(connection, transaction, name, version, samples, time.GetUtcNow(), cancellationToken), cancellationToken);

    private static async Task<int> InsertSamplesAsync(SqliteConnection connection, SqliteTransaction transaction, string name, int version, IReadOnlyList<SampleRequest> samples, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var added = 0;
        foreach (var sample in samples)
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO model_samples (model, version, seq, sha256, body, source, created_at)
                VALUES ($name, $version, (SELECT COALESCE(MAX(seq), 0) + 1 FROM model_samples WHERE model = $name AND version = $version), $sha, $body, $source, $at)
                ON CONFLICT (model, version, sha256) DO NOTHING;
                """;
            insert.Parameters.AddWithValue("$name", name);
            insert.Parameters.AddWithValue("$version", version);
            insert.Parameters.AddWithValue("$sha", sample.Sha256);
            insert.Parameters.AddWithValue("$body", sample.Body);
            insert.Parameters.AddWithValue("$source", sample.Source);
            insert.Parameters.AddWithValue("$at", at.ToString("O", CultureInfo.InvariantCulture));
            added += await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return added;
    }

    public async Task<IReadOnlyList<ModelSample>> ListSamplesAsync(string name, int version, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, sha256, source, created_at, body FROM model_samples WHERE model = $name AND version = $version ORDER BY seq;";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        var samples = new List<ModelSample>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            samples.Add(new ModelSample(
                reader.GetInt32(0),
                reader.GetString(1),
                reader.GetString(2),
                DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                reader.GetString(4)));
        }

        return samples;
    }

    public async Task<IReadOnlyList<ModelVersion>> ListAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = name is null
            ? $"SELECT {Columns} FROM model_versions v ORDER BY name, version;"
            : $"SELECT {Columns} FROM model_versions v WHERE name = $name ORDER BY version;";
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
                reader.GetString(6))
            {
                Samples = reader.GetInt32(7),
            });
        }

        return versions;
    }

    public async Task<ModelVersion?> GetAsync(string name, int version, CancellationToken cancellationToken = default) =>
        (await ListAsync(name, cancellationToken)).FirstOrDefault(v => v.Version == version);
}
