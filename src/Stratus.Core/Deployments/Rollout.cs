namespace Stratus.Core.Deployments;

/// <summary>How a new model version replaces the running one.</summary>
public enum RolloutStrategy
{
    /// <summary>Replace the replicas, new ones ready before old ones drain.</summary>
    Rolling,

    /// <summary>Step the new version's traffic weight up while canary analysis compares it with the stable one.</summary>
    Canary,

    /// <summary>Start the new version beside the old, switch all traffic once it is fully ready.</summary>
    BlueGreen,

    /// <summary>
    /// Start the new version beside the old and mirror live requests to it: its answers are compared with the stable
    /// ones and never reach a caller; promote when they match, roll back when they diverge or fail.
    /// </summary>
    Shadow,
}

public enum RolloutState
{
    Progressing,
    Paused,
    Promoted,
    RolledBack,
}

/// <summary>A deployment's move from one model version to another, with where it stands and why.</summary>
public sealed record Rollout(string Deployment, RolloutStrategy Strategy, int FromVersion, int ToVersion, int Replicas, int Step, DateTimeOffset StepStartedAt, RolloutState State, string Reason)
{
    /// <summary>Canary weights (percent) in order; the last is full promotion.</summary>
    public IReadOnlyList<int> Steps { get; init; } = [10, 25, 50, 100];

    public TimeSpan StepDuration { get; init; } = TimeSpan.FromSeconds(60);

    public long MinRequests { get; init; } = 50;

    /// <summary>How the new version's answers to the probe set differ from the old one's, once both have answered.</summary>
    public string? Divergence { get; init; }

    /// <summary>The canary's p99 may be this many times the stable one's, plus <see cref="LatencySlack"/>.</summary>
    public double MaxLatencyRatio { get; init; } = 2.0;

    public TimeSpan LatencySlack { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>The new version may fail this much more often than the stable one (0.01: one percentage point), overall and in any cloud.</summary>
    public double MaxErrorRateIncrease { get; init; } = 0.01;

    /// <summary>Shadow rollouts: the share of requests mirrored and how closely the answers must match.</summary>
    public MirrorSpec Mirror { get; init; } = new();

    /// <summary>Shadow rollouts: least share of rows whose arg-max agrees, for classifier outputs.</summary>
    public double MinArgmaxAgreement { get; init; } = 0.99;

    /// <summary>The last figures of the analysis (a shadow's comparison with the stable version), for status and audit.</summary>
    public string? Report { get; init; }
}
