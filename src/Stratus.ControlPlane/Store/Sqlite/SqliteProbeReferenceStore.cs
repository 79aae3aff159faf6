using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>Probe references in the SQLite file.</summary>
public sealed class SqliteProbeReferenceStore(SqliteDatabase database, TimeProvider time) : RelationalProbeReferenceStore(database, time);
