using System.Net.Http.Headers;
using System.Text.Json;
using Npgsql;
using Stratus.Cli.Tests.Support;
using Stratus.Testing;

namespace Stratus.Cli.Tests;

/// <summary>`stratus server --store` on a real PostgreSQL server, as a real child process, and its refusals of stores it cannot open.</summary>
[Collection(PostgresServer.Collection)]
[Trait("Category", "Postgres")]
public sealed class ServerStoreTests(PostgresServer server) : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"stratus-store-{Guid.NewGuid():N}");
    private string _database = string.Empty;
    private string _store = string.Empty;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_data);
        (_database, _store) = await server.CreateEmptyDatabaseAsync();
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await server.DropAsync(_database);
        Directory.Delete(_data, recursive: true);
    }

    private async Task<long> CountAsync(string table)
    {
        await using var connection = new NpgsqlConnection(_store);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT COUNT(*) FROM {table};", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Runs the server with <paramref name="arguments"/>, pushes the sample model through its API, and returns what it listed.</summary>
    private async Task<JsonElement> PushThroughServerAsync(params string[] arguments)
    {
        var tls = ProcessTls.ForDataDirectory(_data);
        using var process = ServerProcess.Start(["--data-dir", _data, "--port", "0", .. arguments]);
        try
        {
            var address = await ServerProcess.ReadyAtAsync(process);
            Assert.Equal("https", address.Scheme);
            using var client = tls.HttpClient(address);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(Path.Combine(_data, "admin.token"))).Trim());
            using var model = new StreamContent(File.OpenRead(RepositoryFiles.Model("credit-risk.onnx")));
            var pushed = await client.PostAsync("api/v1/models/credit-risk", model);
            Assert.True(pushed.IsSuccessStatusCode, await pushed.Content.ReadAsStringAsync());
            return JsonSerializer.Deserialize<JsonElement>(await client.GetStringAsync("api/v1/models/credit-risk"));
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Server_WithAPostgresStore_KeepsItsStateAndModelsInTheDatabase()
    {
        var listed = await PushThroughServerAsync("--store", _store);

        Assert.Contains("\"version\":1", listed.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(1, await CountAsync("model_versions"));
        Assert.Equal(1, await CountAsync("blobs"));
        Assert.Equal(1, await CountAsync("tokens"));
        Assert.False(File.Exists(Path.Combine(_data, "stratus.db")), "no SQLite file beside a PostgreSQL store");
    }

    [Fact]
    public async Task Server_ConfigFile_GivesBlobsAndTheCommandLineStoreWins()
    {
        var config = Path.Combine(_data, "server.yaml");
        await File.WriteAllTextAsync(config, "store: \"Host=127.0.0.1;Port=1;Database=nothing;Timeout=3\"\nblobs: shared-models\n");

        await PushThroughServerAsync("--config", config, "--store", _store);

        Assert.Equal(1, await CountAsync("model_versions"));
        Assert.Equal(0, await CountAsync("blobs"));
        Assert.Single(Directory.GetFiles(Path.Combine(_data, "shared-models", "sha256"), "*", SearchOption.AllDirectories));
    }

    /// <summary>How <c>stratus server</c> refuses a store it cannot open: the exit code and the error, before it binds anything.</summary>
    [Theory]
    [InlineData("store: \"Host=127.0.0.1;Port=1;Database=nothing;Timeout=3\"", null, ExitCodes.Unreachable, "cannot open the store (PostgreSQL at 127.0.0.1:1, database 'nothing')")]
    [InlineData(null, "Host=127.0.0.1;Bogus Key=1", ExitCodes.InvalidArguments, "not a valid PostgreSQL connection string")]
    [InlineData("stor: \"Host=127.0.0.1\"", null, ExitCodes.InvalidArguments, "the keys are store and blobs")]
    public async Task Server_StoreItCannotOpen_FailsWithAClearError(string? configFile, string? store, int expectedExit, string expectedError)
    {
        var config = Path.Combine(_data, "server.yaml");
        await File.WriteAllTextAsync(config, configFile ?? string.Empty);
        string[] arguments = ["server", "--data-dir", _data, "--port", "0", "--config", config, .. store is null ? Array.Empty<string>() : ["--store", store]];

        var (exit, output) = await CliRunner.RunAsync(arguments);

        Assert.Equal(expectedExit, exit);
        Assert.Contains(expectedError, string.Join("\n", output.Errors), StringComparison.Ordinal);
    }
}
