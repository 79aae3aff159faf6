using System.Collections.Concurrent;

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
}

/// <summary>A shadow version's results over a window.</summary>
/// <param name="Mirrored">Requests sent to both versions.</param>
/// <param name="Skipped">Mirrors that were not sent (too many in flight, body too large).</param>
/// <param name="Compared">Mirrored requests that both versions answered 2xx, so that their answers were compared.</param>
/// <param name="Mismatched">Compared answers that differ in structure.</param>
public sealed record ShadowSummary(long Mirrored, long Skipped, long StableFailures, long ShadowFailures, long Compared, long Mismatched, IReadOnlyList<OutputSummary> Outputs)
{
    public static ShadowSummary Empty { get; } = new(0, 0, 0, 0, 0, 0, []);

    public double ShadowErrorRate => Mirrored == 0 ? 0 : (double)ShadowFailures / Mirrored;

    public double StableErrorRate => Mirrored == 0 ? 0 : (double)StableFailures / Mirrored;

    /// <summary>The text of the first structural mismatch seen in the window.</summary>
    public string? FirstMismatch { get; init; }
}

/// <summary>
/// The outcomes of mirrored requests per deployment and shadow version, over their last 4,096 samples at most, as a
/// gateway records them; the control plane judges a window of it with <see cref="ShadowAnalysis"/>. Thread-safe.
/// </summary>
public sealed class ShadowResults
{
    /// <summary>Samples kept per deployment and version (skipped mirrors included).</summary>
    public const int Capacity = 4096;

    // A null entry is a skipped mirror.
    private readonly ConcurrentDictionary<(string, int), TimedWindow<ShadowSample?>> _windows = new();

    public void Record(string deployment, int version, ShadowSample sample, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(sample);
        Window(deployment, version).Add(at, sample);
    }

    /// <summary>A mirror that was not sent (too many in flight, body too large): counted, not compared.</summary>
    public void Skipped(string deployment, int version, DateTimeOffset at) => Window(deployment, version).Add(at, null);

    /// <summary>Forgets a version's samples, once its rollout is decided.</summary>
    public void Clear(string deployment, int version) => _windows.TryRemove((deployment, version), out _);

    /// <summary>A version's results since a moment (over its last <see cref="Capacity"/> samples at most).</summary>
    public ShadowSummary Since(string deployment, int version, DateTimeOffset since) =>
        _windows.TryGetValue((deployment, version), out var window) ? Summarize(window.Since(since)) : ShadowSummary.Empty;

    private TimedWindow<ShadowSample?> Window(string deployment, int version) =>
        _windows.GetOrAdd((deployment, version), _ => new TimedWindow<ShadowSample?>(Capacity));

    private static ShadowSummary Summarize(List<ShadowSample?> samples)
    {
        long mirrored = 0, skipped = 0, stableFailures = 0, shadowFailures = 0, compared = 0, mismatched = 0;
        string? firstMismatch = null;
        var outputs = new List<OutputSummary>();
        var indexes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var sample in samples)
        {
            if (sample is null)
            {
                skipped++;
                continue;
            }

            mirrored++;
            stableFailures += sample.StableOk ? 0 : 1;
            shadowFailures += sample.ShadowOk ? 0 : 1;
            if (sample.Comparison is not { } comparison)
            {
                continue;
            }

            compared++;
            if (comparison.Mismatch is not null)
            {
                mismatched++;
                firstMismatch ??= comparison.Mismatch;
            }

            foreach (var d in comparison.Outputs)
            {
                if (indexes.TryGetValue(d.Output, out var index))
                {
                    var s = outputs[index];
                    outputs[index] = s with
                    {
                        MaxAbsolute = Math.Max(s.MaxAbsolute, d.MaxAbsolute),
                        MaxRelative = Math.Max(s.MaxRelative, d.MaxRelative),
                        WorstToleranceRatio = Math.Max(s.WorstToleranceRatio, d.WorstToleranceRatio),
                        ArgmaxRows = s.ArgmaxRows + d.ArgmaxRows,
                        ArgmaxAgreed = s.ArgmaxAgreed + d.ArgmaxAgreed,
                    };
                }
                else
                {
                    indexes[d.Output] = outputs.Count;
                    outputs.Add(new OutputSummary(d.Output, d.MaxAbsolute, d.MaxRelative, d.WorstToleranceRatio, d.ArgmaxRows, d.ArgmaxAgreed));
                }
            }
        }

        return new ShadowSummary(mirrored, skipped, stableFailures, shadowFailures, compared, mismatched, outputs) { FirstMismatch = firstMismatch };
    }
}
