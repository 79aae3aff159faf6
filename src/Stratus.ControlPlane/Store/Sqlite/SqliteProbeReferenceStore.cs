using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Stratus.ControlPlane.Deployments.Consistency;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>Probe references in the SQLite file.</summary>
public sealed class SqliteProbeReferenceStore(SqliteDatabase database, TimeProvider time) : IProbeReferenceStore
{
    private static readonly JsonSerializerOptions Numbers = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public async Task<ProbeReference> SetIfAbsentAsync(string modelSha256, string probeSha256, ProbeReference candidate, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO probe_references (model_sha256, probe_sha256, answered, answer_json, detail, replica, created_at)
                VALUES ($model, $probe, $answered, $answer, $detail, $replica, $at)
                ON CONFLICT (model_sha256, probe_sha256) DO NOTHING;
                """;
            insert.Parameters.AddWithValue("$model", modelSha256);
            insert.Parameters.AddWithValue("$probe", probeSha256);
            insert.Parameters.AddWithValue("$answered", candidate.Answered ? 1 : 0);
            insert.Parameters.AddWithValue("$answer", candidate.Answer is null ? DBNull.Value : JsonSerializer.Serialize(candidate.Answer, Numbers));
            insert.Parameters.AddWithValue("$detail", (object?)candidate.Detail ?? DBNull.Value);
            insert.Parameters.AddWithValue("$replica", candidate.Replica);
            insert.Parameters.AddWithValue("$at", time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return (await ReadAsync(connection, modelSha256, probeSha256, cancellationToken))[probeSha256];
    }

    public async Task<IReadOnlyDictionary<string, ProbeReference>> ListAsync(string modelSha256, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        return await ReadAsync(connection, modelSha256, null, cancellationToken);
    }

    private static async Task<Dictionary<string, ProbeReference>> ReadAsync(Microsoft.Data.Sqlite.SqliteConnection connection, string modelSha256, string? probeSha256, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT probe_sha256, answered, answer_json, detail, replica FROM probe_references WHERE model_sha256 = $model AND ($probe IS NULL OR probe_sha256 = $probe);";
        command.Parameters.AddWithValue("$model", modelSha256);
        command.Parameters.AddWithValue("$probe", (object?)probeSha256 ?? DBNull.Value);
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
