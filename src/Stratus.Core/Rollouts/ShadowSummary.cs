namespace Stratus.Core.Rollouts;

/// <summary>One mirrored request's outcome.</summary>
/// <param name="StableOk">The stable version answered 2xx.</param>
/// <param name="ShadowOk">The shadow version answered 2xx.</param>
/// <param name="Comparison">The comparison of the two answers, only when both answered 2xx.</param>
public sealed record ShadowSample(bool StableOk, bool ShadowOk, ResponseComparison? Comparison);

/// <summary>One output's figures over a window: the worst of each difference, and the arg-max rows summed.</summary>
public sealed record OutputSummary(string Output, double MaxAbsolute, double MaxRelative, double WorstToleranceRatio, long ArgmaxRows, long ArgmaxAgreed)
{
    public double? ArgmaxAgreement => ArgmaxRows == 0 ? null : (double)ArgmaxAgreed / ArgmaxRows;

    /// <summary>The figures of both windows: the worst differences, the rows summed.</summary>
    public OutputSummary Merge(OutputSummary other) => this with
    {
        MaxAbsolute = Math.Max(MaxAbsolute, other.MaxAbsolute),
        MaxRelative = Math.Max(MaxRelative, other.MaxRelative),
        WorstToleranceRatio = Math.Max(WorstToleranceRatio, other.WorstToleranceRatio),
        ArgmaxRows = ArgmaxRows + other.ArgmaxRows,
        ArgmaxAgreed = ArgmaxAgreed + other.ArgmaxAgreed,
    };
}

/// <summary>
/// A shadow version's results over a window, as <see cref="ShadowAnalysis"/> judges them. Summaries merge (counts
/// summed, the worst differences kept), so a gateway sums its mirrored requests into one per report and the control
/// plane sums the reports of every gateway over a window.
/// </summary>
/// <param name="Mirrored">Requests sent to both versions.</param>
/// <param name="Skipped">Mirrors that were not sent (too many in flight, body too large).</param>
/// <param name="Compared">Mirrored requests that both versions answered 2xx, so that their answers were compared.</param>
/// <param name="Mismatched">Compared answers that differ in structure.</param>
public sealed record ShadowSummary(long Mirrored, long Skipped, long StableFailures, long ShadowFailures, long Compared, long Mismatched, IReadOnlyList<OutputSummary> Outputs)
{
    public static ShadowSummary Empty { get; } = new(0, 0, 0, 0, 0, 0, []);

    /// <summary>One mirror that was not sent.</summary>
    public static ShadowSummary OneSkipped { get; } = new(0, 1, 0, 0, 0, 0, []);

    public double ShadowErrorRate => Mirrored == 0 ? 0 : (double)ShadowFailures / Mirrored;

    public double StableErrorRate => Mirrored == 0 ? 0 : (double)StableFailures / Mirrored;

    /// <summary>The text of the first structural mismatch seen in the window.</summary>
    public string? FirstMismatch { get; init; }

    /// <summary>One mirrored request's summary.</summary>
    public static ShadowSummary Of(ShadowSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var comparison = sample.Comparison;
        return new ShadowSummary(
            1,
            0,
            sample.StableOk ? 0 : 1,
            sample.ShadowOk ? 0 : 1,
            comparison is null ? 0 : 1,
            comparison?.Mismatch is null ? 0 : 1,
            comparison is null ? [] : [.. comparison.Outputs.Select(d => new OutputSummary(d.Output, d.MaxAbsolute, d.MaxRelative, d.WorstToleranceRatio, d.ArgmaxRows, d.ArgmaxAgreed))])
        {
            FirstMismatch = comparison?.Mismatch,
        };
    }

    /// <summary>This window followed by <paramref name="later"/>: counts summed, each output's worst kept (outputs in the order first seen), the first mismatch of the earlier.</summary>
    public ShadowSummary Merge(ShadowSummary later)
    {
        ArgumentNullException.ThrowIfNull(later);
        var outputs = Outputs.ToList();
        foreach (var output in later.Outputs)
        {
            var index = outputs.FindIndex(o => o.Output == output.Output);
            if (index >= 0)
            {
                outputs[index] = outputs[index].Merge(output);
            }
            else
            {
                outputs.Add(output);
            }
        }

        return new ShadowSummary(
            Mirrored + later.Mirrored,
            Skipped + later.Skipped,
            StableFailures + later.StableFailures,
            ShadowFailures + later.ShadowFailures,
            Compared + later.Compared,
            Mismatched + later.Mismatched,
            outputs)
        {
            FirstMismatch = FirstMismatch ?? later.FirstMismatch,
        };
    }
}
