using Stratus.Core.Deployments;
using Stratus.Core.Placement;

namespace Stratus.Core.Api;

/// <summary>
/// A deployment spec, as <c>PUT /api/v1/deployments/{name}</c> takes it and as <c>stratus apply -f</c> reads it from
/// YAML or JSON. <c>version</c> defaults to the model's latest, <c>shape</c> to <c>cpu-small</c>; <c>name</c>, when
/// given, must match the URL. Unknown fields are refused, so a misspelt one is an error rather than ignored.
/// </summary>
public sealed record DeploymentSpec(string? Name, string? Model, int? Version, int? Replicas, string? Shape)
{
    /// <summary>Where the replicas may and should go: residency, spread, latency, strategy, spot.</summary>
    public PlacementConstraints? Placement { get; init; }

    /// <summary>Anyone may call it through the gateway; false (the default) requires one of its keys.</summary>
    public bool? Public { get; init; }

    /// <summary>Split traffic between model versions (weights in percent, summing to 100), each with its own replicas.</summary>
    public IReadOnlyList<TrafficSplit>? Traffic { get; init; }

    /// <summary>Let the autoscaler size the deployment within these bounds ('replicas' is then the starting size).</summary>
    public Stratus.Core.Scaling.AutoscalingSpec? Autoscaling { get; init; }

    /// <summary>
    /// How a change of 'version' on a running deployment reaches traffic: rolling, canary or blue-green (a rollout,
    /// as <c>POST .../rollout</c> starts it). Without it the version changes at once.
    /// </summary>
    public string? Strategy { get; init; }

    /// <summary>The probe set of the consistency check: real requests for the model version, and live-traffic recording.</summary>
    public ProbeSpec? Probes { get; init; }
}

/// <summary>
/// A spec's <c>probes</c>: <c>samples</c> are real v2 requests stored with the spec's model version (checked against
/// its signature; the same ones applied again change nothing); <c>record</c> lets gateways keep up to that many real
/// requests per version, answered 2xx, as further samples (0, the default, keeps no payload).
/// </summary>
public sealed record ProbeSpec(IReadOnlyList<System.Text.Json.JsonElement>? Samples, int? Record);

/// <summary>The body of <c>POST /api/v1/deployments/{name}/keys</c>.</summary>
public sealed record KeyRequest(string? Description);

/// <summary>An inference key as listed: never the key.</summary>
public sealed record KeyView(string Id, string Deployment, string Description, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>An inference key just created: the only time <see cref="Key"/> is shown.</summary>
public sealed record NewKey(string Id, string Deployment, string Description, string Key);

/// <summary>The body of <c>POST /api/v1/clouds/{name}/refuse</c>: refuse launches of one shape (or all) at a scope.</summary>
public sealed record RefuseRequest(string? Shape, string? Scope);

/// <summary>The body of <c>POST /api/v1/clouds/{name}/faults</c>: one deployment's version fails a share of requests in that cloud.</summary>
public sealed record FaultRequest(string? Deployment, int? Version, double? ErrorRate);

/// <summary>The body of <c>POST /api/v1/deployments/{name}/scale</c>.</summary>
public sealed record ScaleRequest(int? Replicas);

/// <summary>The body of <c>POST /api/v1/tokens</c>.</summary>
public sealed record TokenRequest(string? Role, string? Description);

/// <summary>A token as listed (never its secret).</summary>
public sealed record TokenView(string Id, string Role, string Description, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A token just created: the only time its secret is shown.</summary>
public sealed record NewToken(string Id, string Role, string Description, string Token);

/// <summary>A deployment with its replicas, how many are ready, and its placement: the last plan, blocked locations, and why it is short.</summary>
public sealed record DeploymentStatus(Deployment Deployment, int ReadyReplicas, IReadOnlyList<ReplicaRecord> Replicas)
{
    public PlacementStatus? Placement { get; init; }

    /// <summary>The autoscaler's last reason, for autoscaled deployments.</summary>
    public string? Autoscaler { get; init; }

    /// <summary>What the consistency check found per model version: checked on how many probes, or why not.</summary>
    public IReadOnlyList<ConsistencyNote> Consistency { get; init; } = [];
}

/// <summary>The body of <c>POST /api/v1/deployments/{name}/rollout</c>: move to a model version by a strategy.</summary>
public sealed record RolloutRequest(int? Version, string? Strategy)
{
    /// <summary>Replicas of the new version while it runs beside the old (canary, blue-green); default: the deployment's.</summary>
    public int? Replicas { get; init; }

    /// <summary>Canary weights in percent, ending at 100 (default 10, 25, 50, 100).</summary>
    public IReadOnlyList<int>? Steps { get; init; }

    public int? StepSeconds { get; init; }

    public long? MinRequests { get; init; }

    /// <summary>Canary: its p99 may be this many times the stable version's (default 2) ...</summary>
    public double? MaxP99Ratio { get; init; }

    /// <summary>... plus this many milliseconds (default 25).</summary>
    public int? P99SlackMs { get; init; }

    /// <summary>The new version may fail this much more often than the stable one, overall and in any cloud (default 0.01).</summary>
    public double? MaxErrorRateIncrease { get; init; }

    /// <summary>Shadow: the share of live requests mirrored to the new version, in percent (default 100).</summary>
    public int? MirrorPercent { get; init; }

    /// <summary>Shadow: an answer matches when every value is within absoluteTolerance + relativeTolerance x |stable| (defaults 1e-4 and 1e-4).</summary>
    public double? AbsoluteTolerance { get; init; }

    public double? RelativeTolerance { get; init; }

    /// <summary>Shadow: least share of classifier rows whose arg-max agrees with the stable answer (default 0.99).</summary>
    public double? MinArgmaxAgreement { get; init; }
}

/// <summary>A stored sample request of a model version, its body as JSON.</summary>
public sealed record SampleView(int Seq, string Sha256, string Source, DateTimeOffset CreatedAt, System.Text.Json.JsonElement Request);

/// <summary>Which control-plane server leads, as the server asked sees it (<c>GET /api/v1/leader</c>).</summary>
public sealed record LeaderStatus(string Server, bool Leading, string? Leader, long Epoch, DateTimeOffset? ExpiresAt);

/// <summary>The last lines a replica wrote (stdout and stderr), as its cloud keeps them, oldest first.</summary>
public sealed record ReplicaLogs(string Replica, string Cloud, IReadOnlyList<string> Lines);

/// <summary>The headers of <c>GET /api/v1/models/{name}/versions/{version}/artifact</c>.</summary>
public static class ArtifactHeaders
{
    /// <summary>The SHA-256 of the bytes the answer carries, lower-case hex, as the registry recorded it.</summary>
    public const string Sha256 = "X-Stratus-Sha256";
}
