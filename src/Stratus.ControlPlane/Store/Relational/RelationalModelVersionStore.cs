using System.Data.Common;
using System.Globalization;
using Stratus.ControlPlane.Registry;
using Stratus.Core.Models;

namespace Stratus.ControlPlane.Store.Relational;

/// <summary>Model versions and their samples in a relational database.</summary>
public abstract class RelationalModelVersionStore : IModelVersionStore
{
    private const string Columns = "name, version, sha256, size_bytes, signature_json, created_at, created_by, (SELECT COUNT(*) FROM model_samples s WHERE s.model = v.name AND s.version = v.version)";

    private readonly IRelationalDatabase _database;
    private readonly TimeProvider _time;

    private protected RelationalModelVersionStore(IRelationalDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    // The name's lock is taken before the next number is read, so concurrent adds get distinct, consecutive versions.
    public Task<ModelVersion> AddAsync(string name, string sha256, long sizeBytes, ModelSignature signature, string createdBy, IReadOnlyList<SampleRequest>? samples = null, CancellationToken cancellationToken = default) => _database.WriteAsync(
        async (connection, transaction) =>
        {
            await _database.LockAsync(connection, transaction, LockKind.ModelVersions, name, cancellationToken);
            var at = _database.Kept(_time.GetUtcNow());
            await using var insert = Sql.Command(
                connection,
                transaction,
                """
                INSERT INTO model_versions (name, version, sha256, size_bytes, signature_json, created_at, created_by)
                VALUES (@name, (SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = @name), @sha, @size, @signature, @at, @by)
                RETURNING version;
                """,
                ("@name", name),
                ("@sha", sha256),
                ("@size", sizeBytes),
                ("@signature", SignatureJson.Format(signature)),
                ("@at", _database.Time(at)),
                ("@by", createdBy));
            var version = Convert.ToInt32(await insert.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            var added = await InsertSamplesAsync(connection, transaction, name, version, samples ?? [], at, cancellationToken);
            return new ModelVersion(name, version, sha256, sizeBytes, signature, at, createdBy) { Samples = added };
        },
        cancellationToken);

    public Task<int> AddSamplesAsync(string name, int version, IReadOnlyList<SampleRequest> samples, CancellationToken cancellationToken = default) => _database.WriteAsync(
        async (connection, transaction) =>
        {
            await _database.LockAsync(connection, transaction, LockKind.ModelVersions, name, cancellationToken);
            return await InsertSamplesAsync(connection, transaction, name, version, samples, _time.GetUtcNow(), cancellationToken);
        },
        cancellationToken);

    private async Task<int> InsertSamplesAsync(DbConnection connection, DbTransaction transaction, string name, int version, IReadOnlyList<SampleRequest> samples, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var added = 0;
        foreach (var sample in samples)
        {
            added += await Sql.ExecuteAsync(
                connection,
                transaction,
                """
                INSERT INTO model_samples (model, version, seq, sha256, body, source, created_at)
                VALUES (@name, @version, (SELECT COALESCE(MAX(seq), 0) + 1 FROM model_samples WHERE model = @name AND version = @version), @sha, @body, @source, @at)
                ON CONFLICT (model, version, sha256) DO NOTHING;
                """,
                cancellationToken,
                ("@name", name),
                ("@version", version),
                ("@sha", sample.Sha256),
                ("@body", sample.Body),
                ("@source", sample.Source),
                ("@at", _database.Time(at)));
        }

        return added;
    }

    public async Task<IReadOnlyList<ModelSample>> ListSamplesAsync(string name, int version, CancellationToken cancellationToken = default) => await _database.QueryAsync(
        "SELECT seq, sha256, source, created_at, body FROM model_samples WHERE model = @name AND version = @version ORDER BY seq;",
        reader => new ModelSample(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetString(4)),
        cancellationToken,
        ("@name", name),
        ("@version", version));

    public async Task<IReadOnlyList<ModelVersion>> ListAsync(string? name = null, CancellationToken cancellationToken = default) => await _database.QueryAsync(
        name is null
            ? $"SELECT {Columns} FROM model_versions v ORDER BY name, version;"
            : $"SELECT {Columns} FROM model_versions v WHERE name = @name ORDER BY version;",
        reader => new ModelVersion(
            reader.GetString(0),
            reader.GetInt32(1),
            reader.GetString(2),
            reader.GetInt64(3),
            SignatureJson.Parse(reader.GetString(4)),
            reader.GetFieldValue<DateTimeOffset>(5),
            reader.GetString(6))
        {
            Samples = Convert.ToInt32(reader.GetValue(7), CultureInfo.InvariantCulture),
        },
        cancellationToken,
        ("@name", name));

    public async Task<ModelVersion?> GetAsync(string name, int version, CancellationToken cancellationToken = default) =>
        (await ListAsync(name, cancellationToken)).FirstOrDefault(v => v.Version == version);
}
