using System.Data.Common;

namespace Stratus.ControlPlane.Store.Relational;

/// <summary>
/// What the relational stores need of their database. SQLite and PostgreSQL share the stores' SQL (named <c>@</c>
/// parameters, <c>ON CONFLICT</c>, <c>RETURNING</c>) and differ only here, in how they keep times and serialize
/// writers, and in their lease stores (each expires leases by its own clock).
/// </summary>
internal interface IRelationalDatabase
{
    Task<DbConnection> ConnectAsync(CancellationToken cancellationToken);

    /// <summary>Runs one write in a transaction, refused with <see cref="FencedException"/> (nothing written) when <see cref="Fencing.Current"/> no longer holds its lease.</summary>
    Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken);

    /// <summary>Makes writers of one kind of record (and key) queue until this transaction ends, across servers.</summary>
    Task LockAsync(DbConnection connection, DbTransaction transaction, LockKind kind, string key, CancellationToken cancellationToken);

    /// <summary>A time as this database stores it.</summary>
    object Time(DateTimeOffset at);

    /// <summary>What of <paramref name="at"/> the database keeps, so that what a store returns equals what it reads back.</summary>
    DateTimeOffset Kept(DateTimeOffset at);
}

/// <summary>The kinds of record whose writers queue (<see cref="IRelationalDatabase.LockAsync"/>); PostgreSQL's advisory locks use the number.</summary>
internal enum LockKind
{
    Migrations = 1,
    ModelVersions = 2,
    Audit = 3,
    Routes = 4,
    Blobs = 5,
    Tokens = 6,
}

/// <summary>Commands and queries on any ADO.NET connection.</summary>
internal static class Sql
{
    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    public static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<List<T>> QueryAsync<T>(DbConnection connection, DbTransaction? transaction, string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>A query on a connection of its own, outside any transaction.</summary>
    public static async Task<List<T>> QueryAsync<T>(this IRelationalDatabase database, string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        return await QueryAsync(connection, null, sql, read, cancellationToken, parameters);
    }

    /// <summary>One statement written in a transaction of its own (fenced); returns the rows it changed.</summary>
    public static Task<int> ExecuteAsync(this IRelationalDatabase database, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        database.WriteAsync((connection, transaction) => ExecuteAsync(connection, transaction, sql, cancellationToken, parameters), cancellationToken);

    public static DateTimeOffset? GetTime(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    public static string? GetText(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
