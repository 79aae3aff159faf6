using Stratus.Core.Scaling;

namespace Stratus.Core.Tests.Scaling;

public sealed class LatencyBucketsTests
{
    [Fact]
    public void UpperBounds_GrowBy19PercentFromAQuarterMillisecondTo120Seconds()
    {
        var bounds = LatencyBuckets.UpperBounds;

        Assert.Equal(TimeSpan.FromMilliseconds(0.25), bounds[0]);
        Assert.Equal(TimeSpan.FromSeconds(120), bounds[^1]);
        Assert.All(bounds.Zip(bounds.Skip(1)).SkipLast(1), pair => Assert.InRange((double)pair.Second.Ticks / pair.First.Ticks, 1.18, 1.20));
        Assert.Equal(bounds.Count + 1, LatencyBuckets.Count);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0.25, 0)]
    [InlineData(0.2501, 1)]
    [InlineData(1, 8)]
    [InlineData(200_000, 77)]
    public void IndexOf_PutsALatencyInTheFirstBucketThatHoldsIt(double milliseconds, int expected)
    {
        var index = LatencyBuckets.IndexOf(TimeSpan.FromMilliseconds(milliseconds));

        Assert.Equal(expected, index);
        Assert.Equal(LatencyBuckets.Count - 1, LatencyBuckets.IndexOf(TimeSpan.FromMinutes(10)));
    }

    [Fact]
    public void Quantile_OfMergedHistograms_IsWithinOneBucketAboveTheTrueP99()
    {
        var random = new Random(7);
        var latencies = Enumerable.Range(0, 5000).Select(_ => TimeSpan.FromMilliseconds(Math.Exp(random.NextDouble() * 8))).ToList();
        var (a, b) = (new long[LatencyBuckets.Count], new long[LatencyBuckets.Count]);
        for (var i = 0; i < latencies.Count; i++)
        {
            LatencyBuckets.Add(i % 3 == 0 ? a : b, latencies[i]);
        }

        var merged = LatencyBuckets.Merge(LatencyBuckets.Trimmed(a), LatencyBuckets.Trimmed(b));
        var p99 = LatencyBuckets.Quantile(merged, 0.99);

        var sorted = latencies.Order().ToList();
        var truth = sorted[(int)Math.Ceiling(sorted.Count * 0.99) - 1];
        Assert.Equal(LatencyBuckets.UpperBounds[LatencyBuckets.IndexOf(truth)], p99);
        Assert.InRange(p99.Ticks, truth.Ticks, truth.Ticks * 1.19);
        Assert.Equal(latencies.Count, merged.Sum());
    }

    [Fact]
    public void Quantile_Empty_IsZero_AndBeyondTheLastBound_Is120Seconds()
    {
        var beyond = new long[LatencyBuckets.Count];
        LatencyBuckets.Add(beyond, TimeSpan.FromMinutes(5));

        Assert.Equal(TimeSpan.Zero, LatencyBuckets.Quantile([], 0.99));
        Assert.Equal(TimeSpan.FromSeconds(120), LatencyBuckets.Quantile(beyond, 0.99));
    }

    [Fact]
    public void Trimmed_LeavesOffTrailingEmptyBuckets()
    {
        var counts = new long[LatencyBuckets.Count];
        counts[3] = 2;

        Assert.Equal([0L, 0, 0, 2], LatencyBuckets.Trimmed(counts));
    }
}
