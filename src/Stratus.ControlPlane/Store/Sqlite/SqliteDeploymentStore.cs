using System.Globalization;
using System.Text.Json;
using Stratus.Core.Deployments;
using Stratus.Core.Placement;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>Desired deployments and observed replicas in the SQLite file.</summary>
public sealed class SqliteDeploymentStore(SqliteDatabase database, TimeProvider time) : IDeploymentStateStore
{
    public async Task PutAsync(Deployment deployment, CancellationToken cancellationToken = default) => await ExecuteAsync(
        """
        INSERT INTO deployments (name, model, model_version, replicas, shape, placement_json, public, traffic_json, autoscaling_json, record_probes, updated_at) VALUES ($name, $model, $version, $replicas, $shape, $placement, $public, $traffic, $autoscaling, $record, $at)
        ON CONFLICT (name) DO UPDATE SET model = $model, model_version = $version, replicas = $replicas, shape = $shape, placement_json = $placement, public = $public, traffic_json = $traffic, autoscaling_json = $autoscaling, record_probes = $record, updated_at = $at;
        """,
        cancellationToken,
        ("$name", deployment.Name),
        ("$model", deployment.Model),
        ("$version", deployment.ModelVersion),
        ("$replicas", deployment.Replicas),
        ("$shape", deployment.Shape),
        ("$placement", JsonSerializer.Serialize(deployment.Placement, StoreJson.Options)),
        ("$public", deployment.Public ? 1 : 0),
        ("$traffic", JsonSerializer.Serialize(deployment.Traffic, StoreJson.Options)),
        ("$autoscaling", deployment.Autoscaling is null ? null : JsonSerializer.Serialize(deployment.Autoscaling, StoreJson.Options)),
        ("$record", deployment.RecordProbes));

    /// <summary>Deletes the deployment, its keys and its consistency notes, in one transaction.</summary>
    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) => database.WriteAsync(
        async (connection, transaction) =>
        {
            await using var dependents = SqliteDatabase.Command(connection, transaction, "DELETE FROM deployment_keys WHERE deployment = $name; DELETE FROM consistency_notes WHERE deployment = $name;", ("$name", name));
            await dependents.ExecuteNonQueryAsync(cancellationToken);
            await using var deployment = SqliteDatabase.Command(connection, transaction, "DELETE FROM deployments WHERE name = $name;", ("$name", name));
            return await deployment.ExecuteNonQueryAsync(cancellationToken) == 1;
        },
        cancellationToken);

    public async Task<bool> PutConsistencyAsync(ConsistencyNote note, CancellationToken cancellationToken = default) => await ExecuteAsync(
        """
        INSERT INTO consistency_notes (deployment, version, checked, note, updated_at) VALUES ($deployment, $version, $checked, $note, $noted)
        ON CONFLICT (deployment, version) DO UPDATE SET checked = $checked, note = $note, updated_at = $noted WHERE note <> $note OR checked <> $checked;
        """,
        cancellationToken,
        ("$deployment", note.Deployment),
        ("$version", note.Version),
        ("$checked", note.Checked ? 1 : 0),
        ("$note", note.Note),
        ("$noted", note.At.ToString("O", CultureInfo.InvariantCulture))) == 1;

    public async Task<IReadOnlyList<ConsistencyNote>> ListConsistencyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT deployment, version, checked, note, updated_at FROM consistency_notes ORDER BY deployment, version;";
        var notes = new List<ConsistencyNote>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            notes.Add(new ConsistencyNote(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2) != 0, reader.GetString(3), DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture)));
        }

        return notes;
    }

    public async Task AddKeyAsync(DeploymentKey key, CancellationToken cancellationToken = default) => await ExecuteAsync(
        "INSERT INTO deployment_keys (id, deployment, hash, description, created_at) VALUES ($id, $deployment, $hash, $description, $created);",
        cancellationToken,
        ("$id", key.Id),
        ("$deployment", key.Deployment),
        ("$hash", key.Hash),
        ("$description", key.Description),
        ("$created", key.CreatedAt.ToString("O", CultureInfo.InvariantCulture)));

    public async Task<bool> RevokeKeyAsync(string deployment, string id, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("UPDATE deployment_keys SET revoked_at = $at WHERE id = $id AND deployment = $deployment AND revoked_at IS NULL;", cancellationToken, ("$id", id), ("$deployment", deployment)) == 1;

    public async Task PutRolloutAsync(Rollout rollout, CancellationToken cancellationToken = default) => await ExecuteAsync(
        "INSERT INTO rollouts (deployment, rollout_json, updated_at) VALUES ($deployment, $json, $at) ON CONFLICT (deployment) DO UPDATE SET rollout_json = $json, updated_at = $at;",
        cancellationToken,
        ("$deployment", rollout.Deployment),
        ("$json", JsonSerializer.Serialize(rollout, StoreJson.Options)));

    public async Task<IReadOnlyList<Rollout>> ListRolloutsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT rollout_json FROM rollouts ORDER BY deployment;";
        var rollouts = new List<Rollout>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rollouts.Add(JsonSerializer.Deserialize<Rollout>(reader.GetString(0), StoreJson.Options)!);
        }

        return rollouts;
    }

    public async Task<IReadOnlyList<DeploymentKey>> ListKeysAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, deployment, description, hash, created_at, revoked_at FROM deployment_keys ORDER BY created_at, id;";
        var keys = new List<DeploymentKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new DeploymentKey(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture),
                reader.IsDBNull(5) ? null : DateTimeOffset.Parse(reader.GetString(5), CultureInfo.InvariantCulture)));
        }

        return keys;
    }

    public async Task<IReadOnlyList<Deployment>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, model, model_version, replicas, shape, placement_json, public, traffic_json, autoscaling_json, record_probes FROM deployments ORDER BY name;";
        var deployments = new List<Deployment>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            deployments.Add(new Deployment(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetString(4))
            {
                Placement = reader.IsDBNull(5) ? new() : JsonSerializer.Deserialize<PlacementConstraints>(reader.GetString(5), StoreJson.Options) ?? new(),
                Public = reader.GetInt64(6) != 0,
                Traffic = reader.IsDBNull(7) ? [] : JsonSerializer.Deserialize<List<TrafficSplit>>(reader.GetString(7), StoreJson.Options) ?? [],
                Autoscaling = reader.IsDBNull(8) ? null : JsonSerializer.Deserialize<Stratus.Core.Scaling.AutoscalingSpec>(reader.GetString(8), StoreJson.Options),
                RecordProbes = reader.GetInt32(9),
            });
        }

        return deployments;
    }

    public async Task<IReadOnlyList<ReplicaRecord>> ListReplicasAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, deployment, cloud, shape, state, reason, endpoint, drain_until, spot, model_version FROM replicas ORDER BY deployment, id;";
        var replicas = new List<ReplicaRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            replicas.Add(new ReplicaRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                Enum.Parse<ReplicaState>(reader.GetString(4)),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : new Uri(reader.GetString(6)))
            {
                DrainUntil = reader.IsDBNull(7) ? null : DateTimeOffset.Parse(reader.GetString(7), CultureInfo.InvariantCulture),
                Spot = reader.GetInt64(8) != 0,
                ModelVersion = reader.GetInt32(9),
            });
        }

        return replicas;
    }

    public async Task PutReplicaAsync(ReplicaRecord replica, CancellationToken cancellationToken = default) => await ExecuteAsync(
        """
        INSERT INTO replicas (id, deployment, cloud, shape, state, reason, endpoint, drain_until, spot, model_version, updated_at) VALUES ($id, $deployment, $cloud, $shape, $state, $reason, $endpoint, $drain, $spot, $version, $at)
        ON CONFLICT (id) DO UPDATE SET state = $state, reason = $reason, endpoint = $endpoint, drain_until = $drain, spot = $spot, model_version = $version, updated_at = $at;
        """,
        cancellationToken,
        ("$id", replica.Id),
        ("$deployment", replica.Deployment),
        ("$cloud", replica.Cloud),
        ("$shape", replica.Shape),
        ("$state", replica.State.ToString()),
        ("$reason", replica.Reason),
        ("$endpoint", replica.Endpoint?.ToString()),
        ("$drain", replica.DrainUntil?.ToString("O", CultureInfo.InvariantCulture)),
        ("$spot", replica.Spot ? 1 : 0),
        ("$version", replica.ModelVersion));

    public async Task DeleteReplicaAsync(string id, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("DELETE FROM replicas WHERE id = $id;", cancellationToken, ("$id", id));

    private Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) => database.WriteAsync(
        async (connection, transaction) =>
        {
            await using var command = SqliteDatabase.Command(connection, transaction, sql, [.. parameters, ("$at", time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture))]);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        },
        cancellationToken);
}
