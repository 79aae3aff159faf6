using System.Data.Common;
using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>
/// Leases in PostgreSQL, expiring by the database's clock (<c>clock_timestamp()</c>), never a server's. Each call is
/// one statement; concurrent takers of one lease queue on its row. Leases are not fenced: they are what fences.
/// </summary>
public sealed class PostgresLeaseStore(PostgresDatabase database) : ILeaseStore
{
    // A live lease renewed by its holder keeps its epoch; any lease that was not live (expired, released) starts a new
    // epoch, even for the same holder, so writes fenced on the lapsed term stay refused (as SQLite's store does).
    public async Task<Lease?> TryAcquireAsync(string name, string holder, TimeSpan ttl, CancellationToken cancellationToken = default) => await QueryAsync(
        """
        INSERT INTO leases (name, holder, epoch, expires_at) VALUES (@name, @holder, 1, clock_timestamp() + @ttl)
        ON CONFLICT (name) DO UPDATE SET
            epoch = CASE WHEN leases.holder = EXCLUDED.holder AND leases.expires_at > clock_timestamp() THEN leases.epoch ELSE leases.epoch + 1 END,
            holder = EXCLUDED.holder,
            expires_at = EXCLUDED.expires_at
        WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= clock_timestamp()
        RETURNING name, holder, epoch, expires_at;
        """,
        cancellationToken,
        ("@name", name),
        ("@holder", holder),
        ("@ttl", ttl));

    public async Task<Lease?> GetAsync(string name, CancellationToken cancellationToken = default) =>
        await QueryAsync("SELECT name, holder, epoch, expires_at FROM leases WHERE name = @name;", cancellationToken, ("@name", name));

    public async Task ReleaseAsync(string name, string holder, CancellationToken cancellationToken = default) =>
        await QueryAsync("UPDATE leases SET expires_at = clock_timestamp() WHERE name = @name AND holder = @holder AND expires_at > clock_timestamp() RETURNING name, holder, epoch, expires_at;", cancellationToken, ("@name", name), ("@holder", holder));

    private async Task<Lease?> QueryAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var leases = await database.QueryAsync(sql, Read, cancellationToken, parameters);
        return leases.SingleOrDefault();
    }

    private static Lease Read(DbDataReader reader) => new(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3));
}
