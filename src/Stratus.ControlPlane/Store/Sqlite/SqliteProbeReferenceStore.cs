using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using Stratus.ControlPlane.Deployments.Consistency;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>Probe references in the SQLite file.</summary>
public sealed class SqliteProbeReferenceStore(SqliteDatabase database, TimeProvider time) : IProbeReferenceStore
{
    private static readonly JsonSerializerOptions Numbers = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public Task<ProbeReference> SetIfAbsentAsync(string modelSha256, string probeSha256, ProbeReference candidate, CancellationToken cancellationToken = default) => database.WriteAsync(
        async (connection, transaction) =>
        {
            await using (var insert = SqliteDatabase.Command(
                connection,
                transaction,
                """
                INSERT INTO probe_references (model_sha256, probe_sha256, answered, answer_json, detail, replica, created_at)
                VALUES ($model, $probe, $answered, $answer, $detail, $replica, $at)
                ON CONFLICT (model_sha256, probe_sha256) DO NOTHING;
                """,
                ("$model", modelSha256),
                ("$probe", probeSha256),
                ("$answered", candidate.Answered ? 1 : 0),
                ("$answer", candidate.Answer is null ? null : JsonSerializer.Serialize(candidate.Answer, Numbers)),
                ("$detail", candidate.Detail),
                ("$replica", candidate.Replica),
                ("$at", time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture))))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            return (await ReadAsync(connection, transaction, modelSha256, probeSha256, cancellationToken))[probeSha256];
        },
        cancellationToken);

    public async Task<IReadOnlyDictionary<string, ProbeReference>> ListAsync(string modelSha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        return await ReadAsync(connection, null, modelSha256, null, cancellationToken);
    }

    private static async Task<Dictionary<string, ProbeReference>> ReadAsync(SqliteConnection connection, SqliteTransaction? transaction, string modelSha256, string? probeSha256, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(
            connection,
            transaction,
            "SELECT probe_sha256, answered, answer_json, detail, replica FROM probe_references WHERE model_sha256 = $model AND ($probe IS NULL OR probe_sha256 = $probe);",
            ("$model", modelSha256),
            ("$probe", probeSha256));
        var references = new Dictionary<string, ProbeReference>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            references[reader.GetString(0)] = new ProbeReference(
                reader.GetInt64(1) != 0,
                reader.IsDBNull(2) ? null : JsonSerializer.Deserialize<double[]>(reader.GetString(2), Numbers),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4));
        }

        return references;
    }
}
