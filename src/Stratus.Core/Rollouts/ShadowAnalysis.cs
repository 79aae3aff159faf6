using System.Globalization;

namespace Stratus.Core.Rollouts;

/// <summary>How a shadow rollout is judged.</summary>
public sealed record ShadowPolicy
{
    /// <summary>How long the shadow version is observed, at least, before it is promoted.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Compared answers needed for any verdict but a structural mismatch or an early error-rate rollback (which needs as many mirrored requests).</summary>
    public long MinRequests { get; init; } = 50;

    /// <summary>The shadow version may fail this much (a fraction of the mirrored requests) more often than the stable version.</summary>
    public double MaxErrorRateIncrease { get; init; } = 0.01;

    /// <summary>Difference allowed between two elements regardless of their size.</summary>
    public double AbsoluteTolerance { get; init; } = 1e-4;

    /// <summary>Difference allowed between two elements as a fraction of the stable value, on top of <see cref="AbsoluteTolerance"/>.</summary>
    public double RelativeTolerance { get; init; } = 1e-4;

    /// <summary>The fraction of a classifier output's rows whose arg-max must be the same in both answers.</summary>
    public double MinArgmaxAgreement { get; init; } = 0.99;
}

/// <summary>What to do with a shadow version now.</summary>
public enum ShadowAction
{
    /// <summary>Keep mirroring and observing.</summary>
    Wait,

    /// <summary>The shadow version answered as the stable one did: it becomes the stable version.</summary>
    Promote,

    /// <summary>The shadow version answers differently or fails more: stop mirroring to it.</summary>
    RollBack,
}

public sealed record ShadowVerdict(ShadowAction Action, string Reason);

/// <summary>
/// Shadow analysis as pure code: over a window of mirrored requests, rolls back as soon as the shadow version fails
/// clearly more often than the stable one or answers with another structure, and, once enough answers were compared,
/// when an output differs beyond tolerance or a classifier picks other classes; it promotes once the whole duration
/// passed without either.
/// </summary>
public static class ShadowAnalysis
{
    public static ShadowVerdict Judge(ShadowPolicy policy, TimeSpan elapsed, ShadowSummary summary)
    {
        if (summary.Mirrored >= policy.MinRequests && summary.ShadowErrorRate > summary.StableErrorRate + policy.MaxErrorRateIncrease)
        {
            return new ShadowVerdict(
                ShadowAction.RollBack,
                $"shadow error rate {Percent(summary.ShadowErrorRate)} against the stable version's {Percent(summary.StableErrorRate)} over {summary.Mirrored} mirrored requests (allowed: +{Percent(policy.MaxErrorRateIncrease)})");
        }

        // A structural mismatch is no matter of tolerance or chance: one is enough.
        if (summary.Mismatched > 0)
        {
            return new ShadowVerdict(
                ShadowAction.RollBack,
                $"{summary.Mismatched} of {summary.Compared} compared answers differ in structure: {summary.FirstMismatch ?? "(no detail)"}");
        }

        if (summary.Compared >= policy.MinRequests)
        {
            if (summary.Outputs.Where(o => o.WorstToleranceRatio > 1).MaxBy(o => o.WorstToleranceRatio) is { } worst)
            {
                return new ShadowVerdict(
                    ShadowAction.RollBack,
                    double.IsPositiveInfinity(worst.WorstToleranceRatio) && worst.MaxAbsolute == double.MaxValue
                        ? $"output '{worst.Output}' differs from the stable answer in NaN or infinite values over {summary.Compared} compared answers"
                        : $"output '{worst.Output}' differs by up to {Number(worst.MaxAbsolute)} (relative {Number(worst.MaxRelative)}) over {summary.Compared} compared answers; tolerance {Number(policy.AbsoluteTolerance)} + {Number(policy.RelativeTolerance)} x |stable|");
            }

            if (LeastAgreement(summary) is { } least && least.ArgmaxAgreement < policy.MinArgmaxAgreement)
            {
                return new ShadowVerdict(
                    ShadowAction.RollBack,
                    $"output '{least.Output}' has the same arg-max in {Percent(least.ArgmaxAgreement.Value)} of {least.ArgmaxRows} rows over {summary.Compared} compared answers (needed: {Percent(policy.MinArgmaxAgreement)})");
            }
        }

        if (summary.Compared < policy.MinRequests)
        {
            return new ShadowVerdict(ShadowAction.Wait, $"{summary.Compared} of the {policy.MinRequests} compared answers needed");
        }

        if (elapsed < policy.Duration)
        {
            return new ShadowVerdict(ShadowAction.Wait, $"observing for {Seconds(policy.Duration - elapsed)} s more");
        }

        var reason = $"{summary.Compared} mirrored answers matched";
        if (summary.Outputs.MaxBy(o => o.MaxAbsolute) is { } largest)
        {
            reason += $": largest difference {Number(largest.MaxAbsolute)} on '{largest.Output}'";
        }

        if (LeastAgreement(summary) is { ArgmaxAgreement: { } agreement })
        {
            reason += $", arg-max agreement {Percent(agreement)}";
        }

        return new ShadowVerdict(ShadowAction.Promote, reason);
    }

    /// <summary>A one-line report of a window, for status output.</summary>
    public static string Describe(ShadowSummary summary)
    {
        var line = $"mirrored {summary.Mirrored} (skipped {summary.Skipped}), compared {summary.Compared}";
        if (summary.Mismatched > 0)
        {
            line += $", mismatched {summary.Mismatched}";
        }

        line += $", shadow errors {Percent(summary.ShadowErrorRate)}, stable errors {Percent(summary.StableErrorRate)}";
        foreach (var output in summary.Outputs)
        {
            line += $"; {output.Output}: max abs {Number(output.MaxAbsolute)}, max rel {Number(output.MaxRelative)}";
            if (output.ArgmaxAgreement is { } agreement)
            {
                line += $", arg-max agreement {Percent(agreement)}";
            }
        }

        return line;
    }

    private static OutputSummary? LeastAgreement(ShadowSummary summary) =>
        summary.Outputs.Where(o => o.ArgmaxRows > 0).MinBy(o => o.ArgmaxAgreement);

    private static string Percent(double rate) => (rate * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static string Number(double value) =>
        value == double.MaxValue ? "non-finite" : value.ToString("G4", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan remaining) => Math.Ceiling(remaining.TotalSeconds).ToString(CultureInfo.InvariantCulture);
}
