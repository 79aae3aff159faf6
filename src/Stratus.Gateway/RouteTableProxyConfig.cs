using Microsoft.Extensions.Primitives;
using Stratus.Core.Routing;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Stratus.Gateway;

/// <summary>
/// YARP's configuration, made from the route table: one route and one cluster per deployment, one destination per
/// ready replica (with its cloud and region as metadata), Stratus's balancing and passive-health policies, and active
/// probes of <c>/v2/health/ready</c>. A new table becomes a new configuration at once.
/// </summary>
public sealed class RouteTableProxyConfig : IProxyConfigProvider
{
    public const string RegionKey = "stratus.region";
    public const string CloudKey = "stratus.cloud";
    public const string VersionKey = "stratus.version";

    private readonly GatewayOptions _options;
    private volatile Snapshot _snapshot = new([], [], 0);

    public RouteTableProxyConfig(GatewayOptions options) => _options = options;

    public IProxyConfig GetConfig() => _snapshot;

    public void Update(RouteTable table)
    {
        var routes = new List<RouteConfig>();
        var clusters = new List<ClusterConfig>();
        foreach (var route in table.Routes)
        {
            routes.Add(new RouteConfig
            {
                RouteId = route.Deployment,
                ClusterId = route.Deployment,
                Match = new RouteMatch { Path = $"/v2/models/{route.Deployment}/{{**rest}}" },
            });
            clusters.Add(new ClusterConfig
            {
                ClusterId = route.Deployment,
                LoadBalancingPolicy = RegionAwareLoadBalancingPolicy.PolicyName,
                Destinations = route.Endpoints.ToDictionary(
                    e => e.ReplicaId,
                    e => new DestinationConfig
                    {
                        Address = e.Address.ToString(),
                        Metadata = new Dictionary<string, string> { [RegionKey] = e.Region, [CloudKey] = e.Cloud, [VersionKey] = (e.ModelVersion == 0 ? route.ModelVersion : e.ModelVersion).ToString(System.Globalization.CultureInfo.InvariantCulture) },
                    }),
                HealthCheck = new HealthCheckConfig
                {
                    Active = new ActiveHealthCheckConfig
                    {
                        Enabled = true,
                        Interval = _options.ProbeInterval,
                        Timeout = _options.ProbeTimeout,
                        Policy = "ConsecutiveFailures",
                        Path = "/v2/health/ready",
                    },
                    Passive = new PassiveHealthCheckConfig
                    {
                        Enabled = true,
                        Policy = FirstFailureHealthPolicy.PolicyName,
                        ReactivationPeriod = _options.EjectionPeriod,
                    },
                },
                HttpRequest = new ForwarderRequestConfig { ActivityTimeout = _options.RequestTimeout },
            });
        }

        var previous = _snapshot;
        _snapshot = new Snapshot(routes, clusters, table.Version);
        previous.Expire();
    }

    /// <summary>
    /// One configuration; its change token fires when a newer one replaces it. The token source has no timer, so
    /// dropping it undisposed leaks nothing; YARP may still hold the token when it is replaced.
    /// </summary>
#pragma warning disable CA1001
    private sealed class Snapshot(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, long version) : IProxyConfig
#pragma warning restore CA1001
    {
        private readonly CancellationTokenSource _expired = new();

        public string RevisionId { get; } = version.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public IReadOnlyList<RouteConfig> Routes => routes;

        public IReadOnlyList<ClusterConfig> Clusters => clusters;

        public IChangeToken ChangeToken => new CancellationChangeToken(_expired.Token);

        public void Expire() => _expired.Cancel();
    }
}
