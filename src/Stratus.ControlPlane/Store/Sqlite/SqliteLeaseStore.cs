using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>
/// Leases in the SQLite file, expiring by SQLite's clock (<c>expires_at</c> in Unix milliseconds). Each call is one
/// statement under the write lock, so concurrent callers are serialized. Leases are not fenced: they are what fences.
/// </summary>
public sealed class SqliteLeaseStore(SqliteDatabase database) : ILeaseStore
{
    private const string Now = SqliteDatabase.NowMilliseconds;

    // A live lease renewed by its holder keeps its epoch; any lease that was not live (expired, released) starts a new
    // epoch, even for the same holder, so writes fenced on the lapsed term stay refused.
    public Task<Lease?> TryAcquireAsync(string name, string holder, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"""
            INSERT INTO leases (name, holder, epoch, expires_at) VALUES (@name, @holder, 1, {Now} + @ttl)
            ON CONFLICT (name) DO UPDATE SET
                epoch = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > {Now} THEN leases.epoch ELSE leases.epoch + 1 END,
                holder = excluded.holder,
                expires_at = excluded.expires_at
            WHERE leases.holder = excluded.holder OR leases.expires_at <= {Now}
            RETURNING name, holder, epoch, expires_at;
            """,
            cancellationToken,
            ("@name", name),
            ("@holder", holder),
            ("@ttl", (long)ttl.TotalMilliseconds));

    public Task<Lease?> GetAsync(string name, CancellationToken cancellationToken = default) =>
        QueryAsync("SELECT name, holder, epoch, expires_at FROM leases WHERE name = @name;", cancellationToken, ("@name", name));

    public async Task ReleaseAsync(string name, string holder, CancellationToken cancellationToken = default) =>
        await QueryAsync($"UPDATE leases SET expires_at = {Now} WHERE name = @name AND holder = @holder AND expires_at > {Now} RETURNING name, holder, epoch, expires_at;", cancellationToken, ("@name", name), ("@holder", holder));

    private async Task<Lease?> QueryAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        (await ((IRelationalDatabase)database).QueryAsync(sql, reader => new Lease(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))), cancellationToken, parameters)).SingleOrDefault();
}
