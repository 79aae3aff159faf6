namespace Stratus.Core.Routing;

/// <summary>Where a gateway gets route tables: the control plane in the same process, or its API over HTTP.</summary>
public interface IRouteSource
{
    /// <summary>Returns as soon as the table is newer than <paramref name="afterVersion"/>, or the current one at the timeout.</summary>
    Task<RouteTable> WaitForNewerAsync(long afterVersion, TimeSpan timeout, CancellationToken cancellationToken);
}
