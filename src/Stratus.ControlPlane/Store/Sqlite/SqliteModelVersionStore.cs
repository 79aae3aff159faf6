using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>Model versions and their samples in the SQLite file.</summary>
public sealed class SqliteModelVersionStore(SqliteDatabase database, TimeProvider time) : RelationalModelVersionStore(database, time);
