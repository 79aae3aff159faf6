using Stratus.ControlPlane.Load;
using Stratus.Core.Rollouts;
using Stratus.Core.Scaling;

namespace Stratus.ControlPlane.Tests.Load;

public sealed class GatewayLoadsTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly ManualClock _clock = new(Start);

    internal static GatewayLoadReport Report(string gateway, long sequence, long inFlight, long completed, long requests = 0, long failures = 0)
    {
        var latency = new long[LatencyBuckets.Count];
        latency[LatencyBuckets.IndexOf(TimeSpan.FromMilliseconds(4))] = requests;
        return new GatewayLoadReport(
            gateway,
            "eu",
            sequence,
            Start,
            Start,
            [new DeploymentCounts("risk", inFlight, completed)],
            requests == 0 ? [] : [new VersionInterval("risk", 2, "local-eu", requests, failures, LatencyBuckets.Trimmed(latency))],
            requests == 0 ? [] : [new ShadowInterval("risk", 3, ShadowSummary.Of(new ShadowSample(true, false, null)))]);
    }

    [Fact]
    public void Apply_ASequenceAlreadyApplied_ChangesNothing()
    {
        var loads = new GatewayLoads(_clock);

        Assert.True(loads.Apply(Report("a", 1, 2, 10, requests: 10, failures: 1)));
        Assert.False(loads.Apply(Report("a", 1, 2, 10, requests: 10, failures: 1)));
        Assert.True(loads.Apply(Report("a", 2, 3, 15, requests: 5)));
        Assert.False(loads.Apply(Report("a", 1, 2, 10, requests: 10, failures: 1)));

        Assert.Equal((3L, 15L), loads.Read("risk"));
        Assert.Equal((15L, 1L), (loads.ResultsSince("risk", 2, Start).Requests, loads.ResultsSince("risk", 2, Start).Failures));
        Assert.Equal(2, loads.ShadowSince("risk", 3, Start).ShadowFailures);
    }

    [Fact]
    public void Read_SumsFreshGatewaysInFlight_AndDropsAGatewaySilentBeyondTheBound()
    {
        var loads = new GatewayLoads(_clock);
        loads.Apply(Report("a", 1, 4, 100));
        _clock.Advance(TimeSpan.FromSeconds(3));
        loads.Apply(Report("b", 1, 6, 50));

        Assert.Equal((10L, 150L), loads.Read("risk"));

        // a has been silent for 5.5 s: its requests in flight no longer count, its completed ones still do.
        _clock.Advance(TimeSpan.FromSeconds(2.5));
        Assert.Equal((6L, 150L), loads.Read("risk"));
        Assert.Equal([false, true], loads.Gateways().Select(g => g.Fresh));

        // Completed only grows: a's next report adds what it completed meanwhile.
        loads.Apply(Report("a", 2, 1, 130));
        Assert.Equal((7L, 180L), loads.Read("risk"));
    }

    [Fact]
    public void ResultsSince_MergesGatewaysByWhenTheirReportsArrived()
    {
        var loads = new GatewayLoads(_clock);
        loads.Apply(Report("a", 1, 0, 0, requests: 8, failures: 8));
        _clock.Advance(TimeSpan.FromSeconds(1));
        var step = _clock.GetUtcNow();
        loads.Apply(Report("a", 2, 0, 0, requests: 3));
        loads.Apply(Report("b", 1, 0, 0, requests: 4, failures: 2));

        var results = loads.ResultsSince("risk", 2, step);

        Assert.Equal((7L, 2L), (results.Requests, results.Failures));
        Assert.Equal(7, loads.ResultsByCloudSince("risk", 2, step)["local-eu"].Requests);
        Assert.Equal(LatencyBuckets.UpperBounds[LatencyBuckets.IndexOf(TimeSpan.FromMilliseconds(4))], results.P99);
    }
}
