namespace Stratus.Core.Clouds;

/// <summary>A point on Earth, for latency estimates between users and regions.</summary>
public sealed record GeoLocation(double Latitude, double Longitude)
{
    private const double EarthRadiusKm = 6371.0;

    /// <summary>Great-circle distance (haversine).</summary>
    public double DistanceKm(GeoLocation other)
    {
        static double Radians(double degrees) => degrees * Math.PI / 180.0;
        var dLat = Radians(other.Latitude - Latitude);
        var dLon = Radians(other.Longitude - Longitude);
        var a = (Math.Sin(dLat / 2) * Math.Sin(dLat / 2)) +
                (Math.Cos(Radians(Latitude)) * Math.Cos(Radians(other.Latitude)) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2));
        return 2 * EarthRadiusKm * Math.Asin(Math.Min(1, Math.Sqrt(a)));
    }
}

/// <summary>Hourly prices of one replica shape in one cloud.</summary>
public sealed record ShapePrice(decimal OnDemandPerHour, decimal SpotPerHour);

/// <summary>
/// One cloud as <c>clouds.yaml</c> declares it: where it is, whose law applies there, how many replicas of each
/// shape it can hold, and what they cost.
/// </summary>
public sealed record CloudSpec(
    string Name,
    string Provider,
    string Region,
    string Jurisdiction,
    GeoLocation Location,
    IReadOnlyDictionary<string, int> Capacity,
    IReadOnlyDictionary<string, ShapePrice> Prices,
    TimeSpan EmulatedLatency);

/// <summary>Round-trip latency estimates from distance, for user-location budgets.</summary>
public static class LatencyEstimate
{
    /// <summary>Fixed cost of a request round trip (handshakes, queues), in milliseconds.</summary>
    public const double BaseMs = 5;

    /// <summary>Light in fibre covers about 200 km per millisecond; a round trip covers the distance twice.</summary>
    public const double KmPerMs = 100;

    public static double RoundTripMs(GeoLocation a, GeoLocation b) => BaseMs + (a.DistanceKm(b) / KmPerMs);
}
