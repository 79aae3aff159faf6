using Npgsql;
using Stratus.ControlPlane.Store.Postgres;
using Stratus.Testing;

namespace Stratus.ControlPlane.Tests.Store;

[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class PostgresMigrationsTests(PostgresServer server)
{
    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Open_ServersStartingAtOnce_MigrateExactlyOnce()
    {
        var (name, connectionString) = await server.CreateEmptyDatabaseAsync();
        try
        {
            var opened = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => PostgresDatabase.OpenAsync(connectionString))));
            foreach (var database in opened)
            {
                await database.DisposeAsync();
            }

            Assert.Equal(PostgresMigrations.All.Count, await ScalarAsync(connectionString, "SELECT COUNT(*) FROM schema_migrations;"));
            Assert.Equal(PostgresMigrations.LatestVersion, await ScalarAsync(connectionString, "SELECT MAX(version) FROM schema_migrations;"));
            Assert.Equal(1, await ScalarAsync(connectionString, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'leases';"));
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await server.DropAsync(name);
        }
    }

    [Fact]
    public async Task Open_Twice_AppliesNothingAgain()
    {
        await using var database = await server.CreateDatabaseAsync();
        await using var connection = await database.Database.ConnectAsync();

        Assert.Equal(0, await PostgresMigrations.ApplyAsync(connection, CancellationToken.None));
        Assert.Equal(PostgresMigrations.LatestVersion, await PostgresMigrations.CurrentVersionAsync(connection, null, CancellationToken.None));
    }

    [Fact]
    public async Task Open_DatabaseFromANewerStratus_IsRefused()
    {
        await using var database = await server.CreateDatabaseAsync();
        await database.ExecuteAsync($"INSERT INTO schema_migrations (version, name) VALUES ({PostgresMigrations.LatestVersion + 1}, 'future');");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresDatabase.OpenAsync(database.ConnectionString));

        Assert.Contains("newer than this Stratus knows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void All_VersionsAreIncreasingAndUnique()
    {
        Assert.Equal(PostgresMigrations.All.Select(m => m.Version).Order(), PostgresMigrations.All.Select(m => m.Version));
        Assert.Equal(PostgresMigrations.All.Count, PostgresMigrations.All.Select(m => m.Version).Distinct().Count());
    }
}
