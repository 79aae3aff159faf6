using Npgsql;
using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>
/// Versioned schema changes for PostgreSQL (numbered apart from SQLite's: a new database starts at today's schema).
/// They run in one transaction that first takes an advisory lock, so servers starting at once queue and exactly one
/// applies each version; the others find it recorded in <c>schema_migrations</c>. A database written by a newer
/// Stratus is refused rather than guessed at.
/// </summary>
public static class PostgresMigrations
{
    // Names that lists are ordered by compare bytewise (COLLATE "C"), as SQLite's do, whatever the database's locale.
    public static IReadOnlyList<SchemaMigration> All { get; } =
    [
        new(1, "control_plane", """
            CREATE TABLE tokens (
                id text COLLATE "C" PRIMARY KEY,
                hash bytea NOT NULL UNIQUE,
                role text NOT NULL,
                description text NOT NULL,
                created_at timestamptz NOT NULL,
                revoked_at timestamptz NULL
            );
            CREATE TABLE audit (
                seq bigint PRIMARY KEY,
                at timestamptz NOT NULL,
                actor text NOT NULL,
                action text NOT NULL,
                target text NOT NULL,
                before_json text NULL,
                after_json text NULL,
                prev_hash bytea NOT NULL,
                hash bytea NOT NULL
            );
            CREATE TABLE model_versions (
                name text COLLATE "C" NOT NULL,
                version integer NOT NULL,
                sha256 text NOT NULL,
                size_bytes bigint NOT NULL,
                signature_json text NOT NULL,
                created_at timestamptz NOT NULL,
                created_by text NOT NULL,
                PRIMARY KEY (name, version)
            );
            CREATE TABLE model_samples (
                model text NOT NULL,
                version integer NOT NULL,
                seq integer NOT NULL,
                sha256 text NOT NULL,
                body text NOT NULL,
                source text NOT NULL,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (model, version, seq),
                UNIQUE (model, version, sha256)
            );
            CREATE TABLE deployments (
                name text COLLATE "C" PRIMARY KEY,
                model text NOT NULL,
                model_version integer NOT NULL,
                replicas integer NOT NULL,
                shape text NOT NULL,
                placement_json text NULL,
                public boolean NOT NULL,
                traffic_json text NULL,
                autoscaling_json text NULL,
                record_probes integer NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE TABLE replicas (
                id text COLLATE "C" PRIMARY KEY,
                deployment text COLLATE "C" NOT NULL,
                cloud text NOT NULL,
                shape text NOT NULL,
                state text NOT NULL,
                reason text NULL,
                endpoint text NULL,
                drain_until timestamptz NULL,
                spot boolean NOT NULL,
                model_version integer NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE INDEX replicas_by_deployment ON replicas (deployment);
            CREATE TABLE deployment_keys (
                id text COLLATE "C" PRIMARY KEY,
                deployment text NOT NULL,
                hash text NOT NULL UNIQUE,
                description text NOT NULL,
                created_at timestamptz NOT NULL,
                revoked_at timestamptz NULL
            );
            CREATE INDEX deployment_keys_by_deployment ON deployment_keys (deployment);
            CREATE TABLE rollouts (
                deployment text COLLATE "C" PRIMARY KEY,
                rollout_json text NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE TABLE probe_references (
                model_sha256 text NOT NULL,
                probe_sha256 text NOT NULL,
                answered boolean NOT NULL,
                answer_json text NULL,
                detail text NULL,
                replica text NOT NULL,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (model_sha256, probe_sha256)
            );
            CREATE TABLE consistency_notes (
                deployment text COLLATE "C" NOT NULL,
                version integer NOT NULL,
                checked boolean NOT NULL,
                note text NOT NULL,
                updated_at timestamptz NOT NULL,
                PRIMARY KEY (deployment, version)
            );
            CREATE TABLE leases (
                name text PRIMARY KEY,
                holder text NOT NULL,
                epoch bigint NOT NULL,
                expires_at timestamptz NOT NULL
            );
            CREATE TABLE route_tables (
                id integer PRIMARY KEY CHECK (id = 1),
                version bigint NOT NULL,
                routes_json text NOT NULL
            );
            """),
        new(2, "blobs", """
            CREATE TABLE blobs (
                sha256 text PRIMARY KEY,
                size_bytes bigint NOT NULL,
                chunks integer NOT NULL,
                created_at timestamptz NOT NULL
            );
            CREATE TABLE blob_chunks (
                sha256 text NOT NULL,
                seq integer NOT NULL,
                data bytea NOT NULL,
                PRIMARY KEY (sha256, seq)
            );
            """),
    ];

    public static int LatestVersion => All[^1].Version;

    /// <summary>Applies what is pending; returns how many migrations this call applied (0 when another server had).</summary>
    public static async Task<int> ApplyAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var migrationLock = Sql.Command(connection, transaction, "SELECT pg_advisory_xact_lock(@kind, 0);", ("@kind", (int)LockKind.Migrations)))
        {
            await migrationLock.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var create = Sql.Command(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp());"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var current = await CurrentVersionAsync(connection, transaction, cancellationToken);
        var pending = SchemaMigration.Pending(All, current);
        foreach (var migration in pending)
        {
            await using var apply = Sql.Command(connection, transaction, migration.Sql);
            await apply.ExecuteNonQueryAsync(cancellationToken);
            await using var record = Sql.Command(connection, transaction, "INSERT INTO schema_migrations (version, name) VALUES (@version, @name);", ("@version", migration.Version), ("@name", migration.Name));
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return pending.Count;
    }

    public static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;");
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }
}
