using System.Data.Common;
using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Store.Relational;

/// <summary>The published route table in a relational database: one row, its version and its routes as JSON.</summary>
public abstract class RelationalRouteStore : IRouteStore
{
    private readonly IRelationalDatabase _database;

    private protected RelationalRouteStore(IRelationalDatabase database) => _database = database;

    // The lock is taken before the stored version is read, so concurrent publishers never reuse a version.
    public Task<RouteTable> PublishAsync(IReadOnlyList<Route> routes, long atLeastVersion, CancellationToken cancellationToken = default) => _database.WriteAsync(
        async (connection, transaction) =>
        {
            await _database.LockAsync(connection, transaction, LockKind.Routes, "table", cancellationToken);
            var stored = await ReadAsync(connection, transaction, cancellationToken);
            var next = RoutePublishing.Next(stored, routes, atLeastVersion);
            if (!ReferenceEquals(next, stored))
            {
                await Sql.ExecuteAsync(
                    connection,
                    transaction,
                    "INSERT INTO route_tables (id, version, routes_json) VALUES (1, @version, @json) ON CONFLICT (id) DO UPDATE SET version = @version, routes_json = @json;",
                    cancellationToken,
                    ("@version", next.Version),
                    ("@json", RoutePublishing.Serialize(next.Routes)));
            }

            return next;
        },
        cancellationToken);

    public async Task<RouteTable?> GetAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _database.ConnectAsync(cancellationToken);
        return await ReadAsync(connection, null, cancellationToken);
    }

    private static async Task<RouteTable?> ReadAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await Sql.QueryAsync(connection, transaction, "SELECT version, routes_json FROM route_tables WHERE id = 1;", reader => RoutePublishing.Parse(reader.GetInt64(0), reader.GetString(1)), cancellationToken)).SingleOrDefault();
}
