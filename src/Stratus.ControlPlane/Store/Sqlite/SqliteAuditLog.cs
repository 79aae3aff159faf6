using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>The hash-chained audit log in the SQLite file.</summary>
public sealed class SqliteAuditLog(SqliteDatabase database, TimeProvider time) : RelationalAuditLog(database, time);
