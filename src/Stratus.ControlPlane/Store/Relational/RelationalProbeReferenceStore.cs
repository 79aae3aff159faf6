using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using Stratus.ControlPlane.Deployments.Consistency;

namespace Stratus.ControlPlane.Store.Relational;

/// <summary>Probe references in a relational database; the first written wins, whichever server wrote it.</summary>
public abstract class RelationalProbeReferenceStore : IProbeReferenceStore
{
    private const string Select = "SELECT probe_sha256, answered, answer_json, detail, replica FROM probe_references WHERE model_sha256 = @model";

    private static readonly JsonSerializerOptions Numbers = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private readonly IRelationalDatabase _database;
    private readonly TimeProvider _time;

    private protected RelationalProbeReferenceStore(IRelationalDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    // A concurrent insert of the same probe makes ON CONFLICT wait for it, so the read that follows sees the winner.
    public Task<ProbeReference> SetIfAbsentAsync(string modelSha256, string probeSha256, ProbeReference candidate, CancellationToken cancellationToken = default) => _database.WriteAsync(
        async (connection, transaction) =>
        {
            await Sql.ExecuteAsync(
                connection,
                transaction,
                """
                INSERT INTO probe_references (model_sha256, probe_sha256, answered, answer_json, detail, replica, created_at)
                VALUES (@model, @probe, @answered, @answer, @detail, @replica, @at)
                ON CONFLICT (model_sha256, probe_sha256) DO NOTHING;
                """,
                cancellationToken,
                ("@model", modelSha256),
                ("@probe", probeSha256),
                ("@answered", candidate.Answered),
                ("@answer", candidate.Answer is null ? null : JsonSerializer.Serialize(candidate.Answer, Numbers)),
                ("@detail", candidate.Detail),
                ("@replica", candidate.Replica),
                ("@at", _database.Time(_time.GetUtcNow())));
            var stored = await Sql.QueryAsync(connection, transaction, $"{Select} AND probe_sha256 = @probe;", Read, cancellationToken, ("@model", modelSha256), ("@probe", probeSha256));
            return stored.Single().Reference;
        },
        cancellationToken);

    public async Task<IReadOnlyDictionary<string, ProbeReference>> ListAsync(string modelSha256, CancellationToken cancellationToken = default) =>
        (await _database.QueryAsync($"{Select};", Read, cancellationToken, ("@model", modelSha256))).ToDictionary(r => r.Probe, r => r.Reference, StringComparer.Ordinal);

    private static (string Probe, ProbeReference Reference) Read(DbDataReader reader) => (
        reader.GetString(0),
        new ProbeReference(
            reader.GetBoolean(1),
            reader.GetText(2) is { } answer ? JsonSerializer.Deserialize<double[]>(answer, Numbers) : null,
            reader.GetText(3),
            reader.GetString(4)));
}
