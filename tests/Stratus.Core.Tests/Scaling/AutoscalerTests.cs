using Stratus.Core.Scaling;

namespace Stratus.Core.Tests.Scaling;

/// <summary>The KPA policy driven second by second through load steps, on a clock the test owns.</summary>
public sealed class AutoscalerTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static readonly AutoscalingSpec Spec = new()
    {
        MinReplicas = 1,
        MaxReplicas = 10,
        TargetPerReplica = 5,
        ScaleUpDelay = TimeSpan.Zero,
        ScaleDownDelay = TimeSpan.FromSeconds(30),
    };

    /// <summary>Runs the policy once a second over a load profile (concurrency per second), applying each decision at once.</summary>
    private static List<AutoscaleDecision> Drive(AutoscalingSpec spec, Func<int, double> load, int seconds, int start = 1, int capacity = 100)
    {
        var samples = new List<LoadSample>();
        var state = AutoscalerState.Initial;
        var replicas = start;
        var decisions = new List<AutoscaleDecision>();
        for (var t = 0; t < seconds; t++)
        {
            var now = Start.AddSeconds(t);
            samples.Add(new LoadSample(now, load(t), load(t) * 10));
            var decision = Autoscaler.Decide(spec, samples, replicas, replicas, capacity, state, now);
            decisions.Add(decision);
            state = decision.State;
            replicas = decision.Replicas;
        }

        return decisions;
    }

    [Fact]
    public void SteadyLoad_SizesToLoadOverTarget()
    {
        var decisions = Drive(Spec, _ => 17, 90);

        Assert.Equal(4, decisions[^1].Replicas);
        Assert.False(decisions[^1].Panicking);
    }

    [Fact]
    public void Burst_PanicsAndScalesUpWithinSeconds()
    {
        // 1 client for a minute, then 50: the 60 s average lags, the 6 s window does not.
        var decisions = Drive(Spec, t => t < 60 ? 1 : 50, 70);

        // The first decision after the step already panics and grows; full size comes as the 6 s window fills.
        Assert.True(decisions[60].Panicking);
        Assert.True(decisions[60].Replicas > 1);
        var firstFull = decisions.FindIndex(60, d => d.Replicas == 10);
        Assert.InRange(firstFull - 60, 0, 6);
        Assert.True(decisions[firstFull].Panicking);
        Assert.All(decisions.Skip(firstFull), d => Assert.Equal(10, d.Replicas));
    }

    [Fact]
    public void Drop_HoldsForTheScaleDownDelayThenShrinks()
    {
        var decisions = Drive(Spec with { PanicThreshold = 100 }, t => t < 90 ? 40 : 5, 240);

        Assert.Equal(8, decisions[89].Replicas);

        // Panic is off here, so only the delay and the 60 s average hold the size: nothing shrinks for the 30 s delay.
        Assert.All(decisions.Skip(90).Take(30), d => Assert.Equal(8, d.Replicas));
        Assert.Equal(1, decisions[^1].Replicas);
    }

    [Fact]
    public void Never_ExceedsMaxOrCapacityAndSaysWhy()
    {
        var byMax = Drive(Spec, _ => 500, 20);
        var byCapacity = Drive(Spec, _ => 500, 20, capacity: 3);

        Assert.All(byMax, d => Assert.InRange(d.Replicas, 1, 10));
        Assert.Contains("maxReplicas 10", byMax[^1].Reason, StringComparison.Ordinal);
        Assert.All(byCapacity, d => Assert.InRange(d.Replicas, 1, 3));
        Assert.Contains("the clouds have room for 3", byCapacity[^1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ScaleToZero_AfterTheIdlePeriodAndBackAtOnceWhenTrafficArrives()
    {
        var spec = Spec with { MinReplicas = 0, ScaleToZeroAfter = TimeSpan.FromSeconds(60), ScaleDownDelay = TimeSpan.FromSeconds(10) };

        var decisions = Drive(spec, t => t < 10 || t >= 200 ? 3 : 0, 205);

        Assert.Equal(1, decisions[9].Replicas);
        Assert.True(decisions.FindIndex(d => d.Replicas == 0) is var zero and >= 70 and <= 75, $"scaled to zero at {decisions.FindIndex(d => d.Replicas == 0)} s");
        Assert.Equal(0, decisions[199].Replicas);
        Assert.Equal(1, decisions[200].Replicas);
    }

    [Fact]
    public void ScaleUpDelay_WaitsBeforeGrowingWithoutPanic()
    {
        var decisions = Drive(Spec with { ScaleUpDelay = TimeSpan.FromSeconds(10), PanicThreshold = 100 }, t => t < 60 ? 5 : 20, 100);

        var grew = decisions.FindIndex(60, d => d.Replicas > 1);
        Assert.True(grew >= 70, $"grew at {grew} s, before the 10 s delay ran out");
    }

    [Fact]
    public void Qps_IsTheMetricWhenAsked()
    {
        var decisions = Drive(Spec with { Metric = ScalingMetric.Qps, TargetPerReplica = 100 }, _ => 25, 70);

        // 25 in flight is 250 requests/s in the profile: 3 replicas of 100/s.
        Assert.Equal(3, decisions[^1].Replicas);
    }

    [Theory]
    [InlineData(3, 2, 5, "minReplicas <= maxReplicas")]
    [InlineData(1, 5, 0, "'targetPerReplica' must be positive")]
    public void Problems_AreSaid(int min, int max, double target, string expected)
    {
        var problems = new AutoscalingSpec { MinReplicas = min, MaxReplicas = max, TargetPerReplica = target }.Problems();

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }
}
