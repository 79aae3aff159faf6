using System.Text.Json;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;
using Stratus.Core.Scaling;

namespace Stratus.ControlPlane.Store.Relational;

/// <summary>Desired deployments, observed replicas, keys, rollouts and consistency notes in a relational database.</summary>
public abstract class RelationalDeploymentStore : IDeploymentStateStore
{
    private readonly IRelationalDatabase _database;
    private readonly TimeProvider _time;

    private protected RelationalDeploymentStore(IRelationalDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    public async Task PutAsync(Deployment deployment, CancellationToken cancellationToken = default) => await ExecuteAsync(
        """
        INSERT INTO deployments (name, model, model_version, replicas, shape, placement_json, public, traffic_json, autoscaling_json, record_probes, updated_at) VALUES (@name, @model, @version, @replicas, @shape, @placement, @public, @traffic, @autoscaling, @record, @at)
        ON CONFLICT (name) DO UPDATE SET model = @model, model_version = @version, replicas = @replicas, shape = @shape, placement_json = @placement, public = @public, traffic_json = @traffic, autoscaling_json = @autoscaling, record_probes = @record, updated_at = @at;
        """,
        cancellationToken,
        ("@name", deployment.Name),
        ("@model", deployment.Model),
        ("@version", deployment.ModelVersion),
        ("@replicas", deployment.Replicas),
        ("@shape", deployment.Shape),
        ("@placement", JsonSerializer.Serialize(deployment.Placement, StoreJson.Options)),
        ("@public", deployment.Public),
        ("@traffic", JsonSerializer.Serialize(deployment.Traffic, StoreJson.Options)),
        ("@autoscaling", deployment.Autoscaling is null ? null : JsonSerializer.Serialize(deployment.Autoscaling, StoreJson.Options)),
        ("@record", deployment.RecordProbes));

    /// <summary>Deletes the deployment, its keys and its consistency notes, in one transaction.</summary>
    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) => _database.WriteAsync(
        async (connection, transaction) =>
        {
            await Sql.ExecuteAsync(connection, transaction, "DELETE FROM deployment_keys WHERE deployment = @name; DELETE FROM consistency_notes WHERE deployment = @name;", cancellationToken, ("@name", name));
            return await Sql.ExecuteAsync(connection, transaction, "DELETE FROM deployments WHERE name = @name;", cancellationToken, ("@name", name)) == 1;
        },
        cancellationToken);

    public async Task<bool> PutConsistencyAsync(ConsistencyNote note, CancellationToken cancellationToken = default) => await ExecuteAsync(
        """
        INSERT INTO consistency_notes (deployment, version, checked, note, updated_at) VALUES (@deployment, @version, @checked, @note, @noted)
        ON CONFLICT (deployment, version) DO UPDATE SET checked = @checked, note = @note, updated_at = @noted
        WHERE consistency_notes.note <> @note OR consistency_notes.checked <> @checked;
        """,
        cancellationToken,
        ("@deployment", note.Deployment),
        ("@version", note.Version),
        ("@checked", note.Checked),
        ("@note", note.Note),
        ("@noted", _database.Time(note.At))) == 1;

    public async Task<IReadOnlyList<ConsistencyNote>> ListConsistencyAsync(CancellationToken cancellationToken = default) => await _database.QueryAsync(
        "SELECT deployment, version, checked, note, updated_at FROM consistency_notes ORDER BY deployment, version;",
        reader => new ConsistencyNote(reader.GetString(0), reader.GetInt32(1), reader.GetBoolean(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)),
        cancellationToken);

    public async Task AddKeyAsync(DeploymentKey key, CancellationToken cancellationToken = default) => await ExecuteAsync(
        "INSERT INTO deployment_keys (id, deployment, hash, description, created_at) VALUES (@id, @deployment, @hash, @description, @created);",
        cancellationToken,
        ("@id", key.Id),
        ("@deployment", key.Deployment),
        ("@hash", key.Hash),
        ("@description", key.Description),
        ("@created", _database.Time(key.CreatedAt)));

    public async Task<bool> RevokeKeyAsync(string deployment, string id, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("UPDATE deployment_keys SET revoked_at = @at WHERE id = @id AND deployment = @deployment AND revoked_at IS NULL;", cancellationToken, ("@id", id), ("@deployment", deployment)) == 1;

    public async Task<IReadOnlyList<DeploymentKey>> ListKeysAsync(CancellationToken cancellationToken = default) => await _database.QueryAsync(
        "SELECT id, deployment, description, hash, created_at, revoked_at FROM deployment_keys ORDER BY created_at, id;",
        reader => new DeploymentKey(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetTime(5)),
        cancellationToken);

    public async Task PutRolloutAsync(Rollout rollout, CancellationToken cancellationToken = default) => await ExecuteAsync(
        "INSERT INTO rollouts (deployment, rollout_json, updated_at) VALUES (@deployment, @json, @at) ON CONFLICT (deployment) DO UPDATE SET rollout_json = @json, updated_at = @at;",
        cancellationToken,
        ("@deployment", rollout.Deployment),
        ("@json", JsonSerializer.Serialize(rollout, StoreJson.Options)));

    public async Task<IReadOnlyList<Rollout>> ListRolloutsAsync(CancellationToken cancellationToken = default) => await _database.QueryAsync(
        "SELECT rollout_json FROM rollouts ORDER BY deployment;",
        reader => JsonSerializer.Deserialize<Rollout>(reader.GetString(0), StoreJson.Options)!,
        cancellationToken);

    public async Task<IReadOnlyList<Deployment>> ListAsync(CancellationToken cancellationToken = default) => await _database.QueryAsync(
        "SELECT name, model, model_version, replicas, shape, placement_json, public, traffic_json, autoscaling_json, record_probes FROM deployments ORDER BY name;",
        reader => new Deployment(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4))
        {
            Placement = reader.GetText(5) is { } placement ? JsonSerializer.Deserialize<PlacementConstraints>(placement, StoreJson.Options) ?? new() : new(),
            Public = reader.GetBoolean(6),
            Traffic = reader.GetText(7) is { } traffic ? JsonSerializer.Deserialize<List<TrafficSplit>>(traffic, StoreJson.Options) ?? [] : [],
            Autoscaling = reader.GetText(8) is { } autoscaling ? JsonSerializer.Deserialize<AutoscalingSpec>(autoscaling, StoreJson.Options) : null,
            RecordProbes = reader.GetInt32(9),
        },
        cancellationToken);

    public async Task<IReadOnlyList<ReplicaRecord>> ListReplicasAsync(CancellationToken cancellationToken = default) => await _database.QueryAsync(
        "SELECT id, deployment, cloud, shape, state, reason, endpoint, drain_until, spot, model_version FROM replicas ORDER BY deployment, id;",
        reader => new ReplicaRecord(
            reader.GetString(0),
            reader.GetString(1),
            reader.GetString(2),
            reader.GetString(3),
            Enum.Parse<ReplicaState>(reader.GetString(4)),
            reader.GetText(5),
            reader.GetText(6) is { } endpoint ? new Uri(endpoint) : null)
        {
            DrainUntil = reader.GetTime(7),
            Spot = reader.GetBoolean(8),
            ModelVersion = reader.GetInt32(9),
        },
        cancellationToken);

    public async Task PutReplicaAsync(ReplicaRecord replica, CancellationToken cancellationToken = default) => await ExecuteAsync(
        """
        INSERT INTO replicas (id, deployment, cloud, shape, state, reason, endpoint, drain_until, spot, model_version, updated_at) VALUES (@id, @deployment, @cloud, @shape, @state, @reason, @endpoint, @drain, @spot, @version, @at)
        ON CONFLICT (id) DO UPDATE SET state = @state, reason = @reason, endpoint = @endpoint, drain_until = @drain, spot = @spot, model_version = @version, updated_at = @at;
        """,
        cancellationToken,
        ("@id", replica.Id),
        ("@deployment", replica.Deployment),
        ("@cloud", replica.Cloud),
        ("@shape", replica.Shape),
        ("@state", replica.State.ToString()),
        ("@reason", replica.Reason),
        ("@endpoint", replica.Endpoint?.ToString()),
        ("@drain", replica.DrainUntil is { } drain ? _database.Time(drain) : null),
        ("@spot", replica.Spot),
        ("@version", replica.ModelVersion));

    public async Task DeleteReplicaAsync(string id, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("DELETE FROM replicas WHERE id = @id;", cancellationToken, ("@id", id));

    private Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        _database.ExecuteAsync(sql, cancellationToken, [.. parameters, ("@at", _database.Time(_time.GetUtcNow()))]);
}
