using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Stratus.Gateway;

/// <summary>
/// Passive health: a replica that fails one request at the transport (refused, reset, timed out) or answers 503
/// (loading, full, draining) is ejected at once for the ejection period, so it stops receiving traffic before its
/// next request; YARP's active probes bring it back when it answers again.
/// </summary>
public sealed class FirstFailureHealthPolicy(IDestinationHealthUpdater health, GatewayOptions options, GatewayMetrics metrics) : IPassiveHealthCheckPolicy
{
    public const string PolicyName = "StratusFirstFailure";

    public string Name => PolicyName;

    public void RequestProxied(HttpContext context, ClusterState cluster, DestinationState destination)
    {
        var error = context.Features.Get<IForwarderErrorFeature>()?.Error ?? ForwarderError.None;
        var failed = error is ForwarderError.Request or ForwarderError.RequestTimedOut or ForwarderError.ResponseHeaders or ForwarderError.ResponseBodyDestination ||
            context.Items.ContainsKey(RetryStep.RefusedKey);
        if (failed && destination.Health.Passive != DestinationHealth.Unhealthy)
        {
            health.SetPassive(cluster, destination, DestinationHealth.Unhealthy, options.EjectionPeriod);
            metrics.Ejected(cluster.ClusterId, destination.DestinationId);
        }
    }
}
