using Microsoft.Data.Sqlite;
using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>
/// Versioned schema changes, applied in order, each in its own transaction with its record in
/// <c>schema_migrations</c>, so a crash mid-way leaves the schema at a known version. A database written by a
/// newer Stratus is refused (<see cref="SchemaMigration.Pending"/>).
/// </summary>
public static class SqliteMigrations
{
    public static IReadOnlyList<SchemaMigration> All { get; } =
    [
        new(1, "tokens", """
            CREATE TABLE tokens (
                id TEXT PRIMARY KEY,
                hash BLOB NOT NULL UNIQUE,
                role TEXT NOT NULL,
                description TEXT NOT NULL,
                created_at TEXT NOT NULL,
                revoked_at TEXT NULL
            );
            """),
        new(2, "audit", """
            CREATE TABLE audit (
                seq INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                before_json TEXT NULL,
                after_json TEXT NULL,
                prev_hash BLOB NOT NULL,
                hash BLOB NOT NULL
            );
            """),
        new(3, "model_versions", """
            CREATE TABLE model_versions (
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                sha256 TEXT NOT NULL,
                size_bytes INTEGER NOT NULL,
                signature_json TEXT NOT NULL,
                created_at TEXT NOT NULL,
                created_by TEXT NOT NULL,
                PRIMARY KEY (name, version)
            );
            """),
        new(4, "deployments", """
            CREATE TABLE deployments (
                name TEXT PRIMARY KEY,
                model TEXT NOT NULL,
                model_version INTEGER NOT NULL,
                replicas INTEGER NOT NULL,
                shape TEXT NOT NULL,
                updated_at TEXT NOT NULL
            );
            CREATE TABLE replicas (
                id TEXT PRIMARY KEY,
                deployment TEXT NOT NULL,
                cloud TEXT NOT NULL,
                shape TEXT NOT NULL,
                state TEXT NOT NULL,
                reason TEXT NULL,
                endpoint TEXT NULL,
                updated_at TEXT NOT NULL
            );
            CREATE INDEX replicas_by_deployment ON replicas (deployment);
            """),
        new(5, "replica_drain", """
            ALTER TABLE replicas ADD COLUMN drain_until TEXT NULL;
            """),
        new(6, "deployment_placement", """
            ALTER TABLE deployments ADD COLUMN placement_json TEXT NULL;
            """),
        new(7, "replica_spot", """
            ALTER TABLE replicas ADD COLUMN spot INTEGER NOT NULL DEFAULT 0;
            """),
        new(8, "deployment_keys", """
            ALTER TABLE deployments ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
            CREATE TABLE deployment_keys (
                id TEXT PRIMARY KEY,
                deployment TEXT NOT NULL,
                hash TEXT NOT NULL UNIQUE,
                description TEXT NOT NULL,
                created_at TEXT NOT NULL,
                revoked_at TEXT NULL
            );
            CREATE INDEX deployment_keys_by_deployment ON deployment_keys (deployment);
            """),
        new(9, "traffic_split", """
            ALTER TABLE deployments ADD COLUMN traffic_json TEXT NULL;
            ALTER TABLE replicas ADD COLUMN model_version INTEGER NOT NULL DEFAULT 0;
            """),
        new(10, "autoscaling", """
            ALTER TABLE deployments ADD COLUMN autoscaling_json TEXT NULL;
            """),
        new(11, "rollouts", """
            CREATE TABLE rollouts (
                deployment TEXT PRIMARY KEY,
                rollout_json TEXT NOT NULL,
                updated_at TEXT NOT NULL
            );
            """),
        new(12, "probe_sets", """
            CREATE TABLE model_samples (
                model TEXT NOT NULL,
                version INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                sha256 TEXT NOT NULL,
                body TEXT NOT NULL,
                source TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (model, version, seq),
                UNIQUE (model, version, sha256)
            );
            CREATE TABLE probe_references (
                model_sha256 TEXT NOT NULL,
                probe_sha256 TEXT NOT NULL,
                answered INTEGER NOT NULL,
                answer_json TEXT NULL,
                detail TEXT NULL,
                replica TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (model_sha256, probe_sha256)
            );
            CREATE TABLE consistency_notes (
                deployment TEXT NOT NULL,
                version INTEGER NOT NULL,
                checked INTEGER NOT NULL,
                note TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (deployment, version)
            );
            ALTER TABLE deployments ADD COLUMN record_probes INTEGER NOT NULL DEFAULT 0;
            """),
        new(13, "leases_and_routes", """
            CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                epoch INTEGER NOT NULL,
                expires_at INTEGER NOT NULL
            );
            CREATE TABLE route_tables (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                version INTEGER NOT NULL,
                routes_json TEXT NOT NULL
            );
            """),
    ];

    public static int LatestVersion => All[^1].Version;

    public static async Task<int> ApplyAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await SqliteDatabase.Execute(
            connection,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);",
            cancellationToken);
        var current = await CurrentVersionAsync(connection, cancellationToken);
        foreach (var migration in SchemaMigration.Pending(All, current))
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await SqliteDatabase.Execute(connection, migration.Sql, cancellationToken, transaction);
            await using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($v, $n, $t);";
                record.Parameters.AddWithValue("$v", migration.Version);
                record.Parameters.AddWithValue("$n", migration.Name);
                record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O"));
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return LatestVersion;
    }

    public static async Task<int> CurrentVersionAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;";
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }
}
