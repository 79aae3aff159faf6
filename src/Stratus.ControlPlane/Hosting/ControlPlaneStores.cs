using Npgsql;
using Stratus.ControlPlane.Registry;
using Stratus.ControlPlane.Store;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.ControlPlane.Store.Sqlite;

namespace Stratus.ControlPlane.Hosting;

/// <summary>The store could not be opened: a malformed connection string, or a server that cannot be reached or refuses.</summary>
public sealed class StoreUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Every store the control plane uses, from one database: SQLite (<c>stratus.db</c> in the data directory) when
/// <see cref="ControlPlaneOptions.Store"/> is empty, else the PostgreSQL database it names. Model bytes go to
/// <see cref="ControlPlaneOptions.Blobs"/> when set, else to <c>models</c> in the data directory with SQLite and to the
/// database (cached in that folder) with PostgreSQL.
/// </summary>
internal sealed record ControlPlaneStores(
    IDeploymentStateStore Deployments,
    IModelVersionStore Versions,
    ITokenStore Tokens,
    IAuditLog Audit,
    IProbeReferenceStore ProbeReferences,
    ILeaseStore Leases,
    IRouteStore Routes,
    IBlobStore Blobs,
    IAsyncDisposable? Database)
{
    public static async Task<ControlPlaneStores> OpenAsync(ControlPlaneOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var models = Path.Combine(options.DataDirectory, "models");
        OwnerOnly.CreateFolder(string.IsNullOrEmpty(options.Blobs) ? models : options.Blobs);
        IBlobStore? blobs = string.IsNullOrEmpty(options.Blobs) ? null : new DirectoryBlobStore(options.Blobs);
        if (string.IsNullOrWhiteSpace(options.Store))
        {
            var sqlite = await SqliteDatabase.OpenAsync(Path.Combine(options.DataDirectory, "stratus.db"), cancellationToken);
            return new ControlPlaneStores(
                new SqliteDeploymentStore(sqlite, time),
                new SqliteModelVersionStore(sqlite, time),
                new SqliteTokenStore(sqlite, time),
                new SqliteAuditLog(sqlite, time),
                new SqliteProbeReferenceStore(sqlite, time),
                new SqliteLeaseStore(sqlite),
                new SqliteRouteStore(sqlite),
                blobs ?? new DirectoryBlobStore(models),
                null);
        }

        var postgres = await OpenPostgresAsync(options.Store, cancellationToken);
        return new ControlPlaneStores(
            new PostgresDeploymentStore(postgres, time),
            new PostgresModelVersionStore(postgres, time),
            new PostgresTokenStore(postgres, time),
            new PostgresAuditLog(postgres, time),
            new PostgresProbeReferenceStore(postgres, time),
            new PostgresLeaseStore(postgres),
            new PostgresRouteStore(postgres),
            blobs ?? new PostgresBlobStore(postgres, models),
            postgres);
    }

    private static async Task<PostgresDatabase> OpenPostgresAsync(string connectionString, CancellationToken cancellationToken)
    {
        NpgsqlConnectionStringBuilder parsed;
        try
        {
            parsed = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new StoreUnavailableException($"the store is not a valid PostgreSQL connection string: {e.Message}", e);
        }

        // Named without its password, which must not reach a terminal or a log.
        var where = $"PostgreSQL at {parsed.Host ?? "localhost"}:{parsed.Port}, database '{parsed.Database ?? parsed.Username}'";
        try
        {
            return await PostgresDatabase.OpenAsync(connectionString, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException or InvalidOperationException or TimeoutException)
        {
            throw new StoreUnavailableException($"cannot open the store ({where}): {e.Message}", e);
        }
    }
}
