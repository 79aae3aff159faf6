namespace Stratus.Core.Routing;

/// <summary>One ready replica a gateway may send a deployment's requests to.</summary>
public sealed record RouteEndpoint(string ReplicaId, string Cloud, Uri Address)
{
    /// <summary>The cloud's region, for region-aware balancing.</summary>
    public string Region { get; init; } = string.Empty;
}

/// <summary>Where a deployment's requests go: its model version and its ready replicas.</summary>
public sealed record Route(string Deployment, string Model, int ModelVersion, IReadOnlyList<RouteEndpoint> Endpoints);

/// <summary>
/// What gateways follow. The version only grows; a gateway asks for anything newer than the version it holds.
/// </summary>
public sealed record RouteTable(long Version, IReadOnlyList<Route> Routes)
{
    public static RouteTable Empty { get; } = new(0, []);

    /// <summary>Same routes, ignoring the version and the order replicas were listed in.</summary>
    public bool SameRoutesAs(RouteTable other) =>
        Routes.Count == other.Routes.Count &&
        Routes.OrderBy(r => r.Deployment, StringComparer.Ordinal).Zip(other.Routes.OrderBy(r => r.Deployment, StringComparer.Ordinal)).All(pair =>
            pair.First.Deployment == pair.Second.Deployment &&
            pair.First.Model == pair.Second.Model &&
            pair.First.ModelVersion == pair.Second.ModelVersion &&
            pair.First.Endpoints.OrderBy(e => e.ReplicaId, StringComparer.Ordinal).SequenceEqual(pair.Second.Endpoints.OrderBy(e => e.ReplicaId, StringComparer.Ordinal)));
}
