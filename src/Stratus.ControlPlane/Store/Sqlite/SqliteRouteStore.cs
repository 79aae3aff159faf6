using Microsoft.Data.Sqlite;
using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>The published route table in the SQLite file: one row, its version and its routes as JSON.</summary>
public sealed class SqliteRouteStore(SqliteDatabase database) : IRouteStore
{
    public Task<RouteTable> PublishAsync(IReadOnlyList<Route> routes, long atLeastVersion, CancellationToken cancellationToken = default) => database.WriteAsync(
        async (connection, transaction) =>
        {
            var stored = await ReadAsync(connection, transaction, cancellationToken);
            var next = RoutePublishing.Next(stored, routes, atLeastVersion);
            if (next != stored)
            {
                await using var upsert = SqliteDatabase.Command(
                    connection,
                    transaction,
                    "INSERT INTO route_tables (id, version, routes_json) VALUES (1, $version, $json) ON CONFLICT (id) DO UPDATE SET version = $version, routes_json = $json;",
                    ("$version", next.Version),
                    ("$json", RoutePublishing.Serialize(next.Routes)));
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }

            return next;
        },
        cancellationToken);

    public async Task<RouteTable?> GetAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.ConnectAsync(cancellationToken);
        return await ReadAsync(connection, null, cancellationToken);
    }

    private static async Task<RouteTable?> ReadAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = SqliteDatabase.Command(connection, transaction, "SELECT version, routes_json FROM route_tables WHERE id = 1;");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? RoutePublishing.Parse(reader.GetInt64(0), reader.GetString(1)) : null;
    }
}
