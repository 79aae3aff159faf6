using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Stratus.ControlPlane.Store.Postgres;

namespace Stratus.Testing;

/// <summary>
/// A real PostgreSQL server for the tests: the one <c>STRATUS_TEST_POSTGRES</c> names (a connection string of a role
/// that may create databases), else a cluster of its own, started as a child process from the installed binaries and
/// removed afterwards. Compiled into the test projects that set <c>NeedsPostgres</c>. Each store test gets a database of its own on it (<see cref="ForAsync{TStore}"/>).
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string Collection = "Postgres";

    public const string Variable = "STRATUS_TEST_POSTGRES";

    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(60);

    private Process? _server;
    private string? _bin;
    private string? _folder;
    private string? _data;

    /// <summary>Where to connect as the role that creates the test databases.</summary>
    public string AdminConnectionString { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given)
        {
            AdminConnectionString = given;
            return;
        }

        var bin = FindBinaries() ?? throw new InvalidOperationException(
            $"the PostgreSQL tests need a server: set {Variable} to a connection string of a role that may create databases, or install PostgreSQL's server binaries (initdb and postgres on PATH or in /usr/lib/postgresql/*/bin)");
        await StartOwnClusterAsync(bin);
    }

    /// <summary>A new database with nothing in it, as a Stratus server would first find it: its name and how to connect to it.</summary>
    public async Task<(string Name, string ConnectionString)> CreateEmptyDatabaseAsync()
    {
        var name = $"stratus_{Guid.NewGuid():N}";
        await ExecuteAsync(AdminConnectionString, $"CREATE DATABASE {name};");
        return (name, new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString);
    }

    /// <summary>A new, migrated database for one test, dropped when the returned handle is disposed.</summary>
    public async Task<PostgresTestDatabase> CreateDatabaseAsync()
    {
        var (name, connectionString) = await CreateEmptyDatabaseAsync();
        return new PostgresTestDatabase(this, name, connectionString, await PostgresDatabase.OpenAsync(connectionString));
    }

    /// <summary>A store made on a new database, and the database, for a contract suite.</summary>
    public async Task<(TStore, IAsyncDisposable)> ForAsync<TStore>(Func<PostgresDatabase, TStore> create)
    {
        var database = await CreateDatabaseAsync();
        return (create(database.Database), database);
    }

    public Task DropAsync(string name) => ExecuteAsync(AdminConnectionString, $"DROP DATABASE IF EXISTS {name} WITH (FORCE);");

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_server is not null)
        {
            using (var stop = Start(Path.Combine(_bin!, "pg_ctl"), "stop", "-D", _data!, "-m", "fast", "-w"))
            {
                await stop.WaitForExitAsync();
            }

            if (!_server.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                _server.Kill(entireProcessTree: true);
            }

            _server.Dispose();
        }

        if (_folder is not null)
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static string? FindBinaries()
    {
        // initdb on PATH may be a link; its real folder holds postgres and pg_ctl too.
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => new FileInfo(Path.Combine(dir, "initdb"))).FirstOrDefault(file => file.Exists);
        if (onPath is not null)
        {
            return Path.GetDirectoryName(onPath.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? onPath.FullName);
        }

        const string Debian = "/usr/lib/postgresql";
        return Directory.Exists(Debian)
            ? Directory.GetDirectories(Debian).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var major) ? major : 0).FirstOrDefault()
            : null;
    }

    private async Task StartOwnClusterAsync(string bin)
    {
        _bin = bin;
        _folder = Path.Combine(Path.GetTempPath(), $"stratus-pg-{Guid.NewGuid():N}");
        _data = Path.Combine(_folder, "data");
        Directory.CreateDirectory(_folder);
        if (Environment.UserName == "root")
        {
            // initdb refuses to run as root; the cluster belongs to the postgres user.
            using var chown = Start("chown", "postgres:postgres", _folder);
            await WaitSucceededAsync(chown, "chown of the cluster folder");
        }

        using (var initdb = Start(Path.Combine(bin, "initdb"), "-D", _data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"))
        {
            await WaitSucceededAsync(initdb, "initdb");
        }

        var port = FreePort();

        // fsync is off: the cluster is thrown away after the tests, and the tests are about semantics, not durability.
        _server = Start(Path.Combine(bin, "postgres"), "-D", _data, "-k", _folder, "-c", "listen_addresses=127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300");
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void OnLine(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            log.Enqueue(e.Data);
            if (e.Data.Contains("ready to accept connections", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }

        _server.OutputDataReceived += OnLine;
        _server.ErrorDataReceived += OnLine;
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        var exited = _server.WaitForExitAsync();
        if (await Task.WhenAny(ready.Task, exited, Task.Delay(StartBound)) != ready.Task)
        {
            throw new InvalidOperationException($"PostgreSQL did not start on port {port}: {string.Join('\n', log)}");
        }

        AdminConnectionString = new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = port, Username = "postgres", Database = "postgres", Pooling = false }.ConnectionString;
        await ExecuteAsync(AdminConnectionString, "SELECT 1;");
    }

    /// <summary>Runs a PostgreSQL binary, as the postgres user when this is root (the binaries refuse root).</summary>
    private static Process Start(string file, params string[] arguments)
    {
        var asPostgres = Environment.UserName == "root" && file != "chown";
        var start = new ProcessStartInfo(asPostgres ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres)
        {
            foreach (var prefix in new[] { "-u", "postgres", "--", file })
            {
                start.ArgumentList.Add(prefix);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    private static async Task WaitSucceededAsync(Process process, string what)
    {
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{what} failed ({process.ExitCode}): {await output}{await error}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One test's database on the <see cref="PostgresServer"/>, with the store database opened on it.</summary>
public sealed class PostgresTestDatabase(PostgresServer server, string name, string connectionString, PostgresDatabase database) : IAsyncDisposable
{
    public string Name { get; } = name;

    public string ConnectionString { get; } = connectionString;

    public PostgresDatabase Database { get; } = database;

    /// <summary>Runs raw SQL against the database, as someone with access to the server could.</summary>
    public Task ExecuteAsync(string sql) => PostgresServer.ExecuteAsync(ConnectionString, sql);

    public async ValueTask DisposeAsync()
    {
        await Database.DisposeAsync();
        await server.DropAsync(Name);
    }
}

/// <summary>The tests that share the one <see cref="PostgresServer"/>.</summary>
[CollectionDefinition(PostgresServer.Collection)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>;
