using Stratus.ControlPlane.Routing;
using Stratus.Core.Routing;

namespace Stratus.ControlPlane.Tests.Routing;

public sealed class RouteTablePublisherTests
{
    private static Route RouteTo(string deployment, params string[] replicas) =>
        new(deployment, "credit-risk", 1, [.. replicas.Select(r => new RouteEndpoint(r, "local-us", new Uri($"http://127.0.0.1:{9000 + r.Length}/")))]);

    [Fact]
    public void Publish_DifferentRoutes_MovesTheVersionAndSameRoutesDoNot()
    {
        var publisher = new RouteTablePublisher(TimeProvider.System);
        var start = publisher.Current.Version;

        var first = publisher.Publish([RouteTo("risk", "a")]);
        var same = publisher.Publish([RouteTo("risk", "a")]);
        var second = publisher.Publish([RouteTo("risk", "a", "bb")]);

        Assert.True(start > 0);
        Assert.Equal(start + 1, first.Version);
        Assert.Equal(first.Version, same.Version);
        Assert.Equal(start + 2, second.Version);
    }

    [Fact]
    public async Task WaitForNewer_ReturnsWhenATableIsPublished()
    {
        var publisher = new RouteTablePublisher(TimeProvider.System);
        var held = publisher.Current.Version;

        var waiting = publisher.WaitForNewerAsync(held, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        publisher.Publish([RouteTo("risk", "a")]);

        var table = await waiting;
        Assert.Equal(held + 1, table.Version);
        Assert.Equal("risk", Assert.Single(table.Routes).Deployment);
    }

    [Fact]
    public async Task WaitForNewer_AlreadyNewer_ReturnsAtOnce()
    {
        var publisher = new RouteTablePublisher(TimeProvider.System);
        publisher.Publish([RouteTo("risk", "a")]);

        var table = await publisher.WaitForNewerAsync(0, TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.Equal(publisher.Current, table);
    }

    [Fact]
    public async Task WaitForNewer_NothingChanges_ReturnsTheCurrentTableAtTheTimeout()
    {
        var publisher = new RouteTablePublisher(TimeProvider.System);

        var table = await publisher.WaitForNewerAsync(publisher.Current.Version, TimeSpan.FromMilliseconds(20), CancellationToken.None);

        Assert.Equal(publisher.Current.Version, table.Version);
    }
}
