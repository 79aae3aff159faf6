namespace Stratus.Core.Scaling;

/// <summary>One version's results over an analysis window: requests, failures (5xx and transport), p99 latency.</summary>
public sealed record VersionResults(long Requests, long Failures, TimeSpan P99)
{
    public double ErrorRate => Requests == 0 ? 0 : (double)Failures / Requests;
}

/// <summary>How a canary is judged and stepped.</summary>
public sealed record CanaryPolicy
{
    /// <summary>Traffic weights (percent) the canary goes through; the last step is full promotion.</summary>
    public IReadOnlyList<int> Steps { get; init; } = [10, 25, 50, 100];

    /// <summary>How long each step is observed before it is judged.</summary>
    public TimeSpan StepDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Requests the canary must have served in a step before a verdict (fewer: wait).</summary>
    public long MinRequests { get; init; } = 50;

    /// <summary>The canary may fail this many percentage points more often than the stable version.</summary>
    public double MaxErrorRateIncrease { get; init; } = 0.01;

    /// <summary>The canary's p99 may be at most this many times the stable version's (plus <see cref="LatencySlack"/>).</summary>
    public double MaxLatencyRatio { get; init; } = 2.0;

    /// <summary>Absolute latency allowance, so that two fast versions with noisy p99s are not judged on milliseconds.</summary>
    public TimeSpan LatencySlack { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Requests the canary must have served in one cloud in a step before that cloud's figures are judged on their own.</summary>
    public long MinRequestsPerCloud { get; init; } = 20;
}

/// <summary>What to do with a canary now.</summary>
public enum CanaryAction
{
    /// <summary>Keep the current weight and keep observing.</summary>
    Wait,

    /// <summary>The step passed: move to the next weight.</summary>
    Advance,

    /// <summary>The last step passed: the canary becomes the stable version.</summary>
    Promote,

    /// <summary>The canary is worse: send all traffic back to the stable version.</summary>
    RollBack,
}

public sealed record CanaryVerdict(CanaryAction Action, int Weight, string Reason);

/// <summary>
/// Canary analysis as pure code: over one step's window, compares the canary's error rate and p99 latency with the
/// stable version's over the same window. It rolls back as soon as the canary fails clearly more often (even before
/// the step ends, once it has enough requests), or when its p99 over a whole step is beyond the allowance; it advances
/// the weight when a full step passes, and promotes after the last.
/// <para>
/// The canary's error rate is judged per cloud as well as overall: a version that fails only in one cloud (that
/// cloud's fault meets only the new version) is rolled back on that cloud's figures, with the cloud named, rather
/// than averaged away by the clouds where it works.
/// </para>
/// </summary>
public static class CanaryAnalysis
{
    private static string Percent(double rate) => (rate * 100).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + "%";

    public static CanaryVerdict Judge(CanaryPolicy policy, int step, TimeSpan inStep, VersionResults stable, VersionResults canary, IReadOnlyDictionary<string, VersionResults>? canaryByCloud = null)
    {
        var weight = policy.Steps[Math.Clamp(step, 0, policy.Steps.Count - 1)];
        if (canary.Requests >= policy.MinRequests)
        {
            if (canary.ErrorRate > stable.ErrorRate + policy.MaxErrorRateIncrease)
            {
                return new CanaryVerdict(
                    CanaryAction.RollBack,
                    0,
                    $"error rate {Percent(canary.ErrorRate)} against the stable version's {Percent(stable.ErrorRate)} over {canary.Requests} requests at {weight}% (allowed: +{Percent(policy.MaxErrorRateIncrease)})");
            }

            if (CloudAtFault(policy, weight, stable, canary, canaryByCloud) is { } inCloud)
            {
                return inCloud;
            }

            // Latency is judged over a whole step only: a p99 of a few early requests is mostly noise.
            var allowed = TimeSpan.FromTicks((long)(stable.P99.Ticks * policy.MaxLatencyRatio)) + policy.LatencySlack;
            if (inStep >= policy.StepDuration && stable.Requests >= policy.MinRequests && canary.P99 > allowed)
            {
                return new CanaryVerdict(
                    CanaryAction.RollBack,
                    0,
                    $"p99 {canary.P99.TotalMilliseconds:0.#} ms against the stable version's {stable.P99.TotalMilliseconds:0.#} ms at {weight}% (allowed: {allowed.TotalMilliseconds:0.#} ms)");
            }
        }

        if (canary.Requests < policy.MinRequests && CloudAtFault(policy, weight, stable, canary, canaryByCloud) is { } early)
        {
            return early;
        }

        if (inStep < policy.StepDuration || canary.Requests < policy.MinRequests)
        {
            return new CanaryVerdict(CanaryAction.Wait, weight, canary.Requests < policy.MinRequests
                ? $"{canary.Requests} of the {policy.MinRequests} requests needed at {weight}%"
                : $"observing {weight}% for {(policy.StepDuration - inStep).TotalSeconds:0} s more");
        }

        return step >= policy.Steps.Count - 1
            ? new CanaryVerdict(CanaryAction.Promote, 100, $"every step passed (error rate {Percent(canary.ErrorRate)}, p99 {canary.P99.TotalMilliseconds:0.#} ms)")
            : new CanaryVerdict(CanaryAction.Advance, policy.Steps[step + 1], $"{weight}% passed: error rate {Percent(canary.ErrorRate)}, p99 {canary.P99.TotalMilliseconds:0.#} ms");
    }

    /// <summary>
    /// A cloud where the canary, running in more than one, fails clearly more often than the stable version once it
    /// has enough requests there; with a single cloud the overall figures are that cloud's.
    /// </summary>
    private static CanaryVerdict? CloudAtFault(CanaryPolicy policy, int weight, VersionResults stable, VersionResults canary, IReadOnlyDictionary<string, VersionResults>? canaryByCloud)
    {
        if (canaryByCloud is not { Count: > 1 })
        {
            return null;
        }

        foreach (var (cloud, results) in canaryByCloud.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            if (results.Requests >= policy.MinRequestsPerCloud && results.ErrorRate > stable.ErrorRate + policy.MaxErrorRateIncrease)
            {
                return new CanaryVerdict(
                    CanaryAction.RollBack,
                    0,
                    $"in cloud {cloud}: error rate {Percent(results.ErrorRate)} against the stable version's {Percent(stable.ErrorRate)} over {results.Requests} requests at {weight}% (allowed: +{Percent(policy.MaxErrorRateIncrease)}; the canary overall: {Percent(canary.ErrorRate)} over {canary.Requests})");
            }
        }

        return null;
    }
}
