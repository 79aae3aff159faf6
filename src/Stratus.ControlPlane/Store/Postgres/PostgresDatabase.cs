using System.Data.Common;
using Npgsql;
using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>
/// A PostgreSQL database that several control-plane servers share, through one pooled <see cref="NpgsqlDataSource"/>.
/// Opening applies pending migrations (<see cref="PostgresMigrations"/>). Writes run in READ COMMITTED transactions;
/// where a write reads before it writes (the audit chain's head, the next model version, the route table's version) it
/// first takes a transaction-level advisory lock of its kind, so concurrent servers queue.
/// </summary>
public sealed class PostgresDatabase : IRelationalDatabase, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    private PostgresDatabase(NpgsqlDataSource dataSource) => _dataSource = dataSource;

    /// <summary>The database named in the connection string, migrated; throws <see cref="ArgumentException"/> for a malformed string and <see cref="NpgsqlException"/> when the server cannot be reached.</summary>
    public static async Task<PostgresDatabase> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
            {
                await PostgresMigrations.ApplyAsync(connection, cancellationToken);
            }

            return new PostgresDatabase(dataSource);
        }
        catch
        {
            await dataSource.DisposeAsync();
            throw;
        }
    }

    public ValueTask<NpgsqlConnection> ConnectAsync(CancellationToken cancellationToken = default) => _dataSource.OpenConnectionAsync(cancellationToken);

    /// <summary>
    /// Runs one write in a transaction, after checking the <see cref="Fencing.Current"/> token in it: the lease row is
    /// read <c>FOR SHARE</c>, so a takeover's update waits until this transaction ends, and the check holds for the
    /// write. Expiry is by the database's clock. Every store's writes go through here.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (Fencing.Current is { } token)
        {
            var lease = await Sql.QueryAsync(
                connection,
                transaction,
                "SELECT holder, epoch, expires_at > clock_timestamp() FROM leases WHERE name = @name FOR SHARE;",
                reader => (Holder: reader.GetString(0), Epoch: reader.GetInt64(1), Live: reader.GetBoolean(2)),
                cancellationToken,
                ("@name", token.Lease));
            if (lease is not [{ Live: true } held] || held.Holder != token.Holder || held.Epoch != token.Epoch)
            {
                throw new FencedException(token);
            }
        }

        var result = await write(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>Takes the transaction-level advisory lock (<paramref name="kind"/>, <paramref name="key"/>'s hash), released at commit or rollback.</summary>
    async Task IRelationalDatabase.LockAsync(DbConnection connection, DbTransaction transaction, LockKind kind, string key, CancellationToken cancellationToken) =>
        await Sql.ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@kind, hashtext(@key));", cancellationToken, ("@kind", (int)kind), ("@key", key));

    async Task<DbConnection> IRelationalDatabase.ConnectAsync(CancellationToken cancellationToken) => await ConnectAsync(cancellationToken);

    object IRelationalDatabase.Time(DateTimeOffset at) => at.ToUniversalTime();

    // PostgreSQL keeps microseconds.
    DateTimeOffset IRelationalDatabase.Kept(DateTimeOffset at) => new(at.UtcTicks - (at.UtcTicks % 10), TimeSpan.Zero);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
