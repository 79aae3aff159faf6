using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>API tokens in PostgreSQL, as hashes.</summary>
public sealed class PostgresTokenStore(PostgresDatabase database, TimeProvider time) : RelationalTokenStore(database, time);
