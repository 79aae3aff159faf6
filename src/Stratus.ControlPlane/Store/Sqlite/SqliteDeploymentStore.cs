using Stratus.ControlPlane.Store.Relational;

namespace Stratus.ControlPlane.Store.Sqlite;

/// <summary>Desired deployments, observed replicas, keys, rollouts and consistency notes in the SQLite file.</summary>
public sealed class SqliteDeploymentStore(SqliteDatabase database, TimeProvider time) : RelationalDeploymentStore(database, time);
