using Stratus.ControlPlane.Store.Sqlite;

namespace Stratus.ControlPlane.Tests.Store;

public sealed class MigrationsTests
{
    [Fact]
    public async Task Open_NewFile_IsAtTheLatestVersionInWalMode()
    {
        await using var temp = await TempDatabase.CreateAsync();
        await using var connection = await temp.Database.ConnectAsync();

        Assert.Equal(SqliteMigrations.LatestVersion, await SqliteMigrations.CurrentVersionAsync(connection, CancellationToken.None));
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Open_Twice_AppliesNothingAgain()
    {
        await using var temp = await TempDatabase.CreateAsync();

        await SqliteDatabase.OpenAsync(temp.Database.Path);

        await using var connection = await temp.Database.ConnectAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM schema_migrations;";
        Assert.Equal((long)SqliteMigrations.All.Count, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Open_DatabaseFromANewerStratus_IsRefused()
    {
        await using var temp = await TempDatabase.CreateAsync();
        await temp.ExecuteAsync($"INSERT INTO schema_migrations VALUES ({SqliteMigrations.LatestVersion + 1}, 'future', '2030-01-01');");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SqliteDatabase.OpenAsync(temp.Database.Path));

        Assert.Contains("newer than this Stratus knows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void All_VersionsAreIncreasingAndUnique()
    {
        Assert.Equal(SqliteMigrations.All.Select(m => m.Version).Order(), SqliteMigrations.All.Select(m => m.Version));
        Assert.Equal(SqliteMigrations.All.Count, SqliteMigrations.All.Select(m => m.Version).Distinct().Count());
    }
}
