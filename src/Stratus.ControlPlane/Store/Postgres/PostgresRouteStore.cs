using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>The published route table in PostgreSQL.</summary>
public sealed class PostgresRouteStore(PostgresDatabase database) : RelationalRouteStore(database);
