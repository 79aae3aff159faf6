namespace Stratus.Core.Scaling;

/// <summary>
/// The latency histogram every gateway and control plane share: fixed bucket bounds growing by 2^(1/4) (about 19%)
/// from 0.25 ms to 120 s, and one bucket beyond. Counts per bucket merge by addition, so a quantile of several
/// gateways' merged counts is the quantile of all their requests, to within one bucket. On the wire a histogram is its
/// counts in bucket order, trailing empty buckets left off.
/// </summary>
public static class LatencyBuckets
{
    private static readonly long[] UpperTicks = Bounds();

    /// <summary>Upper bounds (inclusive) of the buckets but the last, which holds everything beyond 120 s.</summary>
    public static IReadOnlyList<TimeSpan> UpperBounds { get; } = [.. UpperTicks.Select(TimeSpan.FromTicks)];

    /// <summary>How many buckets a histogram has at most.</summary>
    public static int Count => UpperTicks.Length + 1;

    public static int IndexOf(TimeSpan elapsed)
    {
        var index = Array.BinarySearch(UpperTicks, Math.Max(0, elapsed.Ticks));
        return index >= 0 ? index : ~index;
    }

    /// <summary>Adds one latency to a histogram of <see cref="Count"/> buckets.</summary>
    public static void Add(long[] counts, TimeSpan elapsed) => counts[IndexOf(elapsed)]++;

    /// <summary>The bucket-wise sum of two histograms.</summary>
    public static IReadOnlyList<long> Merge(IReadOnlyList<long> a, IReadOnlyList<long> b)
    {
        var merged = new long[Math.Max(a.Count, b.Count)];
        for (var i = 0; i < merged.Length; i++)
        {
            merged[i] = (i < a.Count ? a[i] : 0) + (i < b.Count ? b[i] : 0);
        }

        return merged;
    }

    /// <summary>The counts without their trailing empty buckets, as they travel.</summary>
    public static IReadOnlyList<long> Trimmed(long[] counts)
    {
        var length = counts.Length;
        while (length > 0 && counts[length - 1] == 0)
        {
            length--;
        }

        return counts[..length];
    }

    /// <summary>
    /// The upper bound of the bucket that holds the request of rank ⌈q·n⌉ (the rank a sorted list's quantile takes), so
    /// at least the true quantile and less than one bucket above it; 120 s for the bucket beyond; zero with no requests.
    /// </summary>
    public static TimeSpan Quantile(IReadOnlyList<long> counts, double q)
    {
        var total = counts.Sum();
        if (total == 0)
        {
            return TimeSpan.Zero;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(total * q));
        long seen = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return UpperBounds[Math.Min(i, UpperBounds.Count - 1)];
            }
        }

        return UpperBounds[^1];
    }

    private static long[] Bounds()
    {
        var smallest = TimeSpan.FromMilliseconds(0.25).Ticks;
        var largest = TimeSpan.FromSeconds(120).Ticks;
        var bounds = new List<long>();
        for (var i = 0; ; i++)
        {
            var bound = (long)Math.Round(smallest * Math.Pow(2, i / 4.0));
            if (bound >= largest)
            {
                break;
            }

            bounds.Add(bound);
        }

        bounds.Add(largest);
        return [.. bounds];
    }
}
