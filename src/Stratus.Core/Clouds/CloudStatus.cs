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
}
