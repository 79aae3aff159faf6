using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>Probe references in PostgreSQL.</summary>
public sealed class PostgresProbeReferenceStore(PostgresDatabase database, TimeProvider time) : RelationalProbeReferenceStore(database, time);
