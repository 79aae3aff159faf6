using Stratus.Core.Rollouts;

namespace Stratus.Core.Tests.Rollouts;

public sealed class ShadowSummaryTests
{
    private static readonly ShadowSample Matched = new(true, true, new ResponseComparison([new OutputDifference("y", 0, 0, 0, 1, 1)], null));

    private static ShadowSummary Sum(params ShadowSummary[] summaries) => summaries.Aggregate(ShadowSummary.Empty, (sum, s) => sum.Merge(s));

    [Fact]
    public void Empty_HasNoErrorRates()
    {
        Assert.Equal(0, ShadowSummary.Empty.ShadowErrorRate);
        Assert.Equal(0, ShadowSummary.Empty.StableErrorRate);
    }

    [Fact]
    public void Merge_CountsFailuresSkipsAndMismatchesApart()
    {
        var summary = Sum(
            ShadowSummary.Of(Matched),
            ShadowSummary.Of(new ShadowSample(true, false, null)),
            ShadowSummary.Of(new ShadowSample(false, true, null)),
            ShadowSummary.Of(new ShadowSample(true, true, new ResponseComparison([], "output 'y' is missing from the shadow answer"))),
            ShadowSummary.Of(new ShadowSample(true, true, new ResponseComparison([], "output 'z' is in the shadow answer only"))),
            ShadowSummary.OneSkipped);

        Assert.Equal((5L, 1L, 1L, 1L, 3L, 2L), (summary.Mirrored, summary.Skipped, summary.StableFailures, summary.ShadowFailures, summary.Compared, summary.Mismatched));
        Assert.Equal(0.2, summary.ShadowErrorRate);
        Assert.Equal(0.2, summary.StableErrorRate);
        Assert.Equal("output 'y' is missing from the shadow answer", summary.FirstMismatch);
    }

    [Fact]
    public void Merge_CombinesEachOutput_WorstDifferencesAndRowsSummed()
    {
        var summary = Sum(
            ShadowSummary.Of(Sample(new OutputDifference("p", 0.01, 0.2, 0.5, 4, 4), new OutputDifference("label", 0, 0, 0, 0, 0))),
            ShadowSummary.Of(Sample(new OutputDifference("p", 0.03, 0.1, 2, 4, 3))));

        Assert.Equal([new OutputSummary("p", 0.03, 0.2, 2, 8, 7), new OutputSummary("label", 0, 0, 0, 0, 0)], summary.Outputs);
        Assert.Equal(7.0 / 8, summary.Outputs[0].ArgmaxAgreement);
        Assert.Null(summary.Outputs[1].ArgmaxAgreement);
    }

    [Fact]
    public void Merge_IsAssociative_SoIntervalsSumLikeTheirSamples()
    {
        var samples = Enumerable.Range(0, 10).Select(i => ShadowSummary.Of(i % 3 == 0
            ? new ShadowSample(true, true, new ResponseComparison([new OutputDifference("p", i, i / 10.0, i / 5.0, 2, i % 2)], i == 6 ? "late" : null))
            : Matched)).ToArray();

        var whole = Sum(samples);
        var inTwo = Sum(samples[..4]).Merge(Sum(samples[4..]));

        Assert.Equal(whole with { Outputs = [] }, inTwo with { Outputs = [] });
        Assert.Equal(whole.Outputs, inTwo.Outputs);
        Assert.Equal("late", inTwo.FirstMismatch);
    }

    private static ShadowSample Sample(params OutputDifference[] outputs) => new(true, true, new ResponseComparison(outputs, null));
}
