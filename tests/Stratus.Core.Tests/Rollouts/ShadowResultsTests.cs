using Stratus.Core.Rollouts;

namespace Stratus.Core.Tests.Rollouts;

public sealed class ShadowResultsTests
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly ShadowSample Matched = new(true, true, new ResponseComparison([new OutputDifference("y", 0, 0, 0, 1, 1)], null));

    [Fact]
    public void Since_UnknownVersion_IsEmpty()
    {
        var summary = new ShadowResults().Since("fraud", 2, Start);

        Assert.Equal(ShadowSummary.Empty, summary);
        Assert.Equal(0, summary.ShadowErrorRate);
        Assert.Equal(0, summary.StableErrorRate);
    }

    [Fact]
    public void Since_LeavesOutOlderSamples()
    {
        var results = new ShadowResults();
        for (var i = 0; i < 10; i++)
        {
            results.Record("fraud", 2, Matched, Start.AddSeconds(i));
        }

        var summary = results.Since("fraud", 2, Start.AddSeconds(6));

        Assert.Equal(4, summary.Mirrored);
        Assert.Equal(4, summary.Compared);
    }

    [Fact]
    public void Since_CountsFailuresSkipsAndMismatchesApart()
    {
        var results = new ShadowResults();
        results.Record("fraud", 2, Matched, Start);
        results.Record("fraud", 2, new ShadowSample(true, false, null), Start);
        results.Record("fraud", 2, new ShadowSample(false, true, null), Start);
        results.Record("fraud", 2, new ShadowSample(true, true, new ResponseComparison([], "output 'y' is missing from the shadow answer")), Start);
        results.Record("fraud", 2, new ShadowSample(true, true, new ResponseComparison([], "output 'z' is in the shadow answer only")), Start);
        results.Skipped("fraud", 2, Start);

        var summary = results.Since("fraud", 2, Start);

        Assert.Equal((5L, 1L, 1L, 1L, 3L, 2L), (summary.Mirrored, summary.Skipped, summary.StableFailures, summary.ShadowFailures, summary.Compared, summary.Mismatched));
        Assert.Equal(0.2, summary.ShadowErrorRate);
        Assert.Equal(0.2, summary.StableErrorRate);
        Assert.Equal("output 'y' is missing from the shadow answer", summary.FirstMismatch);
    }

    [Fact]
    public void Since_CombinesEachOutputOverTheWindow()
    {
        var results = new ShadowResults();
        results.Record("fraud", 2, Sample(new OutputDifference("p", 0.01, 0.2, 0.5, 4, 4), new OutputDifference("label", 0, 0, 0, 0, 0)), Start);
        results.Record("fraud", 2, Sample(new OutputDifference("p", 0.03, 0.1, 2, 4, 3)), Start);

        var summary = results.Since("fraud", 2, Start);

        Assert.Equal(
            [new OutputSummary("p", 0.03, 0.2, 2, 8, 7), new OutputSummary("label", 0, 0, 0, 0, 0)],
            summary.Outputs);
        Assert.Equal(7.0 / 8, summary.Outputs[0].ArgmaxAgreement);
        Assert.Null(summary.Outputs[1].ArgmaxAgreement);
    }

    [Fact]
    public void Since_KeepsDeploymentsAndVersionsApart()
    {
        var results = new ShadowResults();
        results.Record("fraud", 2, Matched, Start);
        results.Record("fraud", 3, Matched, Start);
        results.Record("fraud", 3, Matched, Start);
        results.Record("churn", 2, Matched, Start);

        Assert.Equal(1, results.Since("fraud", 2, Start).Mirrored);
        Assert.Equal(2, results.Since("fraud", 3, Start).Mirrored);
        Assert.Equal(1, results.Since("churn", 2, Start).Mirrored);
    }

    [Fact]
    public void Record_BeyondCapacity_KeepsTheLast4096InOrder()
    {
        var results = new ShadowResults();
        for (var i = 0; i < ShadowResults.Capacity + 100; i++)
        {
            // The 100 oldest are mismatches; only the last 4,096 remain, and the first of them is the one reported.
            var mismatch = i <= 100 ? $"mismatch {i}" : null;
            results.Record("fraud", 2, new ShadowSample(true, true, new ResponseComparison([], mismatch)), Start.AddMilliseconds(i));
        }

        var summary = results.Since("fraud", 2, Start);

        Assert.Equal(ShadowResults.Capacity, summary.Mirrored);
        Assert.Equal(1, summary.Mismatched);
        Assert.Equal("mismatch 100", summary.FirstMismatch);
    }

    [Fact]
    public void Clear_ForgetsTheVersion()
    {
        var results = new ShadowResults();
        results.Record("fraud", 2, Matched, Start);

        results.Clear("fraud", 2);

        Assert.Equal(0, results.Since("fraud", 2, Start).Mirrored);
    }

    [Fact]
    public async Task Record_FromSeveralThreads_CountsEverySample()
    {
        var results = new ShadowResults();
        var writers = Enumerable.Range(0, 4).Select(thread => Task.Run(() =>
        {
            for (var i = 0; i < 1000; i++)
            {
                if (i % 10 == 0)
                {
                    results.Skipped("fraud", 2, Start);
                }
                else
                {
                    results.Record("fraud", 2, thread % 2 == 0 ? Matched : new ShadowSample(true, false, null), Start);
                }
            }
        }));

        await Task.WhenAll(writers);
        var summary = results.Since("fraud", 2, Start);

        Assert.Equal((3600L, 400L, 1800L, 1800L), (summary.Mirrored, summary.Skipped, summary.Compared, summary.ShadowFailures));
    }

    private static ShadowSample Sample(params OutputDifference[] outputs) => new(true, true, new ResponseComparison(outputs, null));
}
