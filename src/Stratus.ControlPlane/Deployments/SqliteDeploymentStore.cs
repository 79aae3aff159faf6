using System.Globalization;
using System.Text.Json;
using Stratus.Core.Placement;
using Stratus.ControlPlane.Store;

namespace Stratus.ControlPlane.Deployments;

/// <summary>What the user asked for: a model version, how many replicas, of which shape, placed under which constraints.</summary>
public sealed record Deployment(string Name, string Model, int ModelVersion, int Replicas, string Shape)
{
    public PlacementConstraints Placement { get; init; } = new();

    /// <summary>Anyone may call it through the gateway; otherwise callers need one of its keys.</summary>
    public bool Public { get; init; }

    /// <summary>
    /// How traffic splits between model versions, each with its own replicas (its count, or the deployment's);
    /// empty when <see cref="ModelVersion"/> takes it all.
    /// </summary>
    public IReadOnlyList<TrafficSplit> Traffic { get; init; } = [];

    /// <summary>When set, the autoscaler owns <see cref="Replicas"/> within these bounds.</summary>
    public Stratus.Core.Scaling.AutoscalingSpec? Autoscaling { get; init; }

    /// <summary>
    /// How many real requests (answered 2xx) gateways may record per model version as its sample requests, so later
    /// replicas are checked on real traffic; 0 (the default) keeps no payload at all.
    /// </summary>
    public int RecordProbes { get; init; }

    /// <summary>The model versions to run and how many replicas of each.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<(int Version, int Replicas)> VersionGroups =>
        Traffic.Count == 0 ? [(ModelVersion, Replicas)] : [.. Traffic.Select(t => (t.Version, t.Replicas ?? Replicas))];

    public bool Equals(Deployment? other) =>
        other is not null && Name == other.Name && Model == other.Model && ModelVersion == other.ModelVersion && Replicas == other.Replicas &&
        Shape == other.Shape && Public == other.Public && Placement == other.Placement && Traffic.SequenceEqual(other.Traffic) && Autoscaling == other.Autoscaling &&
        RecordProbes == other.RecordProbes;

    public override int GetHashCode() => HashCode.Combine(Name, Model, ModelVersion, Replicas, Shape, Public, Placement, Traffic.Count);

    /// <summary>The planner's question for this deployment.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public PlacementSpec PlacementSpec => new(Placement, Replicas, Shape);
}

/// <summary>A model version's share of a deployment's traffic (percent) and, optionally, its own replica count.</summary>
public sealed record TrafficSplit(int Version, int Weight, int? Replicas = null)
{
    /// <summary>Mirror this share of live requests to the version as a shadow (its answers compared, never returned); null for none.</summary>
    public MirrorSpec? Mirror { get; init; }
}

/// <summary>How much live traffic a shadow version receives as copies (percent), and how closely its answers must match.</summary>
public sealed record MirrorSpec(int Percent = 100, double AbsoluteTolerance = 1e-4, double RelativeTolerance = 1e-4);

/// <summary>How a new model version replaces the running one.</summary>
public enum RolloutStrategy
{
    /// <summary>Replace the replicas, new ones ready before old ones drain.</summary>
    Rolling,

    /// <summary>Step the new version's traffic weight up while canary analysis compares it with the stable one.</summary>
    Canary,

    /// <summary>Start the new version beside the old, switch all traffic once it is fully ready.</summary>
    BlueGreen,

    /// <summary>
    /// Start the new version beside the old and mirror live requests to it: its answers are compared with the stable
    /// ones and never reach a caller; promote when they match, roll back when they diverge or fail.
    /// </summary>
    Shadow,
}

public enum RolloutState
{
    Progressing,
    Paused,
    Promoted,
    RolledBack,
}

/// <summary>A deployment's move from one model version to another, with where it stands and why.</summary>
public sealed record Rollout(string Deployment, RolloutStrategy Strategy, int FromVersion, int ToVersion, int Replicas, int Step, DateTimeOffset StepStartedAt, RolloutState State, string Reason)
{
    /// <summary>Canary weights (percent) in order; the last is full promotion.</summary>
    public IReadOnlyList<int> Steps { get; init; } = [10, 25, 50, 100];

    public TimeSpan StepDuration { get; init; } = TimeSpan.FromSeconds(60);

    public long MinRequests { get; init; } = 50;

    /// <summary>How the new version's answers to the probe set differ from the old one's, once both have answered.</summary>
    public string? Divergence { get; init; }

    /// <summary>The canary's p99 may be this many times the stable one's, plus <see cref="LatencySlack"/>.</summary>
    public double MaxLatencyRatio { get; init; } = 2.0;

    public TimeSpan LatencySlack { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>The new version may fail this much more often than the stable one (0.01: one percentage point), overall and in any cloud.</summary>
    public double MaxErrorRateIncrease { get; init; } = 0.01;

    /// <summary>Shadow rollouts: the share of requests mirrored and how closely the answers must match.</summary>
    public MirrorSpec Mirror { get; init; } = new();

    /// <summary>Shadow rollouts: least share of rows whose arg-max agrees, for classifier outputs.</summary>
    public double MinArgmaxAgreement { get; init; } = 0.99;

    /// <summary>The last figures of the analysis (a shadow's comparison with the stable version), for status and audit.</summary>
    public string? Report { get; init; }
}

/// <summary>What the consistency check of a deployment's model version found: checked on how many probes, or why not.</summary>
public sealed record ConsistencyNote(string Deployment, int Version, bool Checked, string Note, DateTimeOffset At);

/// <summary>An inference key of a deployment: never the key itself, only its SHA-256.</summary>
public sealed record DeploymentKey(string Id, string Deployment, string Description, string Hash, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>How deployments' placement constraints are stored: camelCase, enums as strings.</summary>
internal static class DeploymentJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}

/// <summary>Where a replica is in its life, as <c>stratus deployment get</c> shows it.</summary>
public enum ReplicaState
{
    /// <summary>Recorded and placed; its launch has not begun.</summary>
    Pending,

    /// <summary>The cloud is launching it: artifact copy, process start, model load and warm-up.</summary>
    Starting,

    /// <summary>Answering on its endpoint and in the route table.</summary>
    Ready,

    /// <summary>Out of the route table and finishing what it has; stopped at <see cref="ReplicaRecord.DrainUntil"/>.</summary>
    Draining,

    /// <summary>Could not be launched or died; <see cref="ReplicaRecord.Reason"/> says why.</summary>
    Failed,
}

/// <summary>The control plane's view of one replica.</summary>
public sealed record ReplicaRecord(string Id, string Deployment, string Cloud, string Shape, ReplicaState State, string? Reason, Uri? Endpoint)
{
    /// <summary>For a draining replica, when it is stopped.</summary>
    public DateTimeOffset? DrainUntil { get; init; }

    /// <summary>A spot replica (cheaper, may be reclaimed) rather than on-demand, as the plan placed it.</summary>
    public bool Spot { get; init; }

    /// <summary>The model version it serves; 0 for records from before traffic splits (the deployment's version).</summary>
    public int ModelVersion { get; init; }
}

/// <summary>
/// Desired deployments and observed replicas. Every store passes <c>DeploymentStoreContractTests</c>, so SQLite
/// today and PostgreSQL later behave the same to the reconciler and the API.
/// </summary>
public interface IDeploymentStore
{
    /// <summary>Creates or replaces a deployment (the whole desired state).</summary>
    Task PutAsync(Deployment deployment, CancellationToken cancellationToken = default);

    /// <summary>Deletes a deployment; false when there was none.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every deployment, by name.</summary>
    Task<IReadOnlyList<Deployment>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Every replica record, by deployment then id.</summary>
    Task<IReadOnlyList<ReplicaRecord>> ListReplicasAsync(CancellationToken cancellationToken = default);

    /// <summary>Inserts a replica's record, or updates its state, reason, endpoint, drain deadline and kind.</summary>
    Task PutReplicaAsync(ReplicaRecord replica, CancellationToken cancellationToken = default);

    Task DeleteReplicaAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Records a key's hash for a deployment.</summary>
    Task AddKeyAsync(DeploymentKey key, CancellationToken cancellationToken = default);

    /// <summary>Revokes a live key; false when the deployment has no such live key.</summary>
    Task<bool> RevokeKeyAsync(string deployment, string id, CancellationToken cancellationToken = default);

    /// <summary>Every key, revoked ones included, oldest first.</summary>
    Task<IReadOnlyList<DeploymentKey>> ListKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces a deployment's rollout.</summary>
    Task PutRolloutAsync(Rollout rollout, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<Rollout>> ListRolloutsAsync(CancellationToken cancellationToken = default);

    /// <summary>Records what a version's consistency check found; false when the note was already that (nothing written).</summary>
    Task<bool> PutConsistencyAsync(ConsistencyNote note, CancellationToken cancellationToken = default);

    /// <summary>Every deployment's consistency notes, by deployment then version.</summary>
    Task<IReadOnlyList<ConsistencyNote>> ListConsistencyAsync(CancellationToken cancellationToken = default);
}

/// <summary>Desired deployments and observed replicas in the SQLite file.</summary>
public sealed class SqliteDeploymentStore(SqliteDatabase database, TimeProvider time) : IDeploymentStore
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
        ("$placement", JsonSerializer.Serialize(deployment.Placement, DeploymentJson.Options)),
        ("$public", deployment.Public ? 1 : 0),
        ("$traffic", JsonSerializer.Serialize(deployment.Traffic, DeploymentJson.Options)),
        ("$autoscaling", deployment.Autoscaling is null ? null : JsonSerializer.Serialize(deployment.Autoscaling, DeploymentJson.Options)),
        ("$record", deployment.RecordProbes));

    /// <summary>Deletes the deployment, its keys and its consistency notes.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        var deleted = await ExecuteAsync("DELETE FROM deployments WHERE name = $name;", cancellationToken, ("$name", name)) == 1;
        await ExecuteAsync("DELETE FROM deployment_keys WHERE deployment = $name;", cancellationToken, ("$name", name));
        await ExecuteAsync("DELETE FROM consistency_notes WHERE deployment = $name;", cancellationToken, ("$name", name));
        return deleted;
    }

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
        ("$json", JsonSerializer.Serialize(rollout, DeploymentJson.Options)));

    public async Task<IReadOnlyList<Rollout>> ListRolloutsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT rollout_json FROM rollouts ORDER BY deployment;";
        var rollouts = new List<Rollout>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rollouts.Add(JsonSerializer.Deserialize<Rollout>(reader.GetString(0), DeploymentJson.Options)!);
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
                Placement = reader.IsDBNull(5) ? new() : JsonSerializer.Deserialize<PlacementConstraints>(reader.GetString(5), DeploymentJson.Options) ?? new(),
                Public = reader.GetInt64(6) != 0,
                Traffic = reader.IsDBNull(7) ? [] : JsonSerializer.Deserialize<List<TrafficSplit>>(reader.GetString(7), DeploymentJson.Options) ?? [],
                Autoscaling = reader.IsDBNull(8) ? null : JsonSerializer.Deserialize<Stratus.Core.Scaling.AutoscalingSpec>(reader.GetString(8), DeploymentJson.Options),
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

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        command.Parameters.AddWithValue("$at", time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
