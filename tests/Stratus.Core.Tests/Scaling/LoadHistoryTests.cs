using Stratus.Core.Rollouts;
using Stratus.Core.Scaling;

namespace Stratus.Core.Tests.Scaling;

public sealed class LoadHistoryTests
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static GatewayLoadReport Report(long sequence, params VersionInterval[] results) =>
        new("a", null, sequence, Start, Start, [], results, []);

    private static VersionInterval Interval(int version, string cloud, long requests, long failures, TimeSpan latency)
    {
        var counts = new long[LatencyBuckets.Count];
        counts[LatencyBuckets.IndexOf(latency)] = requests;
        return new VersionInterval("risk", version, cloud, requests, failures, LatencyBuckets.Trimmed(counts));
    }

    [Fact]
    public void ResultsSince_SumsTheIntervalsThatArrivedSinceTheMoment()
    {
        var history = new LoadHistory();
        history.Add(Report(1, Interval(2, "local-us", 10, 0, TimeSpan.FromMilliseconds(5))), Start);
        history.Add(Report(2, Interval(2, "local-us", 10, 1, TimeSpan.FromMilliseconds(5))), Start.AddSeconds(1));
        history.Add(Report(3, Interval(2, "local-eu", 5, 5, TimeSpan.FromMilliseconds(300)), Interval(1, "local-eu", 7, 0, TimeSpan.FromMilliseconds(5))), Start.AddSeconds(2));

        var results = history.ResultsSince("risk", 2, Start.AddMilliseconds(500));

        Assert.Equal((15L, 6L), (results.Requests, results.Failures));
        Assert.Equal(LatencyBuckets.UpperBounds[LatencyBuckets.IndexOf(TimeSpan.FromMilliseconds(300))], results.P99);
        Assert.Equal(7, history.ResultsSince("risk", 1, Start).Requests);
        Assert.Equal(0, history.ResultsSince("churn", 2, Start).Requests);
    }

    [Fact]
    public void ResultsByCloudSince_SplitsAVersionsResultsByTheCloudThatAnswered()
    {
        var history = new LoadHistory();
        history.Add(Report(1, Interval(2, "local-us", 1, 0, TimeSpan.FromMilliseconds(5))), Start);
        history.Add(Report(2, Interval(2, "local-eu", 2, 2, TimeSpan.FromMilliseconds(5)), Interval(1, "local-eu", 1, 0, TimeSpan.FromMilliseconds(5))), Start.AddSeconds(1));

        var byCloud = history.ResultsByCloudSince("risk", 2, Start.AddMilliseconds(500));

        Assert.Equal(["local-eu"], byCloud.Keys);
        Assert.Equal((2L, 2L), (byCloud["local-eu"].Requests, byCloud["local-eu"].Failures));
    }

    [Fact]
    public void ShadowSince_MergesTheShadowIntervalsSinceTheMoment()
    {
        var history = new LoadHistory();
        var matched = ShadowSummary.Of(new ShadowSample(true, true, new ResponseComparison([], null)));
        var failed = ShadowSummary.Of(new ShadowSample(true, false, null));
        history.Add(Report(1) with { Shadows = [new ShadowInterval("risk", 2, matched)] }, Start);
        history.Add(Report(2) with { Shadows = [new ShadowInterval("risk", 2, matched.Merge(failed)), new ShadowInterval("risk", 3, matched)] }, Start.AddSeconds(1));

        var summary = history.ShadowSince("risk", 2, Start.AddMilliseconds(1));

        Assert.Equal((2L, 1L, 1L), (summary.Mirrored, summary.Compared, summary.ShadowFailures));
        Assert.Equal(3, history.ShadowSince("risk", 2, Start).Mirrored);
        Assert.Equal(ShadowSummary.Empty, history.ShadowSince("risk", 4, Start));
    }
}
