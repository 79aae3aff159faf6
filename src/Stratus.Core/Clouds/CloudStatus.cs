namespace Stratus.Core.Clouds;

/// <summary>One cloud as <c>stratus cloud list</c> shows it: where, whose law, capacity, prices, and what runs there.</summary>
public sealed record CloudStatus(
    string Name,
    string Provider,
    string Region,
    string Jurisdiction,
    GeoLocation Location,
    int LatencyMs,
    IReadOnlyDictionary<string, int> Capacity,
    IReadOnlyDictionary<string, ShapePrice> Prices,
    string State,
    int Replicas,
    int ReadyReplicas)
{
    /// <summary>Launches an emulated fault refuses now ("shape cpu-small (shape)"); null when none.</summary>
    public string? Refusing { get; init; }

    /// <summary>
    /// The cloud's own blocks in force ("cloud local-us blocked until 12:00:05: ..."), which hold back every
    /// deployment; a deployment's blocks for its own faults are shown on that deployment, not here.
    /// </summary>
    public IReadOnlyList<string> Blocked { get; init; } = [];

    /// <summary>Emulated faults its replicas apply now ("risk version 2 fails 100% of requests").</summary>
    public IReadOnlyList<string> Faults { get; init; } = [];
}
