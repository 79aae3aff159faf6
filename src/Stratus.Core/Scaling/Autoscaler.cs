namespace Stratus.Core.Scaling;

/// <summary>What the autoscaler sizes replicas by: requests in flight, or requests per second.</summary>
public enum ScalingMetric
{
    Concurrency,
    Qps,
}

/// <summary>A deployment's autoscaling bounds and target.</summary>
public sealed record AutoscalingSpec
{
    public int MinReplicas { get; init; } = 1;

    public int MaxReplicas { get; init; } = 10;

    public ScalingMetric Metric { get; init; } = ScalingMetric.Concurrency;

    /// <summary>The load one replica should carry: in-flight requests, or requests per second.</summary>
    public double TargetPerReplica { get; init; } = 4;

    /// <summary>A larger size must have been wanted this long before it is applied (panic mode skips this).</summary>
    public TimeSpan ScaleUpDelay { get; init; } = TimeSpan.Zero;

    /// <summary>The size only shrinks to the largest size wanted over this long (Knative's scale-down delay).</summary>
    public TimeSpan ScaleDownDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>With <see cref="MinReplicas"/> 0: no traffic for this long scales to zero; null never does.</summary>
    public TimeSpan? ScaleToZeroAfter { get; init; }

    /// <summary>The averaging window for normal decisions.</summary>
    public TimeSpan StableWindow { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The short window that detects bursts.</summary>
    public TimeSpan PanicWindow { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary>Panic when the panic window wants this many times the ready replicas.</summary>
    public double PanicThreshold { get; init; } = 2.0;

    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (MinReplicas < 0 || MaxReplicas < 1 || MinReplicas > MaxReplicas)
        {
            problems.Add("autoscaling needs 0 <= minReplicas <= maxReplicas and maxReplicas >= 1");
        }

        if (TargetPerReplica <= 0)
        {
            problems.Add("autoscaling 'targetPerReplica' must be positive");
        }

        if (PanicWindow <= TimeSpan.Zero || StableWindow < PanicWindow || ScaleUpDelay < TimeSpan.Zero || ScaleDownDelay < TimeSpan.Zero || PanicThreshold <= 1)
        {
            problems.Add("autoscaling windows must be positive (stable >= panic), delays not negative, panicThreshold above 1");
        }

        return problems;
    }
}

/// <summary>One observation of a deployment's load: requests in flight and requests completed per second.</summary>
public sealed record LoadSample(DateTimeOffset At, double Concurrency, double Qps);

/// <summary>What the autoscaler remembers between decisions: its recommendations and when panic mode ends.</summary>
public sealed record AutoscalerState(IReadOnlyList<(DateTimeOffset At, int Replicas)> Recommendations, DateTimeOffset? PanicUntil)
{
    public static AutoscalerState Initial { get; } = new([], null);
}

/// <summary>A decision: the replica count to run, why, and the state to pass to the next decision.</summary>
public sealed record AutoscaleDecision(int Replicas, string Reason, bool Panicking, AutoscalerState State);

/// <summary>
/// Knative's KPA, as pure code. The load averaged over a stable window (60 s) and over a short panic window (6 s)
/// each give a wanted size, load divided by the per-replica target and rounded up. When the panic window wants at
/// least <see cref="AutoscalingSpec.PanicThreshold"/> times the ready replicas, the autoscaler panics. It then
/// scales up at once to the panic size and never scales down, until a stable window passes without that condition.
/// Otherwise the stable size applies, scaling up once it has been wanted for the scale-up delay, and scaling down
/// only to the largest size wanted over the scale-down delay. With a minimum of 0, no traffic for the scale-to-zero
/// period scales to zero, and any traffic scales from zero to at least one at once. The result never leaves
/// [min, max] or exceeds the capacity the clouds have for the deployment.
/// </summary>
public static class Autoscaler
{
    public static AutoscaleDecision Decide(AutoscalingSpec spec, IReadOnlyList<LoadSample> samples, int current, int ready, int capacity, AutoscalerState state, DateTimeOffset now)
    {
        var upper = Math.Max(Math.Min(spec.MaxReplicas, capacity), Math.Min(spec.MinReplicas, capacity));
        double Load(LoadSample s) => spec.Metric == ScalingMetric.Concurrency ? s.Concurrency : s.Qps;
        double Average(TimeSpan window)
        {
            var inWindow = samples.Where(s => s.At > now - window && s.At <= now).ToList();
            return inWindow.Count == 0 ? 0 : inWindow.Average(Load);
        }

        int Wanted(double load) => (int)Math.Ceiling(Math.Round(load / spec.TargetPerReplica, 6));

        var stable = Wanted(Average(spec.StableWindow));
        var panic = Wanted(Average(spec.PanicWindow));
        var panicking = state.PanicUntil is { } until && until > now;
        if (panic >= spec.PanicThreshold * Math.Max(1, ready) && panic > Math.Max(1, ready))
        {
            panicking = true;
            state = state with { PanicUntil = now + spec.StableWindow };
        }

        var recommendations = state.Recommendations.Where(r => r.At > now - Max(spec.ScaleDownDelay, spec.ScaleUpDelay) - spec.StableWindow).ToList();
        recommendations.Add((now, stable));
        state = state with { Recommendations = recommendations };

        int target;
        string reason;
        if (panicking)
        {
            target = Math.Max(current, Math.Max(panic, stable));
            reason = $"panic: {Average(spec.PanicWindow):0.##} {Unit(spec)} over {spec.PanicWindow.TotalSeconds:0} s wants {panic}";
        }
        else if (stable > current)
        {
            // Up once the larger size has been wanted throughout the scale-up delay.
            var held = recommendations.Where(r => r.At >= now - spec.ScaleUpDelay).Min(r => r.Replicas);
            target = Math.Max(current, held);
            reason = held > current
                ? $"{Average(spec.StableWindow):0.##} {Unit(spec)} over {spec.StableWindow.TotalSeconds:0} s wants {stable}"
                : $"wants {stable}, waiting out the scale-up delay of {spec.ScaleUpDelay.TotalSeconds:0} s";
        }
        else
        {
            // Down only to the largest size wanted over the scale-down delay.
            target = Math.Min(current, recommendations.Where(r => r.At >= now - spec.ScaleDownDelay).Max(r => r.Replicas));
            reason = target < current
                ? $"the most wanted over the last {spec.ScaleDownDelay.TotalSeconds:0} s is {target}"
                : $"{Average(spec.StableWindow):0.##} {Unit(spec)} over {spec.StableWindow.TotalSeconds:0} s wants {stable}";
        }

        var lastTraffic = samples.Where(s => Load(s) > 0).Select(s => s.At).DefaultIfEmpty(DateTimeOffset.MinValue).Max();
        var hasTraffic = samples.Any(s => s.At > now - spec.PanicWindow && Load(s) > 0);
        var observedSince = samples.Count == 0 ? now : samples.Min(s => s.At);
        if (spec.MinReplicas == 0 && spec.ScaleToZeroAfter is { } idle && !hasTraffic && lastTraffic < now - idle && observedSince <= now - idle && !panicking)
        {
            return new AutoscaleDecision(0, $"no traffic for {idle.TotalSeconds:0} s: scaled to zero", false, state);
        }

        if (hasTraffic && target == 0)
        {
            target = 1;
            reason = "traffic arrived: scaling from zero";
        }

        var floor = spec.MinReplicas == 0 && spec.ScaleToZeroAfter is null ? Math.Max(1, target) : target;
        var bounded = Math.Clamp(floor, Math.Min(spec.MinReplicas, upper), upper);
        if (bounded != floor)
        {
            reason += bounded == upper && floor > upper
                ? $"; held at {bounded} ({(capacity < spec.MaxReplicas ? $"the clouds have room for {capacity}" : $"maxReplicas {spec.MaxReplicas}")})"
                : $"; held at minReplicas {spec.MinReplicas}";
        }

        return new AutoscaleDecision(bounded, reason, panicking, state);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static string Unit(AutoscalingSpec spec) => spec.Metric == ScalingMetric.Concurrency ? "in flight" : "requests/s";
}
