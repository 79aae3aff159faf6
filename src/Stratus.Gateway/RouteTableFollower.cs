using Microsoft.Extensions.Logging;
using Stratus.Core.Routing;

namespace Stratus.Gateway;

/// <summary>
/// Keeps the newest route table from a source with its long-poll, so a change reaches the gateway as soon as it is
/// published. When the source fails (the control plane is away) the last table stays in force and the follower
/// retries every second.
/// </summary>
public sealed partial class RouteTableFollower(IRouteSource source, ILogger logger)
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private volatile RouteTable _current = RouteTable.Empty;
    private volatile Dictionary<string, Route> _byDeployment = new(StringComparer.Ordinal);

    public RouteTable Current => _current;

    /// <summary>A deployment's route in the current table (a lookup, not a scan, on every request); null when it has none.</summary>
    public Route? Find(string deployment) => _byDeployment.GetValueOrDefault(deployment);

    /// <summary>Raised with each new table (on the follower's thread).</summary>
    public event Action<RouteTable>? Changed;

    /// <summary>Whether a table from the source has arrived yet.</summary>
    public bool HasTable => _current.Version > 0;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var table = await source.WaitForNewerAsync(_current.Version, PollTimeout, cancellationToken);
                if (table.Version != _current.Version)
                {
                    _byDeployment = table.Routes.ToDictionary(r => r.Deployment, StringComparer.Ordinal);
                    _current = table;
                    Changed?.Invoke(table);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogSourceFailed(logger, e.Message);
                try
                {
                    await Task.Delay(RetryDelay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route table source failed, serving the last table: {Reason}")]
    private static partial void LogSourceFailed(ILogger logger, string reason);
}
