using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Store;

/// <summary>
/// The published route table, so that every control-plane server serves the leader's table with the same version
/// and a gateway that fails over between servers keeps its place. Every store passes <c>RouteStoreContractTests</c>.
/// </summary>
public interface IRouteStore
{
    /// <summary>
    /// Stores <paramref name="routes"/> as the newest table when they differ from the stored ones
    /// (<see cref="RouteTable.SameRoutesAs"/>), with a version above the stored one and at least
    /// <paramref name="atLeastVersion"/>; returns the table in force (the stored one, unchanged, when the routes are the same).
    /// </summary>
    Task<RouteTable> PublishAsync(IReadOnlyList<Route> routes, long atLeastVersion, CancellationToken cancellationToken = default);

    /// <summary>The stored table; null when none was ever published.</summary>
    Task<RouteTable?> GetAsync(CancellationToken cancellationToken = default);
}
