using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Postgres;

/// <summary>Desired deployments, observed replicas, keys, rollouts and consistency notes in PostgreSQL.</summary>
public sealed class PostgresDeploymentStore(PostgresDatabase database, TimeProvider time) : RelationalDeploymentStore(database, time);
