using Microsoft.Data.Sqlite;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>
/// The control plane's SQLite file: WAL so readers never block the writer, <c>synchronous=FULL</c> so a change is
/// on disk before it is acknowledged (a control plane killed at any instant loses nothing it answered), foreign
/// keys on, and a busy timeout so concurrent writers queue instead of failing. Opening applies pending migrations.
/// </summary>
public sealed class SqliteDatabase
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
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var database = new SqliteDatabase(path);
        await using (var connection = await database.ConnectAsync(cancellationToken))
        {
            await Execute(connection, "PRAGMA journal_mode=WAL;", cancellationToken);
            await SqliteMigrations.ApplyAsync(connection, cancellationToken);
        }

        return database;
    }

    public async Task<SqliteConnection> ConnectAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await Execute(connection, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;", cancellationToken);
        return connection;
    }

    internal static async Task Execute(SqliteConnection connection, string sql, CancellationToken cancellationToken, SqliteTransaction? transaction = null)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
