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
    TimeSpan EmulatedLatency)
{
    /// <summary>What each shape is made of, where <c>clouds.yaml</c> says; <see cref="ResourcesOf"/> fills in the rest.</summary>
    public IReadOnlyDictionary<string, ShapeResources> Shapes { get; init; } = new Dictionary<string, ShapeResources>();

    /// <summary>The provider's own settings (a Docker endpoint, a Kubernetes context); null for local clouds.</summary>
    public CloudProviderSettings? Settings { get; init; }

    /// <summary>The CPU, memory and accelerators one replica of the shape gets: as declared, else the catalogue's.</summary>
    public ShapeResources ResourcesOf(string shape) => Shapes.TryGetValue(shape, out var declared) ? declared : ShapeResources.Catalogue(shape);
}

/// <summary>
/// One replica's share of a machine: CPU cores (fractions allowed), memory, and accelerators (none for CPU shapes).
/// Container providers turn it into limits; local clouds ignore it.
/// </summary>
public sealed record ShapeResources(double Cpu, int MemoryMiB, int Gpu = 0)
{
    /// <summary>
    /// The built-in shapes: cpu-small (1 core, 1 GiB), cpu-medium (2, 4 GiB), cpu-large (4, 8 GiB), and gpu-* (4
    /// cores, 16 GiB, one GPU). Any other name gets cpu-small's resources.
    /// </summary>
    public static ShapeResources Catalogue(string shape) => shape switch
    {
        "cpu-medium" => new(2, 4096),
        "cpu-large" => new(4, 8192),
        _ when shape.StartsWith("gpu", StringComparison.Ordinal) => new(4, 16384, 1),
        _ => new(1, 1024),
    };
}

/// <summary>A provider's own part of a cloud's entry in <c>clouds.yaml</c>; each provider defines its own.</summary>
public abstract record CloudProviderSettings;

/// <summary>Round-trip latency estimates from distance, for user-location budgets.</summary>
public static class LatencyEstimate
{
    /// <summary>Fixed cost of a request round trip (handshakes, queues), in milliseconds.</summary>
    public const double BaseMs = 5;

    /// <summary>Light in fibre covers about 200 km per millisecond; a round trip covers the distance twice.</summary>
    public const double KmPerMs = 100;

    public static double RoundTripMs(GeoLocation a, GeoLocation b) => BaseMs + (a.DistanceKm(b) / KmPerMs);
}
