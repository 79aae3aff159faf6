using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>
/// The control plane's SQLite file: WAL so readers never block the writer, <c>synchronous=FULL</c> so a change is
/// on disk before it is acknowledged (a control plane killed at any instant loses nothing it answered), foreign
/// keys on, and a busy timeout so concurrent writers queue instead of failing. Opening applies pending migrations.
/// </summary>
public sealed class SqliteDatabase : IRelationalDatabase
{
    private readonly string _connectionString;

    private SqliteDatabase(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    public static async Task<SqliteDatabase> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        OwnerOnly.CreateFolder(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        OwnerOnly.CreateFile(path);
        OwnerOnly.Restrict(path);
        var database = new SqliteDatabase(path);
        await using (var connection = await database.ConnectAsync(cancellationToken))
        {
            await Execute(connection, "PRAGMA journal_mode=WAL;", cancellationToken);
            await SqliteMigrations.ApplyAsync(connection, cancellationToken);
        }

        // A database made by an older version may have a WAL and shared-memory file of its own, wider mode.
        OwnerOnly.Restrict(path + "-wal");
        OwnerOnly.Restrict(path + "-shm");

        return database;
    }

    public async Task<SqliteConnection> ConnectAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await Execute(connection, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;", cancellationToken);
        return connection;
    }

    /// <summary>
    /// Runs one write in a transaction that takes the write lock first (<c>BEGIN IMMEDIATE</c>), after checking the
    /// <see cref="Fencing.Current"/> token under that same lock: SQLite has one writer at a time, so no takeover of the
    /// lease can come between the check and the write. Every store's writes go through here.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction(deferred: false);
        if (Fencing.Current is { } token)
        {
            var held = await Sql.QueryAsync(
                connection,
                transaction,
                $"SELECT 1 FROM leases WHERE name = @name AND holder = @holder AND epoch = @epoch AND expires_at > {NowMilliseconds};",
                _ => true,
                cancellationToken,
                ("@name", token.Lease),
                ("@holder", token.Holder),
                ("@epoch", token.Epoch));
            if (held.Count == 0)
            {
                throw new FencedException(token);
            }
        }

        var result = await write(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>SQLite's own clock, in Unix milliseconds (one value per statement), which decides leases' expiry.</summary>
    internal const string NowMilliseconds = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)";

    async Task<DbConnection> IRelationalDatabase.ConnectAsync(CancellationToken cancellationToken) => await ConnectAsync(cancellationToken);

    // BEGIN IMMEDIATE has already made every other writer wait.
    Task IRelationalDatabase.LockAsync(DbConnection connection, DbTransaction transaction, LockKind kind, string key, CancellationToken cancellationToken) => Task.CompletedTask;

    object IRelationalDatabase.Time(DateTimeOffset at) => at.ToString("O", CultureInfo.InvariantCulture);

    DateTimeOffset IRelationalDatabase.Kept(DateTimeOffset at) => at;

    internal static async Task Execute(SqliteConnection connection, string sql, CancellationToken cancellationToken, SqliteTransaction? transaction = null)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
