using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>The published route table in the SQLite file.</summary>
public sealed class SqliteRouteStore(SqliteDatabase database) : RelationalRouteStore(database);
