using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace Stratus.Gateway;

/// <summary>
/// Picks a replica among those of the model version <see cref="RetryStep"/> chose: the healthy region with the lowest measured latency first (the gateway's own among equals),
/// spilling over to the next region when every replica of the nearest is saturated; within a region, the less loaded
/// of two random replicas (power of two choices on outstanding requests, which YARP counts per destination). A region
/// not measured for a while gets single requests to measure it.
/// </summary>
public sealed class RegionAwareLoadBalancingPolicy(RegionLatencies latencies, GatewayOptions options) : ILoadBalancingPolicy
{
    public const string PolicyName = "StratusRegionAware";

    /// <summary>Set on a request sent to measure a region (see <see cref="RegionLatencies.TryClaimMeasurement"/>).</summary>
    public const string MeasuringKey = "stratus.measuring";

    public string Name => PolicyName;

    public DestinationState? PickDestination(HttpContext context, ClusterState cluster, IReadOnlyList<DestinationState> availableDestinations)
    {
        if (availableDestinations.Count == 0)
        {
            return null;
        }

        // The common case, one region: no grouping, no allocation.
        var first = RegionOf(availableDestinations[0]);
        var single = true;
        for (var i = 1; i < availableDestinations.Count && single; i++)
        {
            single = RegionOf(availableDestinations[i]) == first;
        }

        if (single)
        {
            return TwoChoices(availableDestinations);
        }

        var regions = availableDestinations.GroupBy(RegionOf).ToList();
        if (regions.Count > 1 && regions.FirstOrDefault(g => latencies.TryClaimMeasurement(g.Key)) is { } due)
        {
            // A region not measured lately gets this one request, so the averages stay true.
            context.Items[MeasuringKey] = due.Key;
            return TwoChoices([.. due]);
        }

        foreach (var region in regions.OrderBy(g => latencies.Of(g.Key)).ThenBy(g => g.Key == latencies.OwnRegion ? 0 : 1))
        {
            var choice = TwoChoices([.. region]);
            if (choice.ConcurrentRequestCount < options.SaturationConcurrency)
            {
                return choice;
            }
        }

        // Every region saturated: the least loaded of two anywhere.
        return TwoChoices(availableDestinations);
    }

    public static string RegionOf(DestinationState destination) =>
        destination.Model?.Config.Metadata?.GetValueOrDefault(RouteTableProxyConfig.RegionKey) ?? string.Empty;

    private static DestinationState TwoChoices(IReadOnlyList<DestinationState> destinations)
    {
        if (destinations.Count == 1)
        {
            return destinations[0];
        }

        var first = Random.Shared.Next(destinations.Count);
        var second = Random.Shared.Next(destinations.Count - 1);
        if (second >= first)
        {
            second++;
        }

        return destinations[first].ConcurrentRequestCount <= destinations[second].ConcurrentRequestCount ? destinations[first] : destinations[second];
    }
}
