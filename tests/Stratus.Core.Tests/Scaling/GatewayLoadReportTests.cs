using Stratus.Core.Rollouts;
using Stratus.Core.Scaling;

namespace Stratus.Core.Tests.Scaling;

public sealed class GatewayLoadReportTests
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>One attempt: the deployment's version 1 or 2, in one of two clouds, some failing, latencies spread.</summary>
    private static (string Cloud, int Version, bool Success, TimeSpan Elapsed) Attempt(int i) =>
        (i % 2 == 0 ? "local-us" : "local-eu", 1 + (i % 3 == 0 ? 1 : 0), i % 7 != 0, TimeSpan.FromMilliseconds(1 + (i * 37 % 400)));

    /// <summary>The report a gateway that saw these attempts and mirrors would send.</summary>
    internal static GatewayLoadReport Report(string gateway, long sequence, IEnumerable<int> attempts, IEnumerable<ShadowSample> mirrors, long inFlight = 0, long completed = 0)
    {
        var results = attempts.Select(Attempt)
            .GroupBy(a => (a.Version, a.Cloud))
            .Select(g =>
            {
                var latency = new long[LatencyBuckets.Count];
                foreach (var a in g)
                {
                    LatencyBuckets.Add(latency, a.Elapsed);
                }

                return new VersionInterval("risk", g.Key.Version, g.Key.Cloud, g.Count(), g.Count(a => !a.Success), LatencyBuckets.Trimmed(latency));
            });
        var shadow = mirrors.Aggregate(ShadowSummary.Empty, (sum, m) => sum.Merge(ShadowSummary.Of(m)));
        return new GatewayLoadReport(gateway, "us", sequence, Start, Start.AddMilliseconds(500), [new DeploymentCounts("risk", inFlight, completed)], [.. results], shadow == ShadowSummary.Empty ? [] : [new ShadowInterval("risk", 2, shadow)]);
    }

    private static ShadowSample Mirror(int i) =>
        new(true, i % 5 != 0, i % 5 == 0 ? null : new ResponseComparison([new OutputDifference("p", i / 100.0, i / 50.0, i / 10.0, 1, i % 4 == 0 ? 0 : 1)], null));

    [Fact]
    public void Combine_TwoGatewaysReports_EqualOneGatewayThatSawBothStreams()
    {
        var all = Enumerable.Range(0, 600).ToList();
        var a = Report("a", 3, all.Where(i => i % 4 == 0), all.Where(i => i % 4 == 0).Select(Mirror), inFlight: 2, completed: 150);
        var b = Report("b", 9, all.Where(i => i % 4 != 0), all.Where(i => i % 4 != 0).Select(Mirror), inFlight: 5, completed: 450);
        var one = Report("one", 1, all, all.Select(Mirror), inFlight: 7, completed: 600);

        var combined = GatewayLoadReport.Combine([a, b]);

        Assert.Equal(one.Deployments, combined.Deployments);
        var expected = one.Results.OrderBy(r => (r.Version, r.Cloud)).ToList();
        var actual = combined.Results.OrderBy(r => (r.Version, r.Cloud)).ToList();
        Assert.Equal(expected.Select(r => (r.Deployment, r.Version, r.Cloud, r.Requests, r.Failures, r.Results())), actual.Select(r => (r.Deployment, r.Version, r.Cloud, r.Requests, r.Failures, r.Results())));
        Assert.All(expected.Zip(actual), pair => Assert.Equal(pair.First.Latency, pair.Second.Latency));
        var (shadowOne, shadowCombined) = (Assert.Single(one.Shadows).Summary, Assert.Single(combined.Shadows).Summary);
        Assert.Equal(shadowOne with { Outputs = [] }, shadowCombined with { Outputs = [] });
        Assert.Equal(shadowOne.Outputs, shadowCombined.Outputs);
    }

    [Fact]
    public void Problems_AValidReport_HasNone()
    {
        Assert.Empty(Report("a", 1, Enumerable.Range(0, 50), Enumerable.Range(0, 10).Select(Mirror)).Problems());
    }

    [Fact]
    public void Problems_InconsistentFigures_AreNamed()
    {
        var valid = Report("a", 1, Enumerable.Range(0, 50), []);
        var result = valid.Results[0];

        Assert.Contains("'sequence' must be 1 or more", (valid with { Sequence = 0 }).Problems());
        Assert.Contains("'gateway' is required", (valid with { Gateway = " " }).Problems());
        Assert.Contains("'to' must not be before 'from'", (valid with { To = valid.From.AddSeconds(-1) }).Problems());
        Assert.NotEmpty((valid with { Results = [result with { Failures = result.Requests + 1 }] }).Problems());
        Assert.NotEmpty((valid with { Results = [result with { Requests = result.Requests + 1, Failures = 0 }] }).Problems());
        Assert.NotEmpty((valid with { Results = [result with { Latency = new long[LatencyBuckets.Count + 1] }] }).Problems());
        Assert.NotEmpty((valid with { Deployments = [new DeploymentCounts("risk", -1, 0)] }).Problems());
        Assert.NotEmpty((valid with { Shadows = [new ShadowInterval("risk", 2, ShadowSummary.Empty with { Compared = 1 })] }).Problems());
        Assert.NotEmpty((valid with { Results = null! }).Problems());
    }
}
