using Microsoft.Extensions.Logging;
using Stratus.ControlPlane.Store;

namespace Stratus.ControlPlane.Routing;

/// <summary>
/// Serves the route table the leader stored: every server reads the route store a few times a second and hands a
/// newer table to its <see cref="RouteTablePublisher"/>, whose long-poll wakes the gateways that follow this server.
/// A server that does not lead thus serves the leader's table, with the leader's version.
/// </summary>
public sealed partial class RouteStoreFollower(IRouteStore store, RouteTablePublisher routes, TimeProvider time, ILogger logger)
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(250);

    /// <summary>Reads the stored table once and serves it if it is newer.</summary>
    public async Task FollowOnceAsync(CancellationToken cancellationToken)
    {
        if (await store.GetAsync(cancellationToken) is { } table)
        {
            routes.Adopt(table);
        }
    }

    public Task RunAsync(CancellationToken cancellationToken) =>
        Stratus.ControlPlane.Deployments.Periodic.RunAsync(time, Period, FollowOnceAsync, e => LogReadFailed(logger, e.Message), cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the route store failed; serving the last table: {Reason}")]
    private static partial void LogReadFailed(ILogger logger, string reason);
}
