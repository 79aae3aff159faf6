using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>API tokens in the SQLite file, as hashes.</summary>
public sealed class SqliteTokenStore(SqliteDatabase database, TimeProvider time) : RelationalTokenStore(database, time);
