using Stratus.Core.Scaling;

namespace Stratus.Core.Tests.Scaling;

public sealed class CanaryAnalysisTests
{
    private static readonly CanaryPolicy Policy = new();
    private static readonly VersionResults Healthy = new(1000, 2, TimeSpan.FromMilliseconds(20));

    [Fact]
    public void GoodCanary_AdvancesThroughTheStepsAndIsPromoted()
    {
        var canary = new VersionResults(200, 0, TimeSpan.FromMilliseconds(22));

        var weights = Enumerable.Range(0, Policy.Steps.Count).Select(step => CanaryAnalysis.Judge(Policy, step, Policy.StepDuration, Healthy, canary)).ToList();

        Assert.Equal([CanaryAction.Advance, CanaryAction.Advance, CanaryAction.Advance, CanaryAction.Promote], weights.Select(v => v.Action));
        Assert.Equal([25, 50, 100, 100], weights.Select(v => v.Weight));
    }

    [Fact]
    public void FailingCanary_RollsBackBeforeTheStepEndsWithTheReason()
    {
        var verdict = CanaryAnalysis.Judge(Policy, 0, TimeSpan.FromSeconds(10), Healthy, new VersionResults(60, 9, TimeSpan.FromMilliseconds(20)));

        Assert.Equal(CanaryAction.RollBack, verdict.Action);
        Assert.Equal(0, verdict.Weight);
        Assert.StartsWith("error rate 15.0% against the stable version's 0.2% over 60 requests at 10%", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void SlowCanary_RollsBackOnP99()
    {
        var verdict = CanaryAnalysis.Judge(Policy, 1, Policy.StepDuration, Healthy, new VersionResults(300, 0, TimeSpan.FromMilliseconds(80)));

        Assert.Equal(CanaryAction.RollBack, verdict.Action);
        Assert.Equal("p99 80 ms against the stable version's 20 ms at 25% (allowed: 65 ms)", verdict.Reason);
    }

    [Fact]
    public void TooFewRequests_Waits()
    {
        var verdict = CanaryAnalysis.Judge(Policy, 0, TimeSpan.FromMinutes(5), Healthy, new VersionResults(12, 3, TimeSpan.FromMilliseconds(500)));

        Assert.Equal(CanaryAction.Wait, verdict.Action);
        Assert.Equal("12 of the 50 requests needed at 10%", verdict.Reason);
    }

    [Fact]
    public void Within_TheAllowances_IsNotARollback()
    {
        // 1 point more errors and 2x + 25 ms latency are allowed, not more.
        var verdict = CanaryAnalysis.Judge(Policy, 0, Policy.StepDuration, Healthy, new VersionResults(1000, 11, TimeSpan.FromMilliseconds(65)));

        Assert.Equal(CanaryAction.Advance, verdict.Action);
    }

    [Fact]
    public void SlowEarlyRequests_AreNotJudgedBeforeTheStepEnds()
    {
        var verdict = CanaryAnalysis.Judge(Policy, 0, TimeSpan.FromSeconds(5), Healthy, new VersionResults(100, 0, TimeSpan.FromMilliseconds(300)));

        Assert.Equal(CanaryAction.Wait, verdict.Action);
    }
}
