using Microsoft.Extensions.Logging.Abstractions;
using Stratus.Core.Routing;

namespace Stratus.Gateway.Tests;

public sealed class FailoverRouteSourceTests
{
    private static Route Named(string name) => new(name, "credit-risk", 1, []);

    /// <summary>Publishes until the server's table has the version (servers sharing a store publish the same versions).</summary>
    private static void PublishUpTo(ScriptedRoutes server, string name, long version)
    {
        while (server.Publish([Named(name)]) < version)
        {
        }
    }

    [Fact]
    public async Task Follower_FirstServerStopsAnswering_FollowsTheNextAndBackWhenItFails()
    {
        var first = new ScriptedRoutes();
        var second = new ScriptedRoutes();
        var failover = new FailoverRouteSource([first, second]);
        var follower = new RouteTableFollower(failover, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var following = follower.RunAsync(stop.Token);

        PublishUpTo(first, "first", 1);
        await Stratus.Testing.Eventually.HoldsAsync(() => follower.Current.Routes is [{ Deployment: "first" }], "the first server's table");
        Assert.Equal(0, failover.Current);

        // The first server dies; the second (sharing the store, so the same version numbers) is asked for its current table.
        PublishUpTo(second, "second", 2);
        first.Break();
        await Stratus.Testing.Eventually.HoldsAsync(() => follower.Current.Routes is [{ Deployment: "second" }], "the second server's table");
        Assert.Equal(1, failover.Current);
        PublishUpTo(second, "second", 3);
        await Stratus.Testing.Eventually.HoldsAsync(() => follower.Current.Version == 3, "a change on the second server");

        // Back to the first once the second fails too.
        first.Mend();
        PublishUpTo(first, "first", 5);
        second.Break();
        await Stratus.Testing.Eventually.HoldsAsync(() => follower.Current.Routes is [{ Deployment: "first" }], "the first server's table again");
        Assert.Equal(0, failover.Current);

        await stop.CancelAsync();
        await following;
    }

    [Fact]
    public async Task WaitForNewer_EveryServerDown_FailsWithTheLastError()
    {
        var first = new ScriptedRoutes();
        var second = new ScriptedRoutes();
        first.Break();
        second.Break();

        await Assert.ThrowsAsync<HttpRequestException>(() => new FailoverRouteSource([first, second]).WaitForNewerAsync(0, TimeSpan.FromSeconds(1), CancellationToken.None));

        Assert.Equal((1, 1), (first.Failures, second.Failures));
    }
}
