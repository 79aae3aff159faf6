using Stratus.Core.Api;
using Stratus.Core.Deployments;

namespace Stratus.Core.Tests.Deployments;

public sealed class RolloutRequestValidationTests
{
    private static readonly Deployment Risk = new("risk", "credit-risk", 1, 2, "cpu-small");
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Check_AMinimalRequest_GivesACanaryWithTheDefaults()
    {
        var check = RolloutRequestValidation.Check(new RolloutRequest(2, null), Risk, [1, 2], Now);

        Assert.Empty(check.Problems);
        var rollout = check.Rollout!;
        Assert.Equal((RolloutStrategy.Canary, 1, 2, 2, RolloutState.Progressing), (rollout.Strategy, rollout.FromVersion, rollout.ToVersion, rollout.Replicas, rollout.State));
        Assert.Equal([10, 25, 50, 100], rollout.Steps);
        Assert.Equal(TimeSpan.FromSeconds(60), rollout.StepDuration);
        Assert.Equal(Now, rollout.StepStartedAt);
        Assert.Equal(new MirrorSpec(100, 1e-4, 1e-4), rollout.Mirror);
    }

    [Fact]
    public void Check_SettingsGiven_AreTheRollouts()
    {
        var check = RolloutRequestValidation.Check(
            new RolloutRequest(2, "shadow") { Replicas = 1, StepSeconds = 5, MinRequests = 20, MirrorPercent = 30, AbsoluteTolerance = 0.01, MinArgmaxAgreement = 0.9 },
            Risk,
            [1, 2],
            Now);

        var rollout = check.Rollout!;
        Assert.Equal(RolloutStrategy.Shadow, rollout.Strategy);
        Assert.Equal((1, TimeSpan.FromSeconds(5), 20L, 0.9), (rollout.Replicas, rollout.StepDuration, rollout.MinRequests, rollout.MinArgmaxAgreement));
        Assert.Equal(new MirrorSpec(30, 0.01, 1e-4), rollout.Mirror);
    }

    [Theory]
    [InlineData(null, "'version' must be a version of model credit-risk in the registry")]
    [InlineData(3, "'version' must be a version of model credit-risk in the registry")]
    [InlineData(1, "deployment risk already runs version 1")]
    public void Check_AVersionItCannotRollTo_IsNamed(int? version, string problem)
    {
        var check = RolloutRequestValidation.Check(new RolloutRequest(version, null), Risk, [1, 2], Now);

        Assert.Null(check.Rollout);
        Assert.Equal([problem], check.Problems);
    }

    [Fact]
    public void Check_EveryBadSetting_IsNamedAtOnce()
    {
        var check = RolloutRequestValidation.Check(
            new RolloutRequest(2, "sideways") { Steps = [50, 20], StepSeconds = 0, MirrorPercent = 0 },
            Risk,
            [1, 2],
            Now);

        Assert.Null(check.Rollout);
        Assert.Equal(4, check.Problems.Count);
        Assert.Contains(check.Problems, p => p.StartsWith("'steps' must rise", StringComparison.Ordinal));
        Assert.Contains(check.Problems, p => p.StartsWith("'replicas' must be 1 to", StringComparison.Ordinal));
        Assert.Contains(check.Problems, p => p.Contains("'mirrorPercent' 1 to 100", StringComparison.Ordinal));
        Assert.Contains(DeploymentSpecValidation.StrategyProblem, check.Problems);
    }

    [Fact]
    public void Check_NoBody_NamesTheMissingVersion()
    {
        var check = RolloutRequestValidation.Check(null, Risk, [1, 2], Now);

        Assert.Null(check.Rollout);
        Assert.Single(check.Problems);
    }
}
