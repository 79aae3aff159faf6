namespace Stratus.ControlPlane.Store;

/// <summary>
/// The deployment state of one database, all aggregates together: the reconciler, the rollout controller and the
/// autoscaler work on several of them, and deleting a deployment removes its replicas, keys and rollout with it.
/// </summary>
public interface IDeploymentStateStore : IDeploymentStore, IReplicaStore, IKeyStore, IRolloutStore, IConsistencyStore;
