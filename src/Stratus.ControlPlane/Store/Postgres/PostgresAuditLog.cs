using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>The hash-chained audit log in PostgreSQL.</summary>
public sealed class PostgresAuditLog(PostgresDatabase database, TimeProvider time) : RelationalAuditLog(database, time);
