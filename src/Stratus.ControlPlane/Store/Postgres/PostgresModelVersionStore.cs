using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>Model versions and their samples in PostgreSQL.</summary>
public sealed class PostgresModelVersionStore(PostgresDatabase database, TimeProvider time) : RelationalModelVersionStore(database, time);
