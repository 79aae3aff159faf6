using System.Text;
using Stratus.Core.Rollouts;

namespace Stratus.Core.Tests.Rollouts;

public sealed class ShadowAnalysisTests
{
    private static readonly ShadowPolicy Policy = new();

    private static readonly OutputSummary Identical = new("probabilities", 0, 0, 0, 57, 57);

    private static readonly OutputSummary Divergent = new("probabilities", 0.0132, 0.045, 60, 57, 57);

    [Fact]
    public void Judge_ShadowFailsMoreOften_RollsBackWithBothRates()
    {
        var verdict = ShadowAnalysis.Judge(Policy, TimeSpan.FromSeconds(10), Summary(60, 51, shadowFailures: 9, outputs: Identical));

        Assert.Equal(ShadowAction.RollBack, verdict.Action);
        Assert.Equal("shadow error rate 15.0% against the stable version's 0.0% over 60 mirrored requests (allowed: +1.0%)", verdict.Reason);
    }

    [Fact]
    public void Judge_FailuresWithinTheAllowance_AreNotARollback()
    {
        // 3% against 2% is exactly one point more: allowed.
        var verdict = ShadowAnalysis.Judge(Policy, Policy.Duration, Summary(100, 95, shadowFailures: 3, stableFailures: 2, outputs: Identical));

        Assert.Equal(ShadowAction.Promote, verdict.Action);
    }

    [Fact]
    public void Judge_FailuresBeforeMinRequestsMirrored_AreNotJudgedYet()
    {
        var verdict = ShadowAnalysis.Judge(Policy, Policy.Duration, Summary(20, 0, shadowFailures: 20));

        Assert.Equal(new ShadowVerdict(ShadowAction.Wait, "0 of the 50 compared answers needed"), verdict);
    }

    [Fact]
    public void Judge_FailuresAndAMismatch_ReportsTheFailuresFirst()
    {
        var summary = Summary(60, 51, shadowFailures: 9, mismatched: 1, outputs: Divergent) with { FirstMismatch = "output 'z' is missing from the shadow answer" };

        var verdict = ShadowAnalysis.Judge(Policy, Policy.Duration, summary);

        Assert.Equal(ShadowAction.RollBack, verdict.Action);
        Assert.StartsWith("shadow error rate 15.0%", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_StructuralMismatch_RollsBackAtOnceQuotingIt()
    {
        var summary = Summary(3, 3, mismatched: 1) with { FirstMismatch = "output 'y' has shape [1,3] in the shadow answer against [1,2]" };

        var verdict = ShadowAnalysis.Judge(Policy, TimeSpan.FromSeconds(1), summary);

        Assert.Equal(ShadowAction.RollBack, verdict.Action);
        Assert.Equal("1 of 3 compared answers differ in structure: output 'y' has shape [1,3] in the shadow answer against [1,2]", verdict.Reason);
    }

    [Fact]
    public void Judge_MismatchAndDivergence_ReportsTheMismatchFirst()
    {
        var summary = Summary(60, 57, mismatched: 2, outputs: Divergent) with { FirstMismatch = "output 'z' is missing from the shadow answer" };

        var verdict = ShadowAnalysis.Judge(Policy, Policy.Duration, summary);

        Assert.Equal("2 of 57 compared answers differ in structure: output 'z' is missing from the shadow answer", verdict.Reason);
    }

    [Fact]
    public void Judge_DivergenceBeyondTolerance_RollsBackWithTheFigures()
    {
        var verdict = ShadowAnalysis.Judge(Policy, TimeSpan.FromSeconds(5), Summary(57, 57, outputs: [new OutputSummary("label", 0, 0, 0, 0, 0), Divergent]));

        Assert.Equal(ShadowAction.RollBack, verdict.Action);
        Assert.Equal(
            "output 'probabilities' differs by up to 0.0132 (relative 0.045) over 57 compared answers; tolerance 0.0001 + 0.0001 x |stable|",
            verdict.Reason);
    }

    [Fact]
    public void Judge_NonFiniteDivergence_SaysSo()
    {
        var nan = new OutputSummary("y", double.MaxValue, double.MaxValue, double.PositiveInfinity, 0, 0);

        var verdict = ShadowAnalysis.Judge(Policy, Policy.Duration, Summary(57, 57, outputs: nan));

        Assert.Equal("output 'y' differs from the stable answer in NaN or infinite values over 57 compared answers", verdict.Reason);
    }

    [Fact]
    public void Judge_DivergenceBeforeMinRequestsCompared_Waits()
    {
        var verdict = ShadowAnalysis.Judge(Policy, Policy.Duration, Summary(12, 12, outputs: Divergent));

        Assert.Equal(new ShadowVerdict(ShadowAction.Wait, "12 of the 50 compared answers needed"), verdict);
    }

    [Fact]
    public void Judge_ArgmaxAgreementBelowTheMinimum_RollsBack()
    {
        var verdict = ShadowAnalysis.Judge(Policy, Policy.Duration, Summary(57, 57, outputs: new OutputSummary("probabilities", 0.00005, 0.00005, 0.5, 400, 390)));

        Assert.Equal(ShadowAction.RollBack, verdict.Action);
        Assert.Equal("output 'probabilities' has the same arg-max in 97.5% of 400 rows over 57 compared answers (needed: 99.0%)", verdict.Reason);
    }

    [Fact]
    public void Judge_DivergenceAndArgmaxDisagreement_ReportsTheToleranceFirst()
    {
        var verdict = ShadowAnalysis.Judge(Policy, Policy.Duration, Summary(57, 57, outputs: Divergent with { ArgmaxAgreed = 10 }));

        Assert.StartsWith("output 'probabilities' differs by up to", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_MatchingAnswersAfterTheDuration_Promotes()
    {
        var verdict = ShadowAnalysis.Judge(Policy, Policy.Duration, Summary(57, 57, outputs: Identical));

        Assert.Equal(new ShadowVerdict(ShadowAction.Promote, "57 mirrored answers matched: largest difference 0 on 'probabilities', arg-max agreement 100.0%"), verdict);
    }

    [Fact]
    public void Judge_MatchingAnswersWithoutClassifierOutputs_PromotesWithTheLargestDifference()
    {
        var verdict = ShadowAnalysis.Judge(
            Policy,
            TimeSpan.FromMinutes(5),
            Summary(80, 80, outputs: [new OutputSummary("embedding", 2e-5, 1e-3, 0.2, 0, 0), new OutputSummary("norm", 0, 0, 0, 0, 0)]));

        Assert.Equal(new ShadowVerdict(ShadowAction.Promote, "80 mirrored answers matched: largest difference 2E-05 on 'embedding'"), verdict);
    }

    [Fact]
    public void Judge_MatchingAnswersBeforeTheDuration_WaitsForTheRest()
    {
        var verdict = ShadowAnalysis.Judge(Policy, TimeSpan.FromSeconds(46), Summary(57, 57, outputs: Identical));

        Assert.Equal(new ShadowVerdict(ShadowAction.Wait, "observing for 14 s more"), verdict);
    }

    [Fact]
    public void Judge_TooFewComparedAfterTheDuration_Waits()
    {
        // Stable failures leave few answers to compare: the duration alone is not enough.
        var verdict = ShadowAnalysis.Judge(Policy, TimeSpan.FromMinutes(10), Summary(200, 12, stableFailures: 188, shadowFailures: 188, outputs: Identical));

        Assert.Equal(new ShadowVerdict(ShadowAction.Wait, "12 of the 50 compared answers needed"), verdict);
    }

    [Fact]
    public void Describe_AWindow_IsOneLineWithEveryOutput()
    {
        var summary = Summary(120, 118, outputs: [new OutputSummary("probabilities", 0, 0, 0, 118, 118), new OutputSummary("label", 1, 0.5, 2, 0, 0)]);

        Assert.Equal(
            "mirrored 120 (skipped 0), compared 118, shadow errors 0.0%, stable errors 0.0%; probabilities: max abs 0, max rel 0, arg-max agreement 100.0%; label: max abs 1, max rel 0.5",
            ShadowAnalysis.Describe(summary));
    }

    [Fact]
    public void Describe_MismatchesAndSkips_AreCounted()
    {
        var summary = new ShadowSummary(10, 4, 0, 1, 9, 2, []);

        Assert.Equal("mirrored 10 (skipped 4), compared 9, mismatched 2, shadow errors 10.0%, stable errors 0.0%", ShadowAnalysis.Describe(summary));
    }

    [Theory]
    [InlineData(0.5f, ShadowAction.Promote)]
    [InlineData(0.52f, ShadowAction.RollBack)]
    public void Judge_RealResponsesThroughTheWindow_PromotesOrRollsBack(float shadowScore, ShadowAction expected)
    {
        var summary = ShadowSummary.Empty;
        var stable = Response(0.5f);
        var shadow = Response(shadowScore);
        for (var i = 0; i < 60; i++)
        {
            var comparison = ResponseComparer.Compare(stable, shadow, Policy.AbsoluteTolerance, Policy.RelativeTolerance);
            summary = summary.Merge(ShadowSummary.Of(new ShadowSample(true, true, comparison)));
        }

        var verdict = ShadowAnalysis.Judge(Policy, Policy.Duration, summary);

        Assert.Equal(expected, verdict.Action);
    }

    private static IReadOnlyList<OutputTensor> Response(float score) => InferenceResponseReader.Read(
        Encoding.UTF8.GetBytes($$"""{"outputs":[{"name":"probabilities","datatype":"FP32","shape":[1,2],"data":[[{{score.ToString(System.Globalization.CultureInfo.InvariantCulture)}},{{(1 - score).ToString(System.Globalization.CultureInfo.InvariantCulture)}}]]}]}"""),
        null);

    private static ShadowSummary Summary(long mirrored, long compared, long shadowFailures = 0, long stableFailures = 0, long mismatched = 0, params OutputSummary[] outputs) =>
        new(mirrored, 0, stableFailures, shadowFailures, compared, mismatched, outputs);
}
