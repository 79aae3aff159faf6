namespace Stratus.Core.Routing;

/// <summary>One ready replica a gateway may send a deployment's requests to.</summary>
public sealed record RouteEndpoint(string ReplicaId, string Cloud, Uri Address)
{
    /// <summary>The cloud's region, for region-aware balancing.</summary>
    public string Region { get; init; } = string.Empty;

    /// <summary>The model version this replica serves; 0 means the route's <see cref="Route.ModelVersion"/>.</summary>
    public int ModelVersion { get; init; }
}

/// <summary>A version's share of a deployment's traffic, in percent.</summary>
public sealed record VersionWeight(int Version, int Weight);

/// <summary>
/// A version that receives a copy of a share of live requests (a shadow): gateways send the copy after the caller's
/// answer is on its way, never return the shadow's answer, and compare it with the stable one within the tolerances.
/// </summary>
public sealed record ShadowRoute(int Version, int Percent, double AbsoluteTolerance, double RelativeTolerance);

/// <summary>Where a deployment's requests go: its model version and its ready replicas, and who may call it.</summary>
public sealed record Route(string Deployment, string Model, int ModelVersion, IReadOnlyList<RouteEndpoint> Endpoints)
{
    /// <summary>Anyone may call a public deployment; a private one needs one of its keys.</summary>
    public bool Public { get; init; }

    /// <summary>SHA-256 (lower-case hex) of each live inference key of the deployment (<see cref="InferenceKeys.Hash"/>).</summary>
    public IReadOnlyList<string> KeyHashes { get; init; } = [];

    /// <summary>How traffic splits between model versions (canary, A/B); empty when one version takes it all.</summary>
    public IReadOnlyList<VersionWeight> Weights { get; init; } = [];

    /// <summary>The deployment may scale to zero: with no ready replica, gateways hold requests while one starts.</summary>
    public bool ScalesFromZero { get; init; }

    /// <summary>The version mirrored requests go to during a shadow rollout; null when none.</summary>
    public ShadowRoute? Shadow { get; init; }

    /// <summary>How many live requests (answered 2xx) per version a gateway may record as the version's samples; 0 keeps none.</summary>
    public int RecordProbes { get; init; }
}

/// <summary>Where a gateway hands the live requests it records as samples (a deployment opted in with <see cref="Route.RecordProbes"/>).</summary>
public interface IRequestSampleSink
{
    /// <summary>A request body (v2 JSON) that the version answered 2xx; the sink checks it against the signature and keeps it or not.</summary>
    ValueTask RecordAsync(string deployment, int version, ReadOnlyMemory<byte> request, CancellationToken cancellationToken);
}

/// <summary>
/// Per-deployment inference keys: <c>sk_ID_SECRET</c> with 256 random bits. Stores and gateways keep only the
/// SHA-256, which is enough for random secrets, so a route table can carry them to gateways without the keys.
/// </summary>
public static class InferenceKeys
{
    public const string Prefix = "sk_";

    public static (string Id, string Key) New()
    {
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        var secret = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (id, $"{Prefix}{id}_{secret}");
    }

    public static string Hash(string key) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));
}

/// <summary>
/// What gateways follow. The version only grows; a gateway asks for anything newer than the version it holds.
/// </summary>
public sealed record RouteTable(long Version, IReadOnlyList<Route> Routes)
{
    public static RouteTable Empty { get; } = new(0, []);

    /// <summary>Same routes, ignoring the version and the order replicas were listed in.</summary>
    public bool SameRoutesAs(RouteTable other) =>
        Routes.Count == other.Routes.Count &&
        Routes.OrderBy(r => r.Deployment, StringComparer.Ordinal).Zip(other.Routes.OrderBy(r => r.Deployment, StringComparer.Ordinal)).All(pair =>
            pair.First.Deployment == pair.Second.Deployment &&
            pair.First.Model == pair.Second.Model &&
            pair.First.ModelVersion == pair.Second.ModelVersion &&
            pair.First.Public == pair.Second.Public &&
            pair.First.ScalesFromZero == pair.Second.ScalesFromZero &&
            pair.First.Shadow == pair.Second.Shadow &&
            pair.First.RecordProbes == pair.Second.RecordProbes &&
            pair.First.Weights.SequenceEqual(pair.Second.Weights) &&
            pair.First.KeyHashes.Order(StringComparer.Ordinal).SequenceEqual(pair.Second.KeyHashes.Order(StringComparer.Ordinal)) &&
            pair.First.Endpoints.OrderBy(e => e.ReplicaId, StringComparer.Ordinal).SequenceEqual(pair.Second.Endpoints.OrderBy(e => e.ReplicaId, StringComparer.Ordinal)));
}
