using Microsoft.Data.Sqlite;
using Stratus.ControlPlane.Store.Sqlite;

namespace Stratus.ControlPlane.Tests.Store;

/// <summary>A real SQLite file in its own temporary folder, removed afterwards.</summary>
internal sealed class TempDatabase : IAsyncDisposable
{
    private TempDatabase(string folder, SqliteDatabase database)
    {
        Folder = folder;
        Database = database;
    }

    public string Folder { get; }

    public SqliteDatabase Database { get; }

    public static async Task<TempDatabase> CreateAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"stratus-test-{Guid.NewGuid():N}");
        return new TempDatabase(folder, await SqliteDatabase.OpenAsync(Path.Combine(folder, "stratus.db")));
    }

    /// <summary>A store made on a new file, and the file, for a contract suite.</summary>
    public static async Task<(TStore, IAsyncDisposable)> ForAsync<TStore>(Func<SqliteDatabase, TStore> create)
    {
        var temp = await CreateAsync();
        return (create(temp.Database), temp);
    }

    /// <summary>Runs raw SQL against the file, as someone with access to the disk could.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await Database.ConnectAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Folder, recursive: true);
        return ValueTask.CompletedTask;
    }
}
