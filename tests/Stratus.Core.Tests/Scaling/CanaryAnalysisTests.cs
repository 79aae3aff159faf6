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

    [Fact]
    public void FailingInOneCloud_IsRolledBackOnThatCloudsFiguresEvenWhenTheAverageIsWithinTheAllowance()
    {
        // 10% errors in one of three clouds is 3.3% overall: within a 5-point allowance, not in that cloud.
        var policy = Policy with { MaxErrorRateIncrease = 0.05 };
        var byCloud = new Dictionary<string, VersionResults>
        {
            ["local-us"] = new(100, 0, TimeSpan.FromMilliseconds(20)),
            ["local-eu"] = new(100, 10, TimeSpan.FromMilliseconds(20)),
            ["local-ap"] = new(100, 0, TimeSpan.FromMilliseconds(20)),
        };
        var canary = new VersionResults(300, 10, TimeSpan.FromMilliseconds(20));

        Assert.Equal(CanaryAction.Advance, CanaryAnalysis.Judge(policy, 0, policy.StepDuration, Healthy, canary).Action);
        var verdict = CanaryAnalysis.Judge(policy, 0, policy.StepDuration, Healthy, canary, byCloud);

        Assert.Equal(CanaryAction.RollBack, verdict.Action);
        Assert.StartsWith("in cloud local-eu: error rate 10.0% against the stable version's 0.2% over 100 requests at 10%", verdict.Reason, StringComparison.Ordinal);
        Assert.Contains("the canary overall: 3.3% over 300", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void FailingInOneCloud_IsJudgedOnceThatCloudHasEnoughRequestsBeforeTheCanaryHasItsMinimum()
    {
        var byCloud = new Dictionary<string, VersionResults>
        {
            ["local-us"] = new(10, 0, TimeSpan.FromMilliseconds(20)),
            ["local-eu"] = new(Policy.MinRequestsPerCloud, Policy.MinRequestsPerCloud, TimeSpan.FromMilliseconds(20)),
        };

        var verdict = CanaryAnalysis.Judge(Policy, 0, TimeSpan.FromSeconds(3), Healthy, new VersionResults(30, 20, TimeSpan.FromMilliseconds(20)), byCloud);

        Assert.Equal(CanaryAction.RollBack, verdict.Action);
        Assert.StartsWith("in cloud local-eu:", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void OneCloud_IsJudgedOnTheOverallFiguresOnly()
    {
        var byCloud = new Dictionary<string, VersionResults> { ["local-us"] = new(30, 30, TimeSpan.FromMilliseconds(20)) };

        // Below the overall minimum: wait; the cloud's own figures are the overall ones.
        Assert.Equal(CanaryAction.Wait, CanaryAnalysis.Judge(Policy, 0, TimeSpan.FromSeconds(3), Healthy, new VersionResults(30, 30, TimeSpan.FromMilliseconds(20)), byCloud).Action);
        var verdict = CanaryAnalysis.Judge(Policy, 0, TimeSpan.FromSeconds(3), Healthy, new VersionResults(60, 60, TimeSpan.FromMilliseconds(20)), byCloud);
        Assert.StartsWith("error rate 100.0%", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CloudsWithTooFewRequests_AreNotJudgedOnTheirOwn()
    {
        var byCloud = new Dictionary<string, VersionResults>
        {
            ["local-us"] = new(200, 0, TimeSpan.FromMilliseconds(20)),
            ["local-eu"] = new(Policy.MinRequestsPerCloud - 1, Policy.MinRequestsPerCloud - 1, TimeSpan.FromMilliseconds(20)),
        };

        var verdict = CanaryAnalysis.Judge(Policy with { MaxErrorRateIncrease = 0.2 }, 0, Policy.StepDuration, Healthy, new VersionResults(219, 19, TimeSpan.FromMilliseconds(20)), byCloud);

        Assert.Equal(CanaryAction.Advance, verdict.Action);
    }
}
